"""ECR image URIs as runtimes name them: every string gives an image or a reason, never an exception."""

from __future__ import annotations

import re

import pytest
from botocore.utils import validate_region_name
from hypothesis import given, settings
from hypothesis import strategies as st

from layercheck.contracts import patterns
from layercheck.logic.image_uris import MAX_URI_LENGTH, ImageUri, UnparsedUri, parse_image_uri

DIGEST = "sha256:" + "ab" * 32
HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
# The bar for every decoder of client input: at least 1,000 generated inputs (each property 1-15 s).
EXAMPLES = settings(max_examples=1000, deadline=None)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"{HOST}/app:1.2", ImageUri("123456789012", "eu-west-1", "app", "1.2", None, HOST)),
        (f"{HOST}/team/app@{DIGEST}", ImageUri("123456789012", "eu-west-1", "team/app", None, DIGEST, HOST)),
        (f"{HOST}/team/app:v1@{DIGEST}", ImageUri("123456789012", "eu-west-1", "team/app", "v1", DIGEST, HOST)),
        (
            f"  {HOST.upper()}/app:v1\n",
            ImageUri("123456789012", "eu-west-1", "app", "v1", None, HOST),
        ),
        (
            "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1",
            ImageUri(
                "210987654321", "cn-north-1", "app", "v1", None, "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn"
            ),
        ),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app:v1",
            ImageUri(
                "123456789012",
                "us-gov-west-1",
                "app",
                "v1",
                None,
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            ),
        ),
        (
            "123456789012.dkr-ecr.eu-west-1.on.aws/app:v1",
            ImageUri("123456789012", "eu-west-1", "app", "v1", None, "123456789012.dkr-ecr.eu-west-1.on.aws"),
        ),
    ],
)
def test_parse_image_uri_reads_every_ecr_form(uri: str, expected: ImageUri) -> None:
    assert parse_image_uri(uri) == expected


def test_parse_image_uri_without_tag_or_digest_means_latest_as_docker_pull_does() -> None:
    uri = parse_image_uri(f"{HOST}/app")

    assert isinstance(uri, ImageUri)
    assert (uri.image_tag, uri.image_digest) == ("latest", None)


def test_parse_image_uri_with_tag_and_digest_is_by_digest() -> None:
    uri = parse_image_uri(f"{HOST}/app:v1@{DIGEST}")

    assert isinstance(uri, ImageUri) and uri.by_digest and uri.image_digest == DIGEST


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("nginx:1.27", "not an Amazon ECR private registry"),
        ("docker.io/library/nginx:1.27", "not an Amazon ECR private registry"),
        ("public.ecr.aws/nginx/nginx:1.27", "not an Amazon ECR private registry"),
        ("12345678901.dkr.ecr.eu-west-1.amazonaws.com/app:v1", "not an Amazon ECR private registry"),
        (f"{HOST}", "names no repository"),
        (f"{HOST}/", "names no repository"),
        (f"{HOST}/app@sha256:abc", "digest"),
        (f"{HOST}/app@" + "sha256:" + "AB" * 32, "digest"),
        (f"{HOST}/app:", "tag"),
        (f"{HOST}/app:-v1", "tag"),
        (f"{HOST}/app:v1:v2", "tag"),
        (f"{HOST}/App:v1", "repository name"),
        (f"{HOST}/a:v1", "repository name"),
        (f"{HOST}//app:v1", "repository name"),
        (f"{HOST}/app:" + "v" * 301, "tag"),
        ("x" * (MAX_URI_LENGTH + 1), "longer than"),
    ],
)
def test_parse_image_uri_gives_the_reason_for_what_it_cannot_read(text: str, reason_part: str) -> None:
    result = parse_image_uri(text)

    assert isinstance(result, UnparsedUri)
    assert reason_part in result.reason


def test_parse_image_uri_refuses_what_is_not_a_string() -> None:
    assert parse_image_uri(None) == UnparsedUri("None", "not a string")


@EXAMPLES
@given(st.text(max_size=2 * MAX_URI_LENGTH))
def test_parse_image_uri_never_raises_on_any_text(text: str) -> None:
    result = parse_image_uri(text)

    assert isinstance(result, ImageUri | UnparsedUri)
    if isinstance(result, UnparsedUri):
        assert result.reason and len(result.uri) <= MAX_URI_LENGTH


@EXAMPLES
@given(st.from_regex(r"\A[0-9]{12}\.dkr\.ecr\.[a-z]{2}-[a-z]{4,9}-[1-9]\.amazonaws\.com/[ -~]{0,80}\Z"))
def test_parse_image_uri_never_raises_on_ecr_hosts_with_any_path(text: str) -> None:
    assert isinstance(parse_image_uri(text), ImageUri | UnparsedUri)


_repository = st.from_regex(r"\A[a-z0-9]{2,8}(/[a-z0-9]{1,8}([._-][a-z0-9]{1,4})?){0,2}\Z")
_tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9._-]{0,20}\Z")
_digest = st.from_regex(r"\Asha256:[0-9a-f]{64}\Z")


@EXAMPLES
@given(
    registry_id=st.from_regex(r"\A[0-9]{12}\Z"),
    region=st.sampled_from(["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-north-1"]),
    repository=_repository,
    tag=st.none() | _tag,
    digest=st.none() | _digest,
)
def test_parse_image_uri_reads_back_what_it_writes(
    registry_id: str, region: str, repository: str, tag: str | None, digest: str | None
) -> None:
    # Given an image written as a URI (str() of an ImageUri)
    written = ImageUri(registry_id, region, repository, tag or (None if digest else "latest"), digest)

    # When the text is parsed
    parsed = parse_image_uri(str(written))

    # Then it names the same image
    assert isinstance(parsed, ImageUri)
    assert (parsed.registry_id, parsed.region, parsed.repository_name, parsed.image_tag, parsed.image_digest) == (
        registry_id,
        region,
        repository,
        written.image_tag,
        digest,
    )


def test_patterns_for_tags_regions_and_inventory_sources_accept_and_refuse() -> None:
    assert re.fullmatch(patterns.IMAGE_TAG_PATTERN, "v1.2_rc-3")
    assert re.fullmatch(patterns.IMAGE_TAG_PATTERN, "a" * 300)
    assert not re.fullmatch(patterns.IMAGE_TAG_PATTERN, "a" * 301)
    assert not re.fullmatch(patterns.IMAGE_TAG_PATTERN, ".hidden")
    assert re.fullmatch(patterns.REGION_PATTERN, "us-gov-west-1")
    assert not re.fullmatch(patterns.REGION_PATTERN, "us-east")
    assert re.fullmatch(patterns.INVENTORY_SOURCE_PATTERN, "eks:prod/cluster-1")
    assert not re.fullmatch(patterns.INVENTORY_SOURCE_PATTERN, "prod#1")


@EXAMPLES
@given(st.from_regex(patterns.REGION_PATTERN, fullmatch=True))
def test_region_pattern_accepts_only_region_names_botocore_takes(region: str) -> None:
    """A ``region`` the API accepts becomes a botocore client's region_name: one botocore refuses (over 64
    characters: InvalidRegionError) would be a 5xx (schemathesis found ``qx-xy-kcjotwzvwozhygb-...-41``)."""
    validate_region_name(region)  # raises InvalidRegionError


def test_region_pattern_refuses_a_region_name_longer_than_any_aws_names() -> None:
    assert re.fullmatch(patterns.REGION_PATTERN, "ap-southeast-4")
    assert not re.fullmatch(patterns.REGION_PATTERN, "qx-" + "-".join(["abcdefgh"] * 8) + "-41")
    assert not re.fullmatch(patterns.ECR_REGISTRY_HOST_PATTERN, f"123456789012.dkr.ecr.qx-{'a' * 70}-1.amazonaws.com")
