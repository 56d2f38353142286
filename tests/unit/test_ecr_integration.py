"""The ECR integration sends exactly ECR's request and turns every error into a RepositoryCheckError."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from layercheck.errors import RepositoryCheckError
from layercheck.integrations.aws import client_config
from layercheck.integrations.ecr import EcrRegistry

DIGEST = "sha256:" + "b" * 64


@pytest.fixture
def ecr() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x", config=client_config(32)
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_registry_sends_ecrs_request_and_keeps_its_answer(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stubber.add_response(
        "batch_check_layer_availability",
        {
            "layers": [{"layerDigest": DIGEST, "layerAvailability": "ARCHIVED", "layerSize": 42, "mediaType": "m"}],
            "failures": [{"layerDigest": "sha256:x", "failureCode": "InvalidLayerDigest", "failureReason": "bad"}],
        },
        expected_params={"registryId": "123456789012", "repositoryName": "app", "layerDigests": [DIGEST, "sha256:x"]},
    )

    answer = EcrRegistry(client).batch_check_layer_availability("123456789012", "app", [DIGEST, "sha256:x"])

    assert answer.layers[0].model_dump() == {
        "layerDigest": DIGEST,
        "layerAvailability": "ARCHIVED",
        "layerSize": 42,
        "mediaType": "m",
    }
    assert answer.failures[0].failureCode == "InvalidLayerDigest"


def test_registry_leaves_an_empty_registry_id_out_so_ecr_uses_the_callers_registry(ecr: tuple[Any, Stubber]) -> None:
    client, stubber = ecr
    stubber.add_response(
        "batch_check_layer_availability",
        {"layers": [], "failures": []},
        expected_params={"repositoryName": "app", "layerDigests": [DIGEST]},
    )

    answer = EcrRegistry(client).batch_check_layer_availability("", "app", [DIGEST])

    assert answer.layers == [] and answer.failures == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("RepositoryNotFoundException", 400),
        ("AccessDeniedException", 400),
        ("InvalidParameterException", 400),
        ("ServerException", 500),
        ("ThrottlingException", 400),
    ],
)
def test_registry_translates_ecr_errors_keeping_code_and_message(
    ecr: tuple[Any, Stubber], code: str, status: int
) -> None:
    client, stubber = ecr
    stubber.add_client_error(
        "batch_check_layer_availability",
        service_error_code=code,
        service_message=f"{code} said no",
        http_status_code=status,
    )

    with pytest.raises(RepositoryCheckError) as raised:
        EcrRegistry(client).batch_check_layer_availability("123456789012", "app", [DIGEST])

    assert (raised.value.code, raised.value.message) == (code, f"{code} said no")
