"""The API's request model states every rule a caller can break; malformed digests are not one of them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from layercheck.models.api import MAX_LAYER_DIGESTS, MAX_PAIRS, CheckRequest
from layercheck.models.verdicts import CheckSummary, LayerAnswer, LayerFailure, RepositoryResult

DIGEST = "sha256:" + "c" * 64


def rules_broken(body: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        CheckRequest.model_validate(body)
    return {(".".join(str(part) for part in error["loc"]), error["type"]) for error in raised.value.errors()}


def test_check_request_accepts_malformed_digests_to_answer_them() -> None:
    request = CheckRequest.model_validate({"repositoryNames": ["team/app"], "layerDigests": ["latest", DIGEST]})

    assert request.layerDigests == ["latest", DIGEST]
    assert request.registryId is None


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"layerDigests": [DIGEST]}, ("repositoryNames", "missing")),
        ({"repositoryNames": [], "layerDigests": [DIGEST]}, ("repositoryNames", "too_short")),
        ({"repositoryNames": "app", "layerDigests": [DIGEST]}, ("repositoryNames", "list_type")),
        ({"repositoryNames": ["App"], "layerDigests": [DIGEST]}, ("repositoryNames.0", "string_pattern_mismatch")),
        ({"repositoryNames": ["app"], "layerDigests": []}, ("layerDigests", "too_short")),
        ({"repositoryNames": ["app"], "layerDigests": [7]}, ("layerDigests.0", "string_type")),
        (
            {"repositoryNames": ["app"], "layerDigests": [DIGEST], "registryId": "42"},
            ("registryId", "string_pattern_mismatch"),
        ),
        (
            {"repositoryNames": ["app"], "layerDigests": [DIGEST], "repositoryName": "x"},
            ("repositoryName", "extra_forbidden"),
        ),
        ({"repositoryNames": ["app"], "layerDigests": ["x" * 257]}, ("layerDigests.0", "string_too_long")),
        (
            {"repositoryNames": ["app"], "layerDigests": [DIGEST] * (MAX_LAYER_DIGESTS + 1)},
            ("layerDigests", "too_long"),
        ),
    ],
)
def test_check_request_names_the_field_and_rule_broken(body: dict[str, Any], rule: tuple[str, str]) -> None:
    assert rule in rules_broken(body)


def test_check_request_states_the_maximum_number_of_pairs() -> None:
    repositories = [f"repo-{i}" for i in range(11)]
    digests = [f"sha256:{i:064x}" for i in range(1000)]

    with pytest.raises(ValidationError) as raised:
        CheckRequest.model_validate({"repositoryNames": repositories, "layerDigests": digests})

    (error,) = raised.value.errors()
    assert error["type"] == "too_many_pairs"
    assert f"the maximum is {MAX_PAIRS}" in error["msg"]


def test_check_request_counts_distinct_pairs_against_the_maximum() -> None:
    digests = [f"sha256:{i:064x}" for i in range(1000)]

    request = CheckRequest.model_validate({"repositoryNames": ["a1"] * 50, "layerDigests": digests})

    assert len(request.repositoryNames) == 50


def test_summary_counts_each_pair_under_exactly_one_kind() -> None:
    result = RepositoryResult(
        registryId="1",
        repositoryName="r",
        layers=[
            LayerAnswer(layerDigest="a", layerAvailability="AVAILABLE"),
            LayerAnswer(layerDigest="b", layerAvailability="ARCHIVED"),
        ],
        failures=[
            LayerFailure(layerDigest="c", failureCode="MissingLayerDigest", failureReason=""),
            LayerFailure(layerDigest="d", failureCode="InvalidLayerDigest", failureReason=""),
            LayerFailure(layerDigest="e", failureCode="RepositoryNotFoundException", failureReason=""),
        ],
    )

    assert CheckSummary.of([result]) == CheckSummary(
        checked=5, available=1, unavailable=1, missing=1, invalid=1, errors=1
    )
