"""The images in use in one audited account and Region, by digest, with who uses each (``usedBy``).

Pure logic over one port per source, so that it runs the same in the Lambda, the benchmark and tests:
- ``EcsPort`` (``integrations/ecs.py``): every cluster's services with the container images of their deployments' task
  definitions, and the running tasks with the digest ECS resolved for each container (``containers[].imageDigest``).
  A task a service started (``startedBy`` is one of its deployments' ids) counts for the service, so ``usedBy`` grows
  with services, not with task counts; a standalone task (RunTask, a schedule) counts as ``ecs-task``.
- ``LambdaPort`` (``integrations/lambda_functions.py``): functions with ``PackageType`` ``Image``; the digest Lambda
  resolved at deployment (``Code.ResolvedImageUri``) wins, then a digest in ``ImageUri``, then its tag.
- ``InventoryPort`` (``integrations/inventory_store.py``): unexpired POST /inventory entries for the audited registry.
- ``TagResolverPort`` (``integrations/ecr_tags.py``): tags to digests (DescribeImages, 100 tags per call, one call
  per repository, never BatchGetImage, which would record a pull).

Images of registries outside ``audited_registries`` and references that are not ECR private image URIs (Docker Hub,
public.ecr.aws ...) are counted in ``ignored``, never resolved. A tag ECR does not hold is ``unresolved`` with ECR's
code: the workload cannot start a new copy (scale-out, replacement), which the audit should report. A transient error
while resolving (throttling, 5xx) raises ``TransientCheckError``: the caller's work item is retried. A source that
fails (access denied ...) is a ``failures`` entry; the other sources still count.

Wiring (phase B): the audit's start, per audited (account, Region), builds the four adapters with that account's
credentials and Region, calls ``discover_in_use`` first, checks the answer's images before the scoped ones (whatever
the scope), and stores each verdict with ``usedBy=answer.images[key]``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from layercheck.errors import LayercheckError, RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.image_uris import ImageUri, parse_image_uri
from layercheck.models.in_use import InUseImage, InventoryEntry, UsedBy

SOURCE_ECS = "ecs"
SOURCE_LAMBDA = "lambda"
SOURCE_INVENTORY = "inventory"

# ECR's codes for an image (or its repository) that is gone: DescribeImages' exception, BatchGetImage's failure code,
# and the repository's. A workload on such an image cannot start a new copy (scale-out, rollback, node replacement).
IMAGE_GONE_CODES = frozenset({"ImageNotFoundException", "ImageNotFound", "RepositoryNotFoundException"})


def image_gone(code: str | None) -> bool:
    return code in IMAGE_GONE_CODES


class InUseSourceError(LayercheckError):
    """A source of in-use images could not be read (``code`` is the service's error code verbatim)."""

    def __init__(self, source: str, code: str, message: str) -> None:
        super().__init__(f"{source}: {code}: {message}")
        self.source = source
        self.code = code
        self.message = message


class RegistryRef(NamedTuple):
    registry_id: str
    region: str


# -- what the sources report -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EcsService:
    arn: str
    images: tuple[str, ...]  # container images of every deployment's task definition (primary and rolling-out ones)
    deployment_ids: tuple[str, ...] = ()  # "ecs-svc/..." ids: the startedBy of the tasks this service runs


@dataclass(frozen=True)
class EcsContainer:
    image: str  # as the task definition names it
    image_digest: str | None = None  # the digest ECS resolved when the task started, when it reports one


@dataclass(frozen=True)
class EcsTask:
    arn: str
    containers: tuple[EcsContainer, ...]
    started_by: str | None = None


@dataclass(frozen=True)
class EcsWorkloads:
    services: tuple[EcsService, ...] = ()
    tasks: tuple[EcsTask, ...] = ()


@dataclass(frozen=True)
class LambdaImageFunction:
    arn: str  # qualified with the version when it is not $LATEST
    image_uri: str
    resolved_image_uri: str | None = None


@dataclass(frozen=True)
class TagAnswer:
    digests: dict[str, str] = field(default_factory=dict)  # tag -> digest
    missing: dict[str, str] = field(default_factory=dict)  # tag -> ECR's code (ImageNotFoundException)


class EcsPort(Protocol):
    def list_workloads(self) -> EcsWorkloads:
        """Every cluster's services and running tasks; raises ``InUseSourceError``."""
        ...


class LambdaPort(Protocol):
    def list_image_functions(self) -> Iterator[LambdaImageFunction]:
        """Functions (and aliased versions) whose package is an image; raises ``InUseSourceError``."""
        ...


class InventoryPort(Protocol):
    def list_entries(self, registry_id: str, region: str) -> Iterator[InventoryEntry]:
        """Unexpired inventory entries for images of that registry; raises ``InUseSourceError``."""
        ...


class TagResolverPort(Protocol):
    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        """Each tag's digest, or ECR's code for it; raises ``RepositoryCheckError`` for the whole repository."""
        ...


# -- the answer ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnresolvedImage:
    """A tag in use that ECR could not resolve: the workloads on it cannot start a new copy."""

    registry_id: str
    region: str
    repository_name: str
    image_tag: str
    code: str
    used_by: tuple[UsedBy, ...]


@dataclass(frozen=True)
class SourceFailure:
    source: str
    code: str
    message: str


class _Reference(NamedTuple):
    uri: ImageUri
    used_by: UsedBy


# A workload here running an image of another audited registry: reported to that registry as it is named (by tag or
# digest, never resolved here: this account's credentials may not read the other registry).
ElsewhereReference = _Reference


@dataclass
class InUseImages:
    images: dict[InUseImage, list[UsedBy]] = field(default_factory=dict)
    unresolved: list[UnresolvedImage] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    ignored: int = 0  # references outside the audited registries or not ECR private image URIs
    elsewhere: list[ElsewhereReference] = field(default_factory=list)  # images of other audited registries

    def used_by(self, image: InUseImage) -> list[UsedBy]:
        return self.images.get(image, [])


def discover_in_use(
    audit: RegistryRef,
    *,
    ecs: EcsPort | None,
    lambda_functions: LambdaPort | None,
    inventory: InventoryPort | None,
    tags: TagResolverPort,
    audited_registries: Iterable[RegistryRef] = (),
    elsewhere: Callable[[RegistryRef], bool] | None = None,
) -> InUseImages:
    """The images in use in ``audit``'s account and Region (a ``None`` source is not read).

    ``audited_registries``: the registries whose images count (default: ``audit`` alone); an ECS task in us-east-1 may
    run an image of the same account's eu-west-1 registry, which counts when that registry is audited too.
    ``elsewhere``: the other registries whose images are collected in the answer's ``elsewhere``, unresolved, for
    their own audits (logic/org_audit.py reports them to those registries' inventories)."""
    answer = InUseImages()
    kept = frozenset(audited_registries) | {audit}
    references: list[_Reference] = []

    def add(text: str, used_by: UsedBy, digest: str | None = None) -> None:
        uri = parse_image_uri(text)
        if not isinstance(uri, ImageUri):
            answer.ignored += 1
            return
        if digest is not None:
            uri = ImageUri(uri.registry_id, uri.region, uri.repository_name, uri.image_tag, digest, uri.host)
        registry = RegistryRef(uri.registry_id, uri.region)
        if registry in kept:
            references.append(_Reference(uri, used_by))
        elif elsewhere is not None and elsewhere(registry):
            answer.elsewhere.append(_Reference(uri, used_by))
        else:
            answer.ignored += 1

    if ecs is not None:
        _read(answer, SOURCE_ECS, lambda: _ecs_references(ecs, add))
    if lambda_functions is not None:
        _read(answer, SOURCE_LAMBDA, lambda: _lambda_references(lambda_functions, add))
    if inventory is not None:
        _read(answer, SOURCE_INVENTORY, lambda: _inventory_references(inventory, audit, references))
    _resolve(references, tags, answer)
    return answer


def _read(answer: InUseImages, source: str, read: Callable[[], None]) -> None:
    try:
        read()
    except InUseSourceError as error:
        answer.failures.append(SourceFailure(source, error.code, error.message))


class _Add(Protocol):
    def __call__(self, text: str, used_by: UsedBy, digest: str | None = None) -> None: ...


def _ecs_references(ecs: EcsPort, add: _Add) -> None:
    workloads = ecs.list_workloads()
    service_of_deployment = {
        deployment: service.arn for service in workloads.services for deployment in service.deployment_ids
    }
    for service in workloads.services:
        for image in service.images:
            add(image, UsedBy(kind="ecs-service", id=service.arn))
    for task in workloads.tasks:
        owner = service_of_deployment.get(task.started_by or "")
        used_by = UsedBy(kind="ecs-service", id=owner) if owner else UsedBy(kind="ecs-task", id=task.arn)
        for container in task.containers:
            add(container.image, used_by, container.image_digest)


def _lambda_references(functions: LambdaPort, add: _Add) -> None:
    for function in functions.list_image_functions():
        used_by = UsedBy(kind="lambda-function", id=function.arn)
        resolved = parse_image_uri(function.resolved_image_uri) if function.resolved_image_uri else None
        if isinstance(resolved, ImageUri) and resolved.image_digest:
            add(function.image_uri, used_by, resolved.image_digest)
        else:
            add(function.image_uri, used_by)


def _inventory_references(inventory: InventoryPort, audit: RegistryRef, references: list[_Reference]) -> None:
    for entry in inventory.list_entries(audit.registry_id, audit.region):
        uri = ImageUri(entry.registryId, entry.region, entry.repositoryName, entry.imageTag, entry.imageDigest)
        # An entry another registry's audit reported (a workload there on this registry's image) names that workload.
        references.append(_Reference(uri, entry.usedBy or UsedBy(kind="inventory", id=entry.source)))


def _resolve(references: Sequence[_Reference], tags: TagResolverPort, answer: InUseImages) -> None:
    by_tag: dict[tuple[str, str, str], dict[str, list[UsedBy]]] = defaultdict(lambda: defaultdict(list))
    for uri, used_by in references:
        if uri.image_digest is None:
            by_tag[(uri.registry_id, uri.region, uri.repository_name)][uri.image_tag or ""].append(used_by)
    resolved: dict[tuple[str, str, str, str], str] = {}
    for (registry_id, region, repository), users in by_tag.items():
        try:
            tag_answer = tags.resolve_tags(registry_id, region, repository, list(users))
        except RepositoryCheckError as error:
            if is_transient(error.code):
                # Throttling or a 5xx says nothing about the tags: the registry item is retried, not told "unresolved".
                raise TransientCheckError(repository, [error.code]) from error
            tag_answer = TagAnswer(missing=dict.fromkeys(users, error.code))
        for tag, tag_users in users.items():
            digest = tag_answer.digests.get(tag)
            if digest is None:
                code = tag_answer.missing.get(tag, "ImageNotFoundException")
                answer.unresolved.append(
                    UnresolvedImage(registry_id, region, repository, tag, code, tuple(_unique(tag_users)))
                )
            else:
                resolved[(registry_id, region, repository, tag)] = digest
    for uri, used_by in references:
        digest = uri.image_digest or resolved.get(
            (uri.registry_id, uri.region, uri.repository_name, uri.image_tag or "")
        )
        if digest is not None:
            users_of_image = answer.images.setdefault(
                InUseImage(uri.registry_id, uri.region, uri.repository_name, digest), []
            )
            if used_by not in users_of_image:
                users_of_image.append(used_by)


def _unique(items: Iterable[UsedBy]) -> list[UsedBy]:
    return list(dict.fromkeys(items))
