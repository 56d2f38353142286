"""Teaching in-process moto the ECR action it lacks (see local/moto_ecr.py), undone after each test."""

from __future__ import annotations

import pytest
from moto.ecr.responses import ECRResponse

from local.moto_ecr import ACTION_METHOD, pull_through_cache_rules_action


def serve_pull_through_cache_rules(monkeypatch: pytest.MonkeyPatch, rules: list[dict[str, str]]) -> None:
    """``rules``: ECR ``PullThroughCacheRule`` entries (``ecrRepositoryPrefix``, ``upstreamRegistryUrl``); the list
    may be changed by the test afterwards."""
    monkeypatch.setattr(ECRResponse, ACTION_METHOD, pull_through_cache_rules_action(rules), raising=False)
