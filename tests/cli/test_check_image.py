"""``check-image``: an image pushed to moto is judged COMPLETE or BROKEN by the shared walk; references parse like
``docker``'s."""

from __future__ import annotations

import json

import boto3
import pytest

from layercheck.logic.image_uris import ImageUri, UnparsedUri, parse_image_uri
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
def test_unknown_tag_is_answered_unchecked_and_fails_closed(
    registry: Registry, images: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """As POST /images/checks answers it: a verdict UNCHECKED with ECR's code; the image was not checked: 255."""
    code = main(["check-image", "app:nope", "--endpoint-url", registry.endpoint_url, "--fail-on-missing"])

    captured = capsys.readouterr()
    verdict = json.loads(captured.out)
    assert code == EXIT_ERROR
    assert (verdict["status"], verdict["failureCode"]) == ("UNCHECKED", "ImageNotFoundException")
    assert captured.err == "layercheck: not checked: app:nope: ImageNotFoundException: app holds no image tagged nope\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # No tag and no digest means latest, as for docker pull (the service's parser says so explicitly).
        ("app", ImageReference("app", tag="latest")),
        ("team/app:1.2", ImageReference("team/app", tag="1.2")),
        ("app@sha256:" + "a" * 64, ImageReference("app", digest="sha256:" + "a" * 64)),
        ("team.a/app:1", ImageReference("team.a/app", tag="1")),  # a dot in a repository name is not a host
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1",
            ImageReference("team/app", tag="v1", registry_id="123456789012", region="eu-west-1"),
        ),
        # What the CLI's own patterns refused before it used the service's parser: ECR's 300-character tags, and
        # dual-stack and FIPS hosts (https://docs.aws.amazon.com/general/latest/gr/ecr.html).
        ("app:" + "t" * 300, ImageReference("app", tag="t" * 300)),
        (
            "123456789012.dkr-ecr.eu-west-1.on.aws/team/app:v1",
            ImageReference("team/app", tag="v1", registry_id="123456789012", region="eu-west-1"),
        ),
        (
            "123456789012.DKR.ECR-FIPS.us-east-1.amazonaws.com/app@sha256:" + "b" * 64,
            ImageReference("app", digest="sha256:" + "b" * 64, registry_id="123456789012", region="us-east-1"),
        ),
    ],
)
def test_image_references_parse_like_docker(text: str, expected: ImageReference) -> None:
    assert parse_image_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "App",
        "app:",
        "app:bad tag",
        "app@nodigest",
        "",
        "app:" + "t" * 301,  # ECR's ImageTag: 1-300 characters
        "app@sha256:" + "A" * 64,  # the OCI digest grammar: lowercase hex
        "12345.dkr.ecr.eu-west-1.amazonaws.com/app:1",  # an account id is 12 digits
        "localhost:5000/app:1",  # not an ECR private registry
    ],
)
def test_malformed_image_references_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_image_reference(text)


@pytest.mark.parametrize(
    ("text", "uri"),
    [
        ("app:" + "t" * 300, "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:" + "t" * 300),
        ("123456789012.dkr-ecr.eu-west-1.on.aws/app:1", "123456789012.dkr-ecr.eu-west-1.on.aws/app:1"),
        ("app:-1", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:-1"),
    ],
)
def test_image_references_agree_with_the_services_parser(text: str, uri: str) -> None:
    """The command line accepts exactly what POST /inventory and the in-use discovery accept."""
    service = parse_image_uri(uri)
    try:
        cli: ImageReference | None = parse_image_reference(text)
    except UsageError:
        cli = None

    assert (cli is None) == isinstance(service, UnparsedUri)
    if isinstance(service, ImageUri) and cli is not None:
        assert (cli.repository_name, cli.tag, cli.digest) == (
            service.repository_name,
            service.image_tag,
            service.image_digest,
        )


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


def _archived_in_ecr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stands for real ECR's archive storage class: DescribeImages lists an archived image with ``imageStatus``
    ARCHIVED (moto 5.2.5 never reports one). The hook rewrites ECR's answer on the wire side of botocore, in the
    session the command creates; nothing of layercheck's own is patched."""
    from layercheck_cli.commands import check_image as command

    def archive(parsed: dict[str, object], **_: object) -> None:
        for detail in parsed.get("imageDetails", []):  # type: ignore[attr-defined]
            detail["imageStatus"] = "ARCHIVED"

    def make_session(options: object) -> object:
        session = real_make_session(options)
        session.register("after-call.ecr.DescribeImages", archive)
        return session

    real_make_session = command.make_session
    monkeypatch.setattr(command, "make_session", make_session)


@pytest.mark.usefixtures("env")
def test_archived_image_fails_the_gate_as_the_help_says(
    registry: Registry, images: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _archived_in_ecr(monkeypatch)
    argv = ["check-image", "app:good", "--endpoint-url", registry.endpoint_url, "--query", "[status, failureCode]"]

    without_gate = main(argv)
    printed = json.loads(capsys.readouterr().out)
    with_gate = main([*argv, "--fail-on-missing"])
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "240")
    main(["check-image", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())

    assert printed == ["ARCHIVED", "ImageArchived"]
    assert (without_gate, with_gate) == (EXIT_OK, EXIT_NOT_AVAILABLE)
    assert "Exit 1 when an image is BROKEN, MISSING or ARCHIVED" in help_text
