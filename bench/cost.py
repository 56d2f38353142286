"""Cost model: what 1 million checked (repository, digest) pairs cost at list prices, from the measured run.

Prices are AWS list prices for us-east-1 (on-demand, no free tier), as published on the service pricing pages;
they change, so the report prints them next to the result. ECR charges for storage and data transfer only: its API
calls, BatchCheckLayerAvailability included, are not billed (they count against the rate quota, not the bill).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAIRS = 1_000_000

# https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-seconds a month)
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
# https://aws.amazon.com/api-gateway/pricing/ (REST APIs, first 333 million requests a month)
API_GATEWAY_REST_PER_MILLION = 3.50
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand write request units; 1 unit per item up to 1 KB)
DYNAMODB_PER_MILLION_WRITE_UNITS = 0.625
# https://aws.amazon.com/cloudwatch/pricing/ (log ingestion; the EMF metrics and logs each request writes)
CLOUDWATCH_LOGS_PER_GB = 0.50
ECR_PER_API_CALL = 0.0


@dataclass(frozen=True)
class Scenario:
    """One way of sending the pairs: how many per API request, and how long such a request runs."""

    name: str
    pairs_per_request: int
    seconds_per_request: float
    ecr_calls_per_pair: float
    memory_mb: int = 1024
    write_units_per_pair: int = 1
    log_bytes_per_request: int = 4096


@dataclass(frozen=True)
class Cost:
    scenario: Scenario
    requests: int
    lambda_gb_seconds: float
    lambda_usd: float
    api_gateway_usd: float
    ecr_calls: int
    ecr_usd: float
    dynamodb_write_units: int
    dynamodb_usd: float
    logs_usd: float

    @property
    def total_usd(self) -> float:
        return self.lambda_usd + self.api_gateway_usd + self.ecr_usd + self.dynamodb_usd + self.logs_usd


def per_million_pairs(scenario: Scenario) -> Cost:
    requests = math.ceil(PAIRS / scenario.pairs_per_request)
    gb_seconds = requests * scenario.seconds_per_request * scenario.memory_mb / 1024
    ecr_calls = math.ceil(PAIRS * scenario.ecr_calls_per_pair)
    write_units = PAIRS * scenario.write_units_per_pair
    return Cost(
        scenario=scenario,
        requests=requests,
        lambda_gb_seconds=gb_seconds,
        lambda_usd=gb_seconds * LAMBDA_ARM_PER_GB_SECOND + requests * LAMBDA_PER_MILLION_REQUESTS / 1e6,
        api_gateway_usd=requests * API_GATEWAY_REST_PER_MILLION / 1e6,
        ecr_calls=ecr_calls,
        ecr_usd=ecr_calls * ECR_PER_API_CALL,
        dynamodb_write_units=write_units,
        dynamodb_usd=write_units * DYNAMODB_PER_MILLION_WRITE_UNITS / 1e6,
        logs_usd=requests * scenario.log_bytes_per_request / 1e9 * CLOUDWATCH_LOGS_PER_GB,
    )
