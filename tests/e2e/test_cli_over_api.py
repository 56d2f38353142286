"""The command line over real HTTP: local API Gateway → handler → moto server. ``list-results`` and ``list-images``
read every page; ``check-image --api-url`` checks through ``POST /images/checks`` and agrees with the local check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from layercheck_cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from local.adapter import LocalApiGateway, json_request
from local.lambda_context import LOCAL_ACCOUNT_ID, LOCAL_REGION
from local.scenario import MISSING_REPOSITORY, demo_request, registry_host
from local.seed import OCI_LAYER, blob, create_repository, descriptor, digest_of, push_image, push_index


@pytest.fixture
def checked(local_api: LocalApiGateway) -> LocalApiGateway:
    status, _ = json_request(f"{local_api.url}/checks", "POST", demo_request().body())
    assert status == 200
    return local_api


def _all_stored(api_url: str, query: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    token = ""
    while True:
        _, page = json_request(f"{api_url}/results?{query}&limit=100" + (f"&nextToken={quote(token)}" if token else ""))
        items += page["items"]
        token = page.get("nextToken") or ""
        if not token:
            return items


def test_list_results_of_a_repository_reads_every_page(
    checked: LocalApiGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["list-results", "--api-url", checked.url, "--repository-name", "team-a/api", "--page-size", "50"]

    code = main(argv)

    answer = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert answer == {"items": _all_stored(checked.url, "repositoryName=team-a/api")}
    assert len(answer["items"]) == 128


def test_list_results_max_items_and_starting_token_cover_the_listing_once(
    checked: LocalApiGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["list-results", "--api-url", checked.url, "--repository-name", "team-a/api", "--page-size", "40"]

    main([*argv, "--max-items", "50"])
    first = json.loads(capsys.readouterr().out)
    main([*argv, "--starting-token", first["NextToken"]])
    rest = json.loads(capsys.readouterr().out)

    digests = [item["layerDigest"] for item in first["items"] + rest["items"]]
    assert len(first["items"]) == 50 and "NextToken" not in rest
    assert sorted(digests) == sorted(
        item["layerDigest"] for item in _all_stored(checked.url, "repositoryName=team-a/api")
    )


def test_list_results_of_a_digest_across_repositories_as_text(
    checked: LocalApiGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = demo_request().layer_digests[0]
    argv = ["list-results", "--api-url", checked.url, "--layer-digest", digest]

    code = main([*argv, "--query", "sort_by(items, &repositoryName)[].[repositoryName, status]", "--output", "text"])

    assert code == EXIT_OK
    assert capsys.readouterr().out == (
        f"platform/base\tAVAILABLE\nteam-a/api\tAVAILABLE\nteam-b/worker\tAVAILABLE\n{MISSING_REPOSITORY}\tERROR\n"
    )


def test_list_results_needs_exactly_one_of_repository_and_digest(
    local_api: LocalApiGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list-results", "--api-url", local_api.url]) == EXIT_USAGE
    assert "give exactly one of --repository-name and --layer-digest" in capsys.readouterr().err


# -- images: repositories of this module's own (the list-results counts above stay put), checked through the API -----

WEB = "cli/web"
JOBS = "cli/jobs"
JOB_RUNS = 4


@dataclass(frozen=True)
class CliImages:
    complete: str  # an OCI index over linux/amd64 and linux/arm64
    broken: str  # a layer that never made it
    broken_digests: dict[str, str]  # ``repository:tag`` → digest, for every broken image of both repositories
    digests: dict[str, str]  # ``repository:tag`` → digest, for every image

    @property
    def references(self) -> list[str]:
        return list(self.digests)


@pytest.fixture(scope="module")
def cli_images(seeded_endpoint: str) -> CliImages:
    ecr = boto3.client(
        "ecr", endpoint_url=seeded_endpoint, region_name=LOCAL_REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    create_repository(ecr, WEB)
    amd64 = push_image(ecr, WEB, ["base-0", "web-0"], platform="linux/amd64")
    arm64 = push_image(ecr, WEB, ["base-0", "web-arm64"], platform="linux/arm64")
    index = push_index(ecr, WEB, [amd64, arm64], tag="1.0")
    broken = push_image(ecr, WEB, ["base-0"], tag="1.1-rc", absent_layers=[descriptor(OCI_LAYER, blob("cli-lost"))])
    create_repository(ecr, JOBS)
    runs = {
        f"{JOBS}:run-{n}": push_image(
            ecr, JOBS, [f"job-{n}"], tag=f"run-{n}", absent_layers=[descriptor(OCI_LAYER, blob(f"job-lost-{n}"))]
        )["digest"]
        for n in range(JOB_RUNS)
    }
    broken_digests = {f"{WEB}:1.1-rc": broken["digest"], **runs}
    return CliImages(
        complete=f"{WEB}:1.0",
        broken=f"{WEB}:1.1-rc",
        broken_digests=broken_digests,
        digests={f"{WEB}:1.0": index["digest"], **broken_digests},
    )


@pytest.fixture
def images_checked(local_api: LocalApiGateway, cli_images: CliImages) -> LocalApiGateway:
    """Every image of both repositories checked (and stored) once through POST /images/checks."""
    images = [dict(zip(("repositoryName", "imageTag"), ref.split(":"), strict=True)) for ref in cli_images.references]
    status, answer = json_request(f"{local_api.url}/images/checks", "POST", {"images": images})
    assert status == 200, answer
    return local_api


def _cli_out(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command printed: the in-process handler's EMF metric lines (one JSON object a line, written to
    stdout as in Lambda, where CloudWatch reads them) share the captured stdout."""
    return "".join(line for line in capsys.readouterr().out.splitlines(True) if not line.startswith('{"_aws"'))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(argv)
    out = _cli_out(capsys)
    return code, json.loads(out) if out else None


def test_check_image_over_api_prints_the_local_checks_verdict(
    local_api: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same image, checked here (ECR over moto) and by the API: the same verdict, field for field, in the same
    shape (each names the Region it checked in); the API adds its checkId, the local check its layerSummary."""
    for reference in (cli_images.complete, cli_images.broken):
        local_code, local = _run(["check-image", reference, "--fail-on-missing"], capsys)
        api_code, through_api = _run(
            ["check-image", reference, "--fail-on-missing", "--api-url", local_api.url], capsys
        )

        compared = {
            key: value for key, value in local.items() if key not in ("layerSummary", "checkedAt", "observedAt")
        }
        assert {key: through_api.get(key) for key in compared} == compared
        assert set(through_api) - set(local) == {"checkId"}
        assert through_api["imageDigest"] == cli_images.digests[reference]
        assert (local_code, api_code) == ((EXIT_OK, EXIT_OK) if reference == cli_images.complete else (1, 1))
    assert through_api["missingLayers"] == [digest_of(blob("cli-lost"))]


def test_check_image_over_api_stores_the_verdict_under_its_check_id(
    local_api: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = _run(["check-image", cli_images.broken, "--api-url", local_api.url], capsys)
    _, listed = _run(["list-images", "--api-url", local_api.url, "--repository-name", WEB], capsys)

    [stored] = [item for item in listed["items"] if item["imageDigest"] == printed["imageDigest"]]
    assert code == EXIT_OK
    assert (stored["status"], stored["checkId"], stored["source"]) == ("BROKEN", printed["checkId"], "api")


def test_check_image_over_api_text_output_of_a_full_uri(
    local_api: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"{registry_host()}/{cli_images.complete}"
    argv = ["check-image", uri, "--api-url", local_api.url, "--query", "[registryId, region, status]"]

    code = main([*argv, "--output", "text"])

    assert (code, _cli_out(capsys)) == (EXIT_OK, f"{LOCAL_ACCOUNT_ID}\t{LOCAL_REGION}\tCOMPLETE\n")


def test_check_image_over_api_an_unknown_tag_is_an_unchecked_verdict_that_fails_closed(
    local_api: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    """The API and the local check answer an image that does not exist alike: a verdict UNCHECKED with ECR's code,
    printed, and exit 255 with or without --fail-on-missing (it was not checked), the reason on stderr."""
    argv = ["check-image", f"{WEB}:nope", "--query", "[status, failureCode]"]

    api_code, verdict = _run([*argv, "--api-url", local_api.url], capsys)
    gated = main([*argv, "--api-url", local_api.url, "--fail-on-missing"])
    api_err = capsys.readouterr().err
    local_code, local_verdict = _run(argv, capsys)

    assert (api_code, verdict, gated) == (EXIT_ERROR, ["UNCHECKED", "ImageNotFoundException"], EXIT_ERROR)
    assert (local_code, local_verdict) == (EXIT_ERROR, verdict)
    assert f"layercheck: not checked: {WEB}:nope: ImageNotFoundException: " in api_err


def test_check_image_over_api_refuses_a_malformed_reference_before_sending(
    local_api: LocalApiGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-image", f"{WEB}:bad tag", "--api-url", local_api.url])

    assert code == EXIT_USAGE
    assert "the tag is not 1-300 of" in capsys.readouterr().err


def test_list_images_broken_lists_every_broken_image_and_only_those(
    images_checked: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    code, listed = _run(["list-images", "--api-url", images_checked.url, "--status", "BROKEN"], capsys)

    assert code == EXIT_OK
    assert sorted(item["imageDigest"] for item in listed["items"]) == sorted(cli_images.broken_digests.values())
    assert {item["status"] for item in listed["items"]} == {"BROKEN"}
    assert all(item["missingLayers"] for item in listed["items"])


def test_list_images_of_one_repository_lists_its_verdicts_only(
    images_checked: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["list-images", "--api-url", images_checked.url, "--repository-name", WEB]

    code = main(
        [*argv, "--query", "sort_by(items, &status)[].[repositoryName, status, imageTags[0]]", "--output", "text"]
    )

    assert code == EXIT_OK
    assert _cli_out(capsys) == f"{WEB}\tBROKEN\t1.1-rc\n{WEB}\tCOMPLETE\t1.0\n"


def test_list_images_max_items_and_starting_token_cover_the_list_once_across_pages(
    images_checked: LocalApiGateway, cli_images: CliImages, capsys: pytest.CaptureFixture[str]
) -> None:
    """5 broken images read 2 per API page: 3 items (two pages, the second cut inside), then the rest from the token."""
    argv = ["list-images", "--api-url", images_checked.url, "--status", "BROKEN", "--page-size", "2"]

    _, first = _run([*argv, "--max-items", "3"], capsys)
    _, rest = _run([*argv, "--starting-token", first["NextToken"]], capsys)

    digests = [item["imageDigest"] for item in first["items"] + rest["items"]]
    assert (len(first["items"]), len(rest["items"]), "NextToken" in rest) == (3, 2, False)
    assert sorted(digests) == sorted(cli_images.broken_digests.values())
