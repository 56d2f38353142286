"""``layercheck list-results`` over real HTTP: local API Gateway → handler → moto server, every page read."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from layercheck_cli.main import EXIT_OK, EXIT_USAGE, main
from local.adapter import LocalApiGateway, json_request
from local.scenario import MISSING_REPOSITORY, demo_request


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
