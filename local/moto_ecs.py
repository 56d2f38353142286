"""What moto 5 lacks of ECS and layercheck calls: service revisions, the digests a service's deployment pinned.

ECS resolves each container image's tag to a digest once per deployment and records it in the service revision;
every task the deployment starts later runs that digest, whatever the tag names by then. ``DescribeServices`` lists
a service's ``currentServiceRevisions`` (``arn``, task counts) and ``DescribeServiceRevisions`` (at most 20 ARNs a
call) answers each revision's ``containerImages`` (``containerName``, ``image`` as the task definition names it,
``imageDigest``), with ``failures`` for the ARNs it cannot describe (revisions from before late October 2024).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceRevisions.html and
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceCurrentRevisionSummary.html

moto has neither: ``ServiceRevisions.pin`` records a revision of a service moto holds (as a deployment would, with the
digest its tag named then) and sets the service's ``currentServiceRevisions``, which moto then serializes in
``DescribeServices`` like any attribute of the botocore shape; ``service_revisions_action`` answers
``DescribeServiceRevisions`` from the revisions pinned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse

REVISIONS_METHOD = "describe_service_revisions"
MAX_REVISION_ARNS = 20


@dataclass(frozen=True)
class PinnedContainer:
    name: str
    image: str  # as the task definition names it (a tag, usually)
    digest: str  # what the tag named when the deployment resolved it


@dataclass
class ServiceRevisions:
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pin(
        self, account: str, region: str, cluster: str, service_name: str, containers: Sequence[PinnedContainer]
    ) -> str:
        """A new deployment of the service, resolved to these digests: it becomes the service's only current
        revision. Returns the revision's ARN."""
        service: Any = ecs_backends[account][region].services[f"{cluster}:{service_name}"]
        number = sum(revision["serviceArn"] == service.arn for revision in self.revisions.values()) + 1
        arn = f"arn:aws:ecs:{region}:{account}:service-revision/{cluster}/{service_name}/{number}"
        self.revisions[arn] = {
            "serviceRevisionArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "taskDefinition": service.task_definition,
            "containerImages": [
                {"containerName": c.name, "imageDigest": c.digest, "image": c.image} for c in containers
            ],
            "createdAt": datetime.now(UTC).timestamp(),
        }
        count = service.desired_count
        service.current_service_revisions = [
            {"arn": arn, "requestedTaskCount": count, "runningTaskCount": count, "pendingTaskCount": 0}
        ]
        return arn


def service_revisions_action(revisions: ServiceRevisions) -> Callable[[EC2ContainerServiceResponse], str]:
    def describe_service_revisions(self: EC2ContainerServiceResponse) -> str:
        arns = self._get_param("serviceRevisionArns", [])
        if not 1 <= len(arns) <= MAX_REVISION_ARNS:
            raise InvalidParameterException(f"serviceRevisionArns must hold 1 to {MAX_REVISION_ARNS} ARNs")
        return json.dumps(
            {
                "serviceRevisions": [revisions.revisions[arn] for arn in arns if arn in revisions.revisions],
                "failures": [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in revisions.revisions],
            }
        )

    return describe_service_revisions
