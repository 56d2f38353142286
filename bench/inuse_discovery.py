"""Discovering the images in use: time and AWS calls per operation for ~1,000 in-use images, with moto in-process.

Scenarios (every image a distinct tag; tags are resolved later, in the repositories' work items, not here):
- ``ecs``: C clusters × S services × K containers, one distinct image per container (10 × 10 × 10 = 1,000), and T
  running tasks per service (started by the service's deployment, as ECS starts them).
- ``mix``: the same ECS layout with one service fewer per cluster, plus enough Lambda image functions (by tag) to make
  1,000 images.
Only ``discover_in_use`` is timed (moto answering in the same process, so the figures are our code's and botocore's
cost per call plus moto's, not the network's). Run: ``.venv/bin/python -m bench.inuse_discovery [ecs|mix]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from typing import Any

import boto3
from moto import mock_aws

from layercheck.integrations.ecs import EcsInUse, EcsInventory
from layercheck.integrations.lambda_functions import LambdaFunctions, LambdaInUse
from layercheck.logic.in_use import InUseReferences, InUseSource, RegistryRef, discover_in_use
from local.seed import create_repository, put_manifest

REGION = "us-east-1"
ACCOUNT = "123456789012"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def _manifest(label: str) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [],
        "annotations": {"label": label},
    }


def _count_calls(client: Any, counts: Counter[str]) -> None:
    service = client.meta.service_model.service_name

    def count(model: Any, **_: Any) -> None:
        counts[f"{service}:{model.name}"] += 1

    client.meta.events.register("before-call", count)


def seed(scenario: str, clusters: int, services: int, containers: int, tasks: int) -> None:
    ecr, ecs = boto3.client("ecr", region_name=REGION), boto3.client("ecs", region_name=REGION)
    services_per_cluster = services - 1 if scenario == "mix" else services
    for cluster in range(clusters):
        ecs.create_cluster(clusterName=f"cluster-{cluster}")
        for service in range(services_per_cluster):
            repository = f"app-{cluster}-{service}"
            create_repository(ecr, repository)
            for container in range(containers):
                put_manifest(ecr, repository, _manifest(f"{repository}:{container}"), f"v{container}")
            definition = ecs.register_task_definition(
                family=repository,
                containerDefinitions=[
                    {"name": f"c{n}", "image": f"{HOST}/{repository}:v{n}", "memory": 64} for n in range(containers)
                ],
            )["taskDefinition"]["taskDefinitionArn"]
            created = ecs.create_service(
                cluster=f"cluster-{cluster}", serviceName=repository, taskDefinition=definition, desiredCount=tasks
            )["service"]
            for _ in range(tasks):
                ecs.run_task(
                    cluster=f"cluster-{cluster}",
                    taskDefinition=definition,
                    launchType="FARGATE",
                    startedBy=created["deployments"][0]["id"],
                )
    if scenario == "mix":
        functions = clusters * containers  # the images one service per cluster would have had
        boto3.client("iam", region_name=REGION).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        lambda_client = boto3.client("lambda", region_name=REGION)
        create_repository(ecr, "functions")
        for n in range(functions):
            put_manifest(ecr, "functions", _manifest(f"fn-{n}"), f"fn-{n}")
            lambda_client.create_function(
                FunctionName=f"fn-{n}",
                Role=f"arn:aws:iam::{ACCOUNT}:role/fn",
                PackageType="Image",
                Code={"ImageUri": f"{HOST}/functions:fn-{n}"},
            )


def discover(scenario: str) -> tuple[InUseReferences, float, Counter[str]]:
    counts: Counter[str] = Counter()
    ecr, ecs = boto3.client("ecr", region_name=REGION), boto3.client("ecs", region_name=REGION)
    lambda_client = boto3.client("lambda", region_name=REGION)
    for client in (ecr, ecs, lambda_client):
        _count_calls(client, counts)
    sources: list[InUseSource] = [EcsInUse(EcsInventory(ecs))]
    if scenario == "mix":
        sources.append(LambdaInUse(LambdaFunctions(lambda_client)))
    started = time.perf_counter()
    found = discover_in_use(RegistryRef(ACCOUNT, REGION), sources)
    return found, time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("scenario", nargs="?", choices=("ecs", "mix"), default="ecs")
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--containers", type=int, default=10)
    parser.add_argument("--tasks-per-service", type=int, default=1)
    arguments = parser.parse_args()
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "MOTO_LAMBDA_STUB_ECR": "false",  # moto resolves image functions' tags through its ECR
        }
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    with mock_aws():
        seed(
            arguments.scenario,
            arguments.clusters,
            arguments.services,
            arguments.containers,
            arguments.tasks_per_service,
        )
        found, seconds, counts = discover(arguments.scenario)
    print(
        json.dumps(
            {
                "scenario": arguments.scenario,
                "repositories": len(found.by_repository),
                "inUseReferences": found.count,
                "ignored": found.ignored,
                "failures": len(found.failures),
                "seconds": round(seconds, 2),
                "calls": dict(sorted(counts.items())),
                "totalCalls": counts.total(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
