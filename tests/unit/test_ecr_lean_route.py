"""The lean request path sends where the botocore client sends, signed for the same Region and service, for every way
the endpoint is chosen (no network: botocore's request is caught at ``before-send``, where it is final and signed)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecr_lean import LeanEcrLayerCheck, lean_or_botocore, resolve_route, unsupported_reason

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in (*ENDPOINT_VARIABLES, "AWS_PROFILE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDROUTE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "route-secret")


class _NoBody:
    def stream(self, **_: Any) -> Any:
        yield b'{"layers": [], "failures": []}'


def botocore_sends(client: Any) -> tuple[str, str]:
    """The URL and the credential scope of the request the client really sends, caught before it leaves."""
    sent: dict[str, Any] = {}

    def catch(request: Any, **_: Any) -> AWSResponse:
        sent["request"] = request
        return AWSResponse(request.url, 200, {}, _NoBody())

    client.meta.events.register("before-send.ecr.BatchCheckLayerAvailability", catch)
    client.batch_check_layer_availability(repositoryName="team-a/api", layerDigests=["sha256:" + "1" * 64])
    request = sent["request"]
    authorization = request.headers["Authorization"].decode()
    scope = authorization.split("Credential=")[1].split(",")[0].split("/", 2)[2]
    return request.url, scope


def ecr_client(region: str, endpoint_url: str | None = None, **config: Any) -> Any:
    session = botocore.session.Session()
    return session.create_client("ecr", region_name=region, endpoint_url=endpoint_url, config=Config(**config))


@pytest.mark.parametrize(
    ("region", "environment", "endpoint_url", "config"),
    [
        ("us-east-1", {}, None, {}),
        ("eu-west-1", {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, None, {}),
        (
            "eu-west-1",
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_ECR": "http://127.0.0.1:2"},
            None,
            {},
        ),
        (
            "eu-west-1",
            {"AWS_ENDPOINT_URL_ECR": "http://127.0.0.1:2"},
            "https://vpce-1.api.ecr.eu-west-1.vpce.amazonaws.com",
            {},
        ),
        ("us-east-1", {}, None, {"use_fips_endpoint": True}),
        ("us-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"}, None, {}),
        ("us-gov-west-1", {}, None, {"use_fips_endpoint": True}),
        ("eu-west-1", {}, None, {"use_dualstack_endpoint": True}),
        ("us-east-2", {"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None, {"use_fips_endpoint": True}),
        ("cn-north-1", {}, None, {}),
        ("cn-northwest-1", {}, None, {"use_dualstack_endpoint": True}),
    ],
    ids=[
        "default",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ECR-wins",
        "endpoint-url-wins",
        "fips",
        "fips-from-environment",
        "fips-govcloud",
        "dual-stack",
        "fips-and-dual-stack",
        "china",
        "china-dual-stack",
    ],
)
def test_route_is_where_botocore_sends_and_how_it_signs(
    monkeypatch: pytest.MonkeyPatch, region: str, environment: dict[str, str], endpoint_url: str | None, config: Any
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    client = ecr_client(region, endpoint_url, **config)

    route = resolve_route(client)

    url, scope = botocore_sends(client)
    assert route.url == url
    assert f"{route.signing_region}/{route.signing_name}/aws4_request" == scope


def test_route_with_fips_is_not_the_clients_meta_endpoint_url() -> None:
    """Why the route is resolved by a stopped call: with FIPS in us-east-1 the client's ``meta.endpoint_url`` names
    ``ecr-fips.``, while its endpoint rules send to ``api.ecr-fips.``."""
    client = ecr_client("us-east-1", use_fips_endpoint=True)

    route = resolve_route(client)

    assert route.url == "https://api.ecr-fips.us-east-1.amazonaws.com/"
    assert client.meta.endpoint_url.rstrip("/") + "/" != route.url


def test_route_resolution_sends_nothing_and_needs_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = ecr_client("eu-west-1")

    route = resolve_route(client)  # sockets are disabled in this tier: anything sent would raise

    assert route.url == "https://api.ecr.eu-west-1.amazonaws.com/"
    assert route.headers["X-Amz-Target"] == "AmazonEC2ContainerRegistry_V20150921.BatchCheckLayerAvailability"


@pytest.mark.parametrize("mode", ["legacy", "adaptive"])
def test_lean_or_botocore_keeps_the_client_for_a_retry_mode_the_lean_path_does_not_reproduce(mode: str) -> None:
    client = ecr_client("eu-west-1", retries={"mode": mode})

    assert unsupported_reason(client, resolve_route(client)) == f"retry mode {mode}"
    assert isinstance(lean_or_botocore(client, None), EcrRegistry)


def test_lean_or_botocore_takes_the_lean_path_for_standard_retries_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    client = ecr_client("eu-west-1")

    port = lean_or_botocore(client, None)

    assert isinstance(port, LeanEcrLayerCheck)
    assert port.max_attempts == 7
