"""The lifecycle preview stand-in (local/moto_lifecycle.py) answers as ECR does, through boto3 and moto in-process:
ECR's error codes, one preview per repository, ``imageIds`` narrowing the answer, no policy or image changed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.moto_lifecycle import PreviewSettings
from local.seed import create_repository, push_image
from tests.integration.moto_ecr import serve_lifecycle_previews

REPOSITORY = "team-a/app"


def keep(count: int) -> str:
    rule = {
        "rulePriority": 1,
        "description": f"keep the newest {count}",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": count},
        "action": {"type": "expire"},
    }
    return json.dumps({"rules": [rule]})


@pytest.fixture
def previews(monkeypatch: pytest.MonkeyPatch) -> PreviewSettings:
    return serve_lifecycle_previews(monkeypatch)


@pytest.fixture
def images(ecr: Any, previews: PreviewSettings) -> dict[str, str]:
    create_repository(ecr, REPOSITORY)
    return {f"v{n}": push_image(ecr, REPOSITORY, [f"app-{n}"], tag=f"v{n}")["digest"] for n in (1, 2, 3)}


def test_a_repository_never_previewed_has_no_preview(ecr: Any, images: dict[str, str]) -> None:
    with pytest.raises(ecr.exceptions.LifecyclePolicyPreviewNotFoundException):
        ecr.get_lifecycle_policy_preview(repositoryName=REPOSITORY)


def test_the_repositorys_own_policy_is_needed_when_no_text_is_given(ecr: Any, images: dict[str, str]) -> None:
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.start_lifecycle_policy_preview(repositoryName=REPOSITORY)


def test_a_complete_preview_answers_in_ecrs_shape_narrowed_by_image_ids(ecr: Any, images: dict[str, str]) -> None:
    started = ecr.start_lifecycle_policy_preview(repositoryName=REPOSITORY, lifecyclePolicyText=keep(1))

    whole = ecr.get_lifecycle_policy_preview(repositoryName=REPOSITORY)
    narrowed = ecr.get_lifecycle_policy_preview(repositoryName=REPOSITORY, imageIds=[{"imageDigest": images["v2"]}])

    assert (started["status"], whole["status"], whole["lifecyclePolicyText"]) == ("IN_PROGRESS", "COMPLETE", keep(1))
    assert [(r["imageTags"], r["action"], r["appliedRulePriority"]) for r in whole["previewResults"]] == [
        (["v1"], {"type": "EXPIRE"}, 1),
        (["v2"], {"type": "EXPIRE"}, 1),
    ]
    assert whole["summary"] == {"expiringImageTotalCount": 2}
    assert [result["imageDigest"] for result in narrowed["previewResults"]] == [images["v2"]]


def test_one_preview_per_repository_a_start_while_one_runs_is_refused(
    ecr: Any, images: dict[str, str], previews: PreviewSettings
) -> None:
    previews.pending_polls = 1
    ecr.start_lifecycle_policy_preview(repositoryName=REPOSITORY, lifecyclePolicyText=keep(1))

    with pytest.raises(ecr.exceptions.LifecyclePolicyPreviewInProgressException):
        ecr.start_lifecycle_policy_preview(repositoryName=REPOSITORY, lifecyclePolicyText=keep(2))
    running = ecr.get_lifecycle_policy_preview(repositoryName=REPOSITORY)
    done = ecr.get_lifecycle_policy_preview(repositoryName=REPOSITORY)

    assert (running["status"], running["previewResults"], done["status"]) == ("IN_PROGRESS", [], "COMPLETE")
    assert previews.started == [keep(1)]


def test_a_policy_ecr_refuses_is_an_invalid_parameter_and_nothing_is_changed(ecr: Any, images: dict[str, str]) -> None:
    refused = keep(1).replace('"any"', '"everything"')

    with pytest.raises(ecr.exceptions.InvalidParameterException):
        ecr.start_lifecycle_policy_preview(repositoryName=REPOSITORY, lifecyclePolicyText=refused)
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName=REPOSITORY)
    assert len(ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]) == 3
