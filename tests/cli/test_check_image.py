"""``check-image``: an image pushed to moto is judged COMPLETE or BROKEN by the shared walk; references parse like
``docker``'s."""

from __future__ import annotations

import json

import boto3
import pytest

from layercheck_cli.errors import UsageError
from layercheck_cli.images import ImageReference, parse_image_reference
from layercheck_cli.main import EXIT_ERROR, EXIT_NOT_AVAILABLE, EXIT_OK, main
from tests.cli.conftest import Registry

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ABSENT_LAYER = "sha256:" + "1" * 64


def _manifest(config: str, layers: list[str]) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 9, "digest": config},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": digest}
                for digest in layers
            ],
        }
    )


@pytest.fixture(scope="module")
def images(registry: Registry) -> dict[str, str]:
    ecr = boto3.client(
        "ecr",
        endpoint_url=registry.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    config, layer = registry.digests
    pushed = {}
    for tag, layers in (("good", [layer]), ("broken", [layer, ABSENT_LAYER])):
        answer = ecr.put_image(
            repositoryName="app",
            imageManifest=_manifest(config, layers),
            imageManifestMediaType=DOCKER_MANIFEST,
            imageTag=tag,
        )
        pushed[tag] = answer["image"]["imageId"]["imageDigest"]
    return pushed


@pytest.mark.usefixtures("env")
def test_complete_image_by_tag(registry: Registry, images: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-image", "app:good", "--endpoint-url", registry.endpoint_url, "--fail-on-missing"])

    verdict = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert (verdict["status"], verdict["imageDigest"], verdict["imageTags"]) == ("COMPLETE", images["good"], ["good"])
    assert verdict["layerSummary"]["checked"] == 2


@pytest.mark.usefixtures("env")
def test_broken_image_by_digest_fails_the_gate(
    registry: Registry, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check-image", f"app@{images['broken']}", "--endpoint-url", registry.endpoint_url, "--fail-on-missing"]

    code = main([*argv, "--query", "[status, missingLayers]"])

    assert code == EXIT_NOT_AVAILABLE
    assert json.loads(capsys.readouterr().out) == ["BROKEN", [ABSENT_LAYER]]


@pytest.mark.usefixtures("env")
def test_unknown_tag_is_ecrs_error(
    registry: Registry, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-image", "app:nope", "--endpoint-url", registry.endpoint_url])

    assert code == EXIT_ERROR
    assert capsys.readouterr().err.startswith(
        "\nAn error occurred (ImageNotFoundException) when calling the DescribeImages"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app", ImageReference("app")),
        ("team/app:1.2", ImageReference("team/app", tag="1.2")),
        ("app@sha256:" + "a" * 64, ImageReference("app", digest="sha256:" + "a" * 64)),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1",
            ImageReference("team/app", tag="v1", registry_id="123456789012", region="eu-west-1"),
        ),
    ],
)
def test_image_references_parse_like_docker(text: str, expected: ImageReference) -> None:
    assert parse_image_reference(text) == expected


@pytest.mark.parametrize("text", ["App", "app:", "app:bad tag", "app@nodigest", ""])
def test_malformed_image_references_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_image_reference(text)


@pytest.mark.usefixtures("env")
def test_full_image_uri_uses_its_region_over_the_configured_one(
    registry: Registry, images: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto keeps each Region's registry apart: the image exists in us-east-1 only."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:good"

    code = main(["check-image", uri, "--endpoint-url", registry.endpoint_url, "--query", "status"])

    assert (code, json.loads(capsys.readouterr().out)) == (EXIT_OK, "COMPLETE")


@pytest.mark.usefixtures("env")
def test_full_image_uri_needs_no_configured_region(
    registry: Registry, images: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@{images['broken']}"

    code = main(["check-image", uri, "--endpoint-url", registry.endpoint_url, "--query", "status"])

    assert (code, json.loads(capsys.readouterr().out)) == (EXIT_OK, "BROKEN")


@pytest.mark.usefixtures("env")
def test_full_image_uri_asks_the_uris_registry(
    registry: Registry, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """moto serves account 123456789012 only: asking for another registry proves the URI's account was sent."""
    uri = "000000000000.dkr.ecr.us-east-1.amazonaws.com/app:good"

    code = main(["check-image", uri, "--endpoint-url", registry.endpoint_url])

    assert code == EXIT_ERROR
    assert "000000000000" in capsys.readouterr().err
