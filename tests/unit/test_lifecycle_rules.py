"""The local stand-in for ECR's lifecycle evaluator (local/lifecycle_rules.py) against ECR's documented examples:
the repository contents and the outcome are the user guide's ("Examples of lifecycle policies in Amazon ECR",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html). A bug in the stand-in would
hide one in the product, which trusts ECR's preview."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.lifecycle_rules import LifecyclePolicyError, StoredImage, evaluate

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def image(name: str, tags: list[str], days_ago: float, order: int = 0) -> StoredImage:
    return StoredImage(name, tuple(tags), NOW - timedelta(days=days_ago), order)


def rule(priority: int, selection: dict[str, Any], action: dict[str, str] | None = None) -> dict[str, Any]:
    return {"rulePriority": priority, "selection": selection, "action": action or {"type": "expire"}}


def policy(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)})


def expired(text: str, images: list[StoredImage]) -> list[str]:
    return sorted(evaluate(text, images, NOW))


def count(n: int, tag_status: str, **tags: list[str]) -> dict[str, Any]:
    return {"tagStatus": tag_status, **tags, "countType": "imageCountMoreThan", "countNumber": n}


def age(days: int, tag_status: str, **tags: list[str]) -> dict[str, Any]:
    return {"tagStatus": tag_status, **tags, "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days}


PROD_AND_BETA = [
    image("A", ["beta-1", "prod-1"], 10),
    image("B", ["beta-2", "prod-2"], 9),
    image("C", ["beta-3"], 8),
]


def test_keep_only_one_untagged_image_expires_all_other_untagged_ones() -> None:
    images = [image("A", [], 3), image("B", [], 2), image("C", [], 1), image("T", ["v1"], 5)]

    assert expired(policy(rule(1, count(1, "untagged"))), images) == ["A", "B"]


def test_untagged_images_older_than_14_days_expire() -> None:
    images = [image("old", [], 15), image("young", [], 13), image("tagged-old", ["v1"], 30)]

    assert expired(policy(rule(1, age(14, "untagged"))), images) == ["old"]


def test_prod_star_images_older_than_14_days_expire() -> None:
    images = [image("old-prod", ["prod-1"], 20), image("young-prod", ["prod-2"], 2), image("old-dev", ["dev-1"], 20)]

    assert expired(policy(rule(1, age(14, "tagged", tagPatternList=["prod*"]))), images) == ["old-prod"]


@pytest.mark.parametrize("lists", [("tagPrefixList", "prod", "beta"), ("tagPatternList", "prod*", "beta*")])
def test_example_a_an_image_seen_by_a_higher_rule_is_never_expired_by_a_lower_one(lists: tuple[str, str, str]) -> None:
    # Rule 1 (prod, keep 1) marks A; rule 2 (beta, keep 1) would mark A and B, but rule 1 saw both.
    # The guide: "Image A is expired".
    key, prod, beta = lists
    text = policy(rule(1, count(1, "tagged", **{key: [prod]})), rule(2, count(1, "tagged", **{key: [beta]})))

    assert expired(text, PROD_AND_BETA) == ["A"]


def test_example_b_priorities_swapped_expire_a_and_b() -> None:
    # Rule 1 (beta, keep 1) sees all three and marks A and B; rule 2 sees only images rule 1 saw.
    text = policy(
        rule(1, count(1, "tagged", tagPrefixList=["beta"])), rule(2, count(1, "tagged", tagPrefixList=["prod"]))
    )

    assert expired(text, PROD_AND_BETA) == ["A", "B"]


def test_several_patterns_in_one_rule_select_images_with_every_pattern() -> None:
    images = [
        image("A", ["alpha-1"], 12),
        image("B", ["beta-1"], 11),
        image("C", ["alpha-2", "beta-2"], 10),
        image("D", ["alpha-3"], 4),
        image("E", ["beta-3"], 3),
        image("F", ["alpha-4", "beta-4"], 2),
    ]

    assert expired(policy(rule(1, age(5, "tagged", tagPatternList=["alpha*", "beta*"]))), images) == ["C"]


def test_tags_are_not_exclusive_an_image_with_more_tags_still_matches() -> None:
    images = [
        image("A", ["alpha-1", "beta-1", "gamma-1"], 10),
        image("B", ["alpha-2", "beta-2"], 9),
        image("C", ["alpha-3", "beta-3", "gamma-2"], 8),
    ]

    assert expired(policy(rule(1, count(1, "tagged", tagPatternList=["alpha*", "beta*"]))), images) == ["A", "B"]


def test_any_keep_one_expires_every_image_but_the_newest() -> None:
    images = [image("A", ["alpha-1"], 4), image("B", ["beta-1"], 3), image("C", [], 2), image("D", ["alpha-2"], 1)]

    assert expired(policy(rule(1, count(1, "any"))), images) == ["A", "B", "C"]


def test_all_rule_types_in_one_policy_by_priority() -> None:
    # D and E were pushed the same day; E after D (push order), so E is the newest image.
    images = [
        image("A", ["alpha-1", "beta-1"], 4),
        image("B", [], 3),
        image("C", ["alpha-2"], 2),
        image("D", ["git hash"], 1, order=1),
        image("E", [], 1, order=2),
    ]
    text = policy(
        rule(1, count(1, "tagged", tagPatternList=["alpha*"])),
        rule(2, age(1, "untagged")),
        rule(3, count(1, "any")),
    )

    assert expired(text, images) == ["A", "B", "D"]


def test_keep_two_of_four_pushed_in_one_second_expires_the_two_pushed_first() -> None:
    same_second = [image(f"v{n}", [f"v{n}"], 0, order=n) for n in (1, 2, 3, 4)]

    assert expired(policy(rule(1, count(2, "any"))), same_second) == ["v1", "v2"]


def test_a_transition_rule_archives_with_its_priority_and_target() -> None:
    images = [image("old", ["v1"], 40), image("new", ["v2"], 1)]
    text = policy(rule(3, age(30, "any"), {"type": "transition", "targetStorageClass": "archive"}))

    marked = evaluate(text, images, NOW)

    assert list(marked) == ["old"]
    assert (marked["old"].action, marked["old"].rule_priority, marked["old"].target_storage_class) == (
        "TRANSITION",
        3,
        "ARCHIVE",
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (policy(rule(1, count(1, "any")), rule(2, count(1, "untagged"))), "highest rulePriority"),
        (policy(rule(1, count(1, "untagged")), rule(1, count(2, "any"))), "unique rulePriority"),
        (policy(rule(1, {**age(30, "any"), "countType": "sinceImagePulled"})), "does not evaluate sinceImagePulled"),
        (policy(rule(1, count(1, "tagged"))), "tagPrefixList"),
        (policy(rule(1, count(0, "any"))), "countNumber"),
        (policy(rule(1, count(1, "any"), {"type": "transition"})), "targetStorageClass"),
        ("not json", "Could not map"),
    ],
)
def test_a_policy_ecr_refuses_or_the_stand_in_cannot_evaluate_is_refused(text: str, says: str) -> None:
    with pytest.raises(LifecyclePolicyError, match=says):
        evaluate(text, [], NOW)
