"""Gates fail closed: every form but the single-repository ``batch-check-layer-availability`` exits 255 when anything
asked could not be checked, with the reason on stderr; a gate never passes on nothing. Each case runs as a user runs
it: the installed ``layercheck`` in a clean environment, against the session's moto server on 127.0.0.1, or an unused
127.0.0.1 port for "unreachable"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.clean_shell import clean_env, layercheck, moto_env, unused_port
from tests.cli.conftest import MISSING_DIGEST, Registry

NOT_CHECKED = b"layercheck: not checked: "


@pytest.fixture
def home(tmp_path: Path) -> Path:
    empty = tmp_path / "home"
    empty.mkdir()
    return empty


def _says_how_to_provide_credentials(stderr: bytes) -> None:
    text = stderr.decode()
    assert "credentials" in text
    for way in ("AWS_ACCESS_KEY_ID", "aws configure", "--profile", "aws sso login"):
        assert way in text, way
    assert "--registry-id" not in text


def test_audit_fail_on_broken_of_a_mistyped_repository_exits_255(registry: Registry, home: Path) -> None:
    run = layercheck(["audit", "--repository-names", "apx", "--fail-on-broken"], moto_env(home, registry.endpoint_url))

    assert run.returncode == 255
    assert NOT_CHECKED + b"apx: RepositoryNotFoundException: " in run.stderr


def test_audit_fail_on_broken_of_a_prefix_that_matches_nothing_exits_255(registry: Registry, home: Path) -> None:
    run = layercheck(
        ["audit", "--repository-prefixes", "ap", "nothing/", "--fail-on-broken", "--query", "summary.repositories"],
        moto_env(home, registry.endpoint_url),
    )

    assert run.returncode == 255
    assert run.stdout.strip() != b"0"  # "ap" matched app: it was audited and printed
    assert run.stderr.decode().splitlines() == [
        f"layercheck: not checked: no repository of registry 123456789012 in us-east-1 starts with {'nothing/'!r}"
    ]


def test_audit_of_a_registry_with_nothing_in_scope_exits_255(registry: Registry, home: Path) -> None:
    """moto keeps each Region's registry apart: ap-south-1's is empty."""
    run = layercheck(["audit", "--fail-on-broken"], moto_env(home, registry.endpoint_url, region="ap-south-1"))

    assert run.returncode == 255
    assert NOT_CHECKED + b"nothing to audit: no repository of registry 123456789012 in ap-south-1" in run.stderr


@pytest.mark.parametrize(
    "args",
    [["audit", "--fail-on-broken"], ["audit", "--registry-id", "123456789012", "--repository-names", "app",
                                     "--fail-on-broken"]],
    ids=["own-registry", "named-registry"],
)  # fmt: skip
def test_audit_without_credentials_exits_255_saying_how_to_provide_them(args: list[str], home: Path) -> None:
    run = layercheck(args, clean_env(home, AWS_DEFAULT_REGION="us-east-1"))

    assert (run.returncode, run.stdout) == (255, b"")
    _says_how_to_provide_credentials(run.stderr)


def test_audit_with_ecr_unreachable_exits_255_naming_it(home: Path) -> None:
    endpoint = f"http://127.0.0.1:{unused_port()}"
    env = clean_env(home, AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
                    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # fmt: skip

    run = layercheck(["audit", "--fail-on-broken"], env)

    assert (run.returncode, run.stdout) == (255, b"")
    assert b"Amazon ECR is unreachable: Could not connect to the endpoint URL: " in run.stderr
    assert endpoint.encode() in run.stderr


def test_batch_check_several_repositories_without_credentials_exits_255(home: Path) -> None:
    run = layercheck(
        ["batch-check-layer-availability", "--repository-names", "a", "b", "--layer-digests", MISSING_DIGEST],
        clean_env(home, AWS_DEFAULT_REGION="us-east-1"),
    )

    assert (run.returncode, run.stdout) == (255, b"")
    _says_how_to_provide_credentials(run.stderr)


def test_batch_check_several_repositories_one_missing_prints_the_answer_and_exits_255(
    registry: Registry, home: Path
) -> None:
    d1, _ = registry.digests
    run = layercheck(
        ["batch-check-layer-availability", "--repository-names", "app", "nope", "--layer-digests", d1,
         "--query", "summary.[available, errors]", "--output", "text"],
        moto_env(home, registry.endpoint_url),
    )  # fmt: skip

    assert (run.returncode, run.stdout) == (255, b"1\t1\n")
    assert run.stderr.startswith(NOT_CHECKED + b"nope: RepositoryNotFoundException: ")


def test_batch_check_several_repositories_with_ecr_unreachable_exits_255(home: Path) -> None:
    env = clean_env(home, AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://127.0.0.1:{unused_port()}",
                    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # fmt: skip

    run = layercheck(
        ["batch-check-layer-availability", "--registry-id", "123456789012", "--repository-names", "a", "b",
         "--layer-digests", MISSING_DIGEST, "--fail-on-missing", "--query", "summary.errors"], env,
    )  # fmt: skip

    assert (run.returncode, run.stdout) == (255, b"2\n")
    assert run.stderr.count(b": EndpointConnectionError: Could not connect to the endpoint URL") == 2


def test_check_image_without_credentials_exits_255_saying_how_to_provide_them(home: Path) -> None:
    run = layercheck(["check-image", "team-a/api:2.0"], clean_env(home, AWS_DEFAULT_REGION="us-east-1"))

    assert (run.returncode, run.stdout) == (255, b"")
    _says_how_to_provide_credentials(run.stderr)


@pytest.mark.parametrize(
    ("reference", "host"),
    [("ghcr.io/acme/api:1.0", "ghcr.io"), ("public.ecr.aws/nginx/nginx:1.27", "public.ecr.aws"),
     ("docker.io/library/nginx:1.27", "docker.io")],
)  # fmt: skip
def test_check_image_of_another_registry_says_so_without_asking_aws(reference: str, host: str, home: Path) -> None:
    """Refused before any call: no credentials or Region are needed to be told."""
    run = layercheck(["check-image", reference], clean_env(home))

    assert (run.returncode, run.stdout) == (255, b"")
    assert f"{reference} is not in an Amazon ECR private registry ({host})".encode() in run.stderr


def test_check_image_of_a_docker_hub_name_says_it_is_not_in_ecr(registry: Registry, home: Path) -> None:
    """nginx:1.27 names a repository of the caller's registry (ECR names may be anything Docker Hub's are): ECR has
    no such repository, and the reason says that a Docker Hub image cannot be checked, rather than only "not found"."""
    run = layercheck(["check-image", "nginx:1.27", "--query", "status"], moto_env(home, registry.endpoint_url))

    assert (run.returncode, run.stdout) == (255, b'"UNCHECKED"\n')
    assert run.stderr.startswith(NOT_CHECKED + b"nginx:1.27: RepositoryNotFoundException: ")
    assert b"not an image of Docker Hub (docker.io/library/nginx:1.27)" in run.stderr


def test_check_image_help_shows_help(home: Path) -> None:
    run = layercheck(["check-image", "help"], clean_env(home))

    assert run.returncode == 0
    assert b"EXAMPLES" in run.stdout and b"--images-file" in run.stdout
    assert run.stderr == b""


def test_list_images_without_credentials_exits_255_saying_how_to_provide_them(home: Path) -> None:
    api = f"http://127.0.0.1:{unused_port()}"
    run = layercheck(["list-images", "--api-url", api], clean_env(home, AWS_DEFAULT_REGION="us-east-1"))

    assert (run.returncode, run.stdout) == (255, b"")
    _says_how_to_provide_credentials(run.stderr)


def test_list_images_with_the_api_unreachable_exits_255_naming_it(home: Path) -> None:
    api = f"http://127.0.0.1:{unused_port()}"
    run = layercheck(["list-images", "--api-url", api], moto_env(home, api))

    assert (run.returncode, run.stdout) == (255, b"")
    assert b"The layercheck API is unreachable: " in run.stderr and b"Check --api-url" in run.stderr


@pytest.mark.parametrize("page_size", ["0", "101"])
def test_list_images_page_size_out_of_range_is_refused_by_its_name(page_size: str, home: Path) -> None:
    """--page-size 0 listed nothing and exited 0; 101 came back as the API's "query.limit"."""
    api = f"http://127.0.0.1:{unused_port()}"
    run = layercheck(["list-images", "--api-url", api, "--page-size", page_size], moto_env(home, api))

    assert (run.returncode, run.stdout) == (255, b"")
    assert f"Bad value for --page-size: {page_size}".encode() in run.stderr
