"""A stand-in for ECR's lifecycle policy evaluator, for the local moto server and the tests only: moto implements no
lifecycle previews, and the product never evaluates rules itself (ECR's preview is its judge; see
``layercheck.logic.lifecycle``). Tested against ECR's documented examples (tests/unit/test_lifecycle_rules.py), so
that a bug here cannot hide one in the product.

ECR's semantics, as its user guide documents them ("Lifecycle policy properties", "Examples of lifecycle policies"):
- rules are evaluated by ``rulePriority``, lowest first;
- a rule identifies the images its selection matches: ``tagged`` images whose tags match every ``tagPrefixList``
  prefix (a tag starts with it) or every ``tagPatternList`` pattern (``*`` stands for any characters), ``untagged``
  images, or ``any`` image; in the storage class it names (``standard`` by default);
- ``imageCountMoreThan`` N marks the identified images beyond the N most recently pushed; ``sinceImagePushed`` N
  ``days`` marks those pushed more than N days ago;
- a rule never marks an image that a higher-priority rule identified, marked or not (it still counts it);
- ``expire`` is ``EXPIRE``; ``transition`` is ``TRANSITION`` to ``targetStorageClass`` (``archive`` is ``ARCHIVE``).
``sinceImagePulled`` and ``sinceImageTransitioned`` are refused (moto records no pulls and archives nothing): a stand-in
that cannot evaluate a rule says so rather than answer wrongly.

Push times: moto records ``imagePushedAt`` in whole seconds, so images pushed within one second are ordered by push
order (``push_order``): ordered pushes make "most recently pushed" unambiguous, as ECR's own clock does.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")
NOT_EVALUATED = ("sinceImagePulled", "sinceImageTransitioned")
ACTIONS = {"expire": "EXPIRE", "transition": "TRANSITION"}
STANDARD = "STANDARD"


class LifecyclePolicyError(ValueError):
    """The policy text breaks one of ECR's rules, or asks what this stand-in cannot evaluate."""


@dataclass(frozen=True)
class StoredImage:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    push_order: int  # breaks ties of pushed_at: a later push is more recent
    storage_class: str = STANDARD


@dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str
    prefixes: tuple[str, ...]
    patterns: tuple[str, ...]
    storage_class: str
    count_type: str
    count: int
    action: str  # EXPIRE | TRANSITION
    target_storage_class: str | None

    def identifies(self, image: StoredImage) -> bool:
        if image.storage_class != self.storage_class:
            return False
        if self.tag_status == "untagged":
            return not image.tags
        if self.tag_status == "any":
            return True
        return bool(image.tags) and (
            all(any(tag.startswith(prefix) for tag in image.tags) for prefix in self.prefixes)
            and all(any(_wildcard(pattern).fullmatch(tag) for tag in image.tags) for pattern in self.patterns)
        )

    def marks(self, identified: list[StoredImage], now: datetime) -> list[StoredImage]:
        if self.count_type == "imageCountMoreThan":
            newest_first = sorted(identified, key=lambda image: (image.pushed_at, image.push_order), reverse=True)
            return newest_first[self.count :]
        return [image for image in identified if image.pushed_at < now - timedelta(days=self.count)]


@dataclass(frozen=True)
class Marked:
    action: str
    rule_priority: int
    target_storage_class: str | None


def evaluate(policy_text: str, images: list[StoredImage], now: datetime) -> dict[str, Marked]:
    """What the policy would do now: image digest -> the action of the rule that marks it."""
    marked: dict[str, Marked] = {}
    seen: set[str] = set()  # identified by a higher-priority rule: never marked by a lower one
    for rule in parse_policy(policy_text):
        identified = [image for image in images if rule.identifies(image)]
        for image in rule.marks(identified, now):
            if image.digest not in seen and image.digest not in marked:
                marked[image.digest] = Marked(rule.action, rule.priority, rule.target_storage_class)
        seen.update(image.digest for image in identified)
    return marked


def parse_policy(policy_text: str) -> list[Rule]:
    """The rules by priority; raises ``LifecyclePolicyError`` with ECR's rule the text breaks."""
    try:
        document = json.loads(policy_text)
    except ValueError as error:
        raise LifecyclePolicyError(f"Could not map policyString into LifecyclePolicy: {error}") from error
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list) or not rules:
        raise LifecyclePolicyError("a lifecycle policy needs a non-empty list of rules")
    parsed = sorted((_rule(rule) for rule in rules), key=lambda rule: rule.priority)
    priorities = [rule.priority for rule in parsed]
    if len(set(priorities)) != len(priorities):
        raise LifecyclePolicyError("each rule needs a unique rulePriority")
    if any(rule.tag_status == "any" for rule in parsed[:-1]):
        raise LifecyclePolicyError("a rule with tagStatus any must have the highest rulePriority")
    return parsed


def _rule(rule: Any) -> Rule:
    if not isinstance(rule, dict):
        raise LifecyclePolicyError("each rule must be an object")
    selection, action = rule.get("selection") or {}, rule.get("action") or {}
    priority, count = rule.get("rulePriority"), selection.get("countNumber")
    tag_status, count_type = selection.get("tagStatus"), selection.get("countType")
    prefixes, patterns = tuple(selection.get("tagPrefixList") or ()), tuple(selection.get("tagPatternList") or ())
    problems = [
        "rulePriority must be a whole number of at least 1" if not _positive(priority) else "",
        f"tagStatus must be one of {TAG_STATUSES}" if tag_status not in TAG_STATUSES else "",
        "tagged needs exactly one of tagPrefixList and tagPatternList"
        if tag_status == "tagged" and bool(prefixes) == bool(patterns)
        else "",
        "tag lists apply to tagged rules only" if tag_status != "tagged" and (prefixes or patterns) else "",
        f"the local stand-in does not evaluate {count_type} (moto records no pulls nor archives)"
        if count_type in NOT_EVALUATED
        else "",
        f"countType must be one of {COUNT_TYPES}" if count_type not in (*COUNT_TYPES, *NOT_EVALUATED) else "",
        "sinceImagePushed needs countUnit days"
        if count_type == "sinceImagePushed" and selection.get("countUnit") != "days"
        else "",
        "countNumber must be a whole number of at least 1" if not _positive(count) else "",
        f"action type must be one of {tuple(ACTIONS)}" if action.get("type") not in ACTIONS else "",
        "transition needs targetStorageClass archive"
        if action.get("type") == "transition" and action.get("targetStorageClass") != "archive"
        else "",
    ]
    problem = next((text for text in problems if text), None)
    if problem or not isinstance(priority, int) or not isinstance(count, int):
        raise LifecyclePolicyError(f"rule {priority}: {problem}")
    target = str(action["targetStorageClass"]).upper() if action["type"] == "transition" else None
    return Rule(
        priority=priority,
        tag_status=str(tag_status),
        prefixes=prefixes,
        patterns=patterns,
        storage_class=str(selection.get("storageClass", "standard")).upper(),
        count_type=str(count_type),
        count=count,
        action=ACTIONS[action["type"]],
        target_storage_class=target,
    )


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _wildcard(pattern: str) -> re.Pattern[str]:
    """ECR's tag pattern: ``*`` matches any characters, everything else itself."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
