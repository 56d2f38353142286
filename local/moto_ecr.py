"""What moto 5 lacks of ECR and layercheck calls: ``DescribePullThroughCacheRules`` (moto raises NotImplementedError,
which a moto server turns into a 500 that botocore retries for a second before giving up).

moto dispatches an action to the method of its response class named after it, so teaching it the action is one
attribute. ``teach_pull_through_cache_rules`` answers in ECR's shape from a list the caller controls; the local
servers (demo, serve, e2e) answer as a registry without pull-through cache rules does: an empty list.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from moto.ecr.responses import ECRResponse

ACTION_METHOD = "describe_pull_through_cache_rules"


def pull_through_cache_rules_action(rules: list[dict[str, str]]) -> Callable[[ECRResponse], str]:
    """The action's method, answering ``rules`` (ECR ``PullThroughCacheRule`` entries: ``ecrRepositoryPrefix``,
    ``upstreamRegistryUrl``) in one page, as ECR answers a registry with few rules. The list is read at each call,
    so a caller may change it afterwards."""

    def describe_pull_through_cache_rules(self: ECRResponse) -> str:
        return json.dumps({"pullThroughCacheRules": rules})

    return describe_pull_through_cache_rules


def teach_pull_through_cache_rules(rules: list[dict[str, str]] | None = None) -> None:
    """Teach moto the action for this whole process (a local moto server runs in it)."""
    setattr(ECRResponse, ACTION_METHOD, pull_through_cache_rules_action([] if rules is None else rules))
