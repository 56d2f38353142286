"""What moto 5 lacks of ECR and layercheck calls: ``DescribePullThroughCacheRules`` and
``DescribeImageReplicationStatus`` (moto raises NotImplementedError, which a moto server turns into a 500 that
botocore retries for a second before giving up, and ``mock_aws`` raises into the caller).

moto dispatches an action to the method of its response class named after it, so teaching it the action is one
attribute. ``teach_pull_through_cache_rules`` answers in ECR's shape from a list the caller controls; the local
servers (demo, serve, e2e) answer as a registry without pull-through cache rules does: an empty list.
``teach_image_replication_status`` answers as ECR does once it has replicated every image its rules cover (see
``image_replication_status_action``); a test names the images for which ECR says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ecr.models import ecr_backends
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


# -- DescribeImageReplicationStatus ----------------------------------------------------------------------------------

REPLICATION_STATUS_METHOD = "describe_image_replication_status"
# What a test makes ECR say about one image (by digest): its ``replicationStatuses`` entries, or an error code.
ReplicationAnswers = dict[str, list[dict[str, str]] | str]


class _StandInError(ServiceException):
    code = "AccessDeniedException"


def _error(code: str, message: str) -> ServiceException:
    error = _StandInError(message)
    error.code = code
    return error


def _scheduled_destinations(backend: Any, account: str, region: str, repository_name: str) -> list[dict[str, str]]:
    """The destinations of the registry's rules whose filters match the repository (none: every repository), each
    once, never the source itself: where ECR copies an image pushed after the rules existed."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for rule in backend.replication_config.get("rules", []):
        filters = rule.get("repositoryFilters") or []
        if filters and not any(repository_name.startswith(f.get("filter", "")) for f in filters):
            continue
        for destination in rule.get("destinations", []):
            key = (destination["region"], destination["registryId"])
            if key != (region, account):
                found.setdefault(key, {"region": key[0], "registryId": key[1]})
    return list(found.values())


def image_replication_status_action(answers: ReplicationAnswers) -> Callable[[ECRResponse], str]:
    """The action's method. An image named in ``answers`` gets what is written there (entries, or an error code);
    any other image of a repository that the registry's rules replicate is ``COMPLETE`` at each destination, as ECR
    answers once it has copied an image pushed after the rules (moto copies nothing: tests stage the copies they
    need, or leave them out to stand for a copy a destination's lifecycle policy deleted). A repository or image
    moto does not hold is ECR's ``RepositoryNotFoundException`` / ``ImageNotFoundException``. ``answers`` is read
    at each call, so a caller may change it afterwards."""

    def describe_image_replication_status(self: ECRResponse) -> str:
        name = self._get_param("repositoryName")
        image_id = self._get_param("imageId") or {}
        account = self._get_param("registryId") or self.current_account
        backend = ecr_backends[account][self.region]
        repository = backend._get_repository(name, account)  # raises RepositoryNotFoundException
        image = repository._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))  # ImageNotFound...
        digest = image.get_image_digest()
        answer = answers.get(digest)
        if isinstance(answer, str):
            raise _error(answer, f"stand-in: {answer} for {name}@{digest}")
        if answer is None:
            scheduled = _scheduled_destinations(backend, account, self.region, name)
            answer = [{**destination, "status": "COMPLETE"} for destination in scheduled]
        return json.dumps(
            {
                "repositoryName": name,
                "imageId": {
                    "imageDigest": digest,
                    **({"imageTag": image_id["imageTag"]} if "imageTag" in image_id else {}),
                },
                "replicationStatuses": answer,
            }
        )

    return describe_image_replication_status


def teach_image_replication_status(answers: ReplicationAnswers | None = None) -> None:
    """Teach moto ``DescribeImageReplicationStatus`` for this whole process (a local moto server runs in it)."""
    setattr(ECRResponse, REPLICATION_STATUS_METHOD, image_replication_status_action({} if answers is None else answers))
