"""Amazon ECS: the only module that talks to it, and the in-use source over it (``EcsInUse``, made for each audited
registry by ``in_use_source``). Lists the container images that services and running tasks use, every page, in
batches of each API's limit.

Per cluster: ListServices → DescribeServices (10 per call) → DescribeTaskDefinition once per distinct task definition
(a revision never changes, so a service's old and new deployments and services sharing one cost one call each);
the services' ``currentServiceRevisions`` → DescribeServiceRevisions (20 per call) for the digests each deployment
pinned (``containerImages[].imageDigest``: what every task the deployment starts runs, whatever the tag names now);
and ListTasks (RUNNING) → DescribeTasks (100 per call) for the digest ECS resolved when each container started, which
stands in for revisions ECS cannot describe (created before late October 2024: ``failures``).

As an in-use source: a service is named by the images of its deployments' task definitions (by tag: ``usedBy`` with
``tag``, what the next deployment gets) and by the digests its current service revisions pinned (``usedBy`` without
``tag``: what every task the deployment starts runs, so a tag moved since is two images in use); a running task by the
digest ECS resolved for each container. A task a service started (``startedBy`` is one of its deployments' ids) counts
for the service, so ``usedBy`` grows with services, not with task counts; a standalone task (RunTask, a schedule)
counts as ``ecs-task``.

``in_use_source`` builds ``EcsInUse(EcsInventory(ecs_client))`` per audited account and Region (the reader role's
credentials in another account). IAM: ecs:ListClusters and ecs:DescribeTaskDefinition support no resource type
(``*``, with a cdk-nag reason); ecs:ListServices and ecs:ListTasks take ``*`` narrowed by the ``ecs:cluster``
condition key; ecs:DescribeServices on ``arn:<partition>:ecs:<region>:<account>:service/*``, ecs:DescribeTasks on
``...:task/*`` and ecs:DescribeServiceRevisions on ``...:service-revision/*``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import control_plane_config
from layercheck.integrations.aws_errors import code_and_message
from layercheck.logic.in_use import FoundReference, InUseSourceError, RegistryRef, SourceReach
from layercheck.models.in_use import UsedBy, UsedByKind

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListClusters.html (maxResults 1-100), ListServices and
# ListTasks (1-100), DescribeServices (up to 10 services), DescribeTasks (up to 100 tasks).
MAX_CLUSTERS_PER_PAGE = 100
MAX_SERVICES_PER_PAGE = 100
MAX_TASKS_PER_PAGE = 100
MAX_SERVICES_PER_DESCRIBE = 10
MAX_TASKS_PER_DESCRIBE = 100
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceRevisions.html: at most 20 ARNs.
MAX_REVISIONS_PER_DESCRIBE = 20
INACTIVE = "INACTIVE"
SOURCE_ECS = "ecs"


@dataclass(frozen=True)
class EcsContainer:
    image: str  # as the task definition names it
    image_digest: str | None = None  # the digest ECS resolved when the task started, when it reports one


@dataclass(frozen=True)
class EcsService:
    arn: str
    images: tuple[str, ...]  # container images of every deployment's task definition (primary and rolling-out ones)
    deployment_ids: tuple[str, ...] = ()  # "ecs-svc/..." ids: the startedBy of the tasks this service runs
    # What its current deployments pinned (service revisions' containerImages): the digests every new task runs
    pinned: tuple[EcsContainer, ...] = ()


@dataclass(frozen=True)
class EcsTask:
    arn: str
    containers: tuple[EcsContainer, ...]
    started_by: str | None = None


@dataclass(frozen=True)
class EcsWorkloads:
    services: tuple[EcsService, ...] = ()
    tasks: tuple[EcsTask, ...] = ()


class EcsPort(Protocol):
    def list_workloads(self) -> EcsWorkloads:
        """Every cluster's services and running tasks; raises ``InUseSourceError``."""
        ...


def new_client(region_name: str | None = None) -> ECSClient:
    client: ECSClient = boto3.client(
        "ecs",
        region_name=region_name,
        config=control_plane_config(),
    )
    return client


def translate_error(error: ClientError | BotoCoreError) -> InUseSourceError:
    return InUseSourceError(SOURCE_ECS, *code_and_message(error))


class EcsInventory:
    """``EcsPort`` over one ECS client (one account and Region)."""

    def __init__(self, client: ECSClient | None = None) -> None:
        self._client = client or new_client()

    def list_workloads(self) -> EcsWorkloads:
        services: list[EcsService] = []
        tasks: list[EcsTask] = []
        images_of_task_definition: dict[str, tuple[str, ...]] = {}
        try:
            for cluster in self._cluster_arns():
                services.extend(self._services(cluster, images_of_task_definition))
                tasks.extend(self._running_tasks(cluster))
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error
        return EcsWorkloads(services=tuple(services), tasks=tuple(tasks))

    def _cluster_arns(self) -> Iterator[str]:
        pages = self._client.get_paginator("list_clusters").paginate(
            PaginationConfig={"PageSize": MAX_CLUSTERS_PER_PAGE}
        )
        for page in pages:
            yield from page.get("clusterArns", [])

    def _services(self, cluster: str, images_of_task_definition: dict[str, tuple[str, ...]]) -> Iterator[EcsService]:
        pages = self._client.get_paginator("list_services").paginate(
            cluster=cluster, PaginationConfig={"PageSize": MAX_SERVICES_PER_PAGE}
        )
        service_arns = [arn for page in pages for arn in page.get("serviceArns", [])]
        described: list[Any] = []
        for start in range(0, len(service_arns), MAX_SERVICES_PER_DESCRIBE):
            chunk = service_arns[start : start + MAX_SERVICES_PER_DESCRIBE]
            # Services deleted since the listing come back in "failures" (MISSING): nobody runs them any more.
            found = self._client.describe_services(cluster=cluster, services=chunk).get("services", [])
            described += [service for service in found if service.get("status") != INACTIVE]
        revision_arns = [r["arn"] for service in described for r in service.get("currentServiceRevisions", [])]
        pinned = self._pinned_images(revision_arns)
        for service in described:
            definitions = [service.get("taskDefinition", "")]
            definitions += [deployment.get("taskDefinition", "") for deployment in service.get("deployments", [])]
            images: dict[str, None] = {}
            for definition in dict.fromkeys(filter(None, definitions)):
                if definition not in images_of_task_definition:
                    images_of_task_definition[definition] = self._task_definition_images(definition)
                images.update(dict.fromkeys(images_of_task_definition[definition]))
            deployment_ids = tuple(d["id"] for d in service.get("deployments", []) if d.get("id"))
            yield EcsService(
                arn=service["serviceArn"],
                images=tuple(images),
                deployment_ids=deployment_ids,
                pinned=tuple(dict.fromkeys(pinned.get(service["serviceArn"], []))),
            )

    def _pinned_images(self, revision_arns: list[str]) -> dict[str, list[EcsContainer]]:
        """Each service's pinned container images (by service ARN), from its current revisions. A revision ECS cannot
        describe is left out (the running tasks' digests stand in), and so is every revision when the call is refused
        (a reader role deployed before it was granted): discovery goes on without them."""
        pinned: dict[str, list[EcsContainer]] = {}
        for start in range(0, len(revision_arns), MAX_REVISIONS_PER_DESCRIBE):
            chunk = revision_arns[start : start + MAX_REVISIONS_PER_DESCRIBE]
            try:
                answer = self._client.describe_service_revisions(serviceRevisionArns=chunk)
            except ClientError:
                return pinned
            for revision in answer.get("serviceRevisions", []):
                pinned.setdefault(revision.get("serviceArn", ""), []).extend(
                    EcsContainer(image=c["image"], image_digest=c.get("imageDigest"))
                    for c in revision.get("containerImages", [])
                    if c.get("image") and c.get("imageDigest")
                )
        return pinned

    def _task_definition_images(self, task_definition: str) -> tuple[str, ...]:
        described = self._client.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        return tuple(dict.fromkeys(c["image"] for c in described.get("containerDefinitions", []) if c.get("image")))

    def _running_tasks(self, cluster: str) -> Iterator[EcsTask]:
        pages = self._client.get_paginator("list_tasks").paginate(
            cluster=cluster, desiredStatus="RUNNING", PaginationConfig={"PageSize": MAX_TASKS_PER_PAGE}
        )
        task_arns = [arn for page in pages for arn in page.get("taskArns", [])]
        for start in range(0, len(task_arns), MAX_TASKS_PER_DESCRIBE):
            chunk = task_arns[start : start + MAX_TASKS_PER_DESCRIBE]
            # Tasks stopped since the listing may come back in "failures" (MISSING): nothing runs them any more.
            for task in self._client.describe_tasks(cluster=cluster, tasks=chunk).get("tasks", []):
                containers = tuple(
                    EcsContainer(image=container["image"], image_digest=container.get("imageDigest"))
                    for container in task.get("containers", [])
                    if container.get("image")
                )
                yield EcsTask(arn=task["taskArn"], containers=containers, started_by=task.get("startedBy"))


class EcsInUse:
    """``logic.in_use.InUseSource`` over ECS's workloads in one account and Region."""

    name = SOURCE_ECS

    def __init__(self, ecs: EcsPort) -> None:
        self._ecs = ecs

    def references(self, registry: RegistryRef) -> Iterator[FoundReference]:
        workloads = self._ecs.list_workloads()
        service_of_deployment = {
            deployment: service.arn for service in workloads.services for deployment in service.deployment_ids
        }
        for service in workloads.services:
            user = UsedBy(kind=UsedByKind.ECS_SERVICE, id=service.arn)
            for image in service.images:  # by tag: what the next deployment gets
                yield FoundReference(image, user)
            for pinned in service.pinned:  # by digest: what the current deployment runs, whatever the tag names now
                yield FoundReference(pinned.image, user, pinned.image_digest)
        for task in workloads.tasks:
            owner = service_of_deployment.get(task.started_by or "")
            used_by = (
                UsedBy(kind=UsedByKind.ECS_SERVICE, id=owner)
                if owner
                else UsedBy(kind=UsedByKind.ECS_TASK, id=task.arn)
            )
            for container in task.containers:
                yield FoundReference(container.image, used_by, container.image_digest)


def in_use_source(reach: SourceReach) -> EcsInUse:
    """ECS as an in-use source of one registry's account and Region."""
    return EcsInUse(EcsInventory(reach.client("ecs")))
