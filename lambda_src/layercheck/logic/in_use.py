"""The images in use in one audited account and Region: who references which image of which repository.

Pure logic over one port per source, so that it runs the same in the Lambda, the command line and tests:
- ``EcsPort`` (``integrations/ecs.py``): every cluster's services with the container images of their deployments' task
  definitions (by tag: ``usedBy`` with ``tag``, what the next deployment gets) and the digests their current service
  revisions pinned (``usedBy`` without ``tag``: what every task the deployment starts runs, so a tag moved since is
  two images in use), and the running tasks with the digest ECS resolved for each container
  (``containers[].imageDigest``), which stands in for revisions ECS cannot describe.
  A task a service started (``startedBy`` is one of its deployments' ids) counts for the service, so ``usedBy`` grows
  with services, not with task counts; a standalone task (RunTask, a schedule) counts as ``ecs-task``.
- ``LambdaPort`` (``integrations/lambda_functions.py``): functions with ``PackageType`` ``Image``; the digest Lambda
  resolved at deployment (``Code.ResolvedImageUri``) wins, then a digest in ``ImageUri``, then its tag.
- ``InventoryPort`` (``integrations/inventory_store.py``): unexpired POST /inventory entries for the audited registry.

Discovery (``discover_in_use``) only collects references, by repository: it never calls ECR, so however many images
a report names, a registry's audit finishes in bounded time. Each repository's own audit resolves its references
(``resolve_in_use``) against the listing it makes anyway: a tag to the digest it names now, and a tag or digest the
repository does not hold to a ``GoneImage`` (a MISSING verdict: the workload cannot start a new copy).

Images of registries outside the audit and references that are not ECR private image URIs (Docker Hub,
public.ecr.aws ...) are counted in ``ignored``. A source that fails (access denied ...) is a ``failures`` entry; the
other sources still count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from layercheck.contracts import ecr_codes
from layercheck.errors import LayercheckError
from layercheck.logic.image_uris import ImageUri, parse_image_uri
from layercheck.logic.verdict_build import GoneImage
from layercheck.models.in_use import InUseReference, InventoryEntry, UsedBy, UsedByKind, ordered_users
from layercheck.models.stored import TAG_REFERENCE_PREFIX

SOURCE_ECS = "ecs"
SOURCE_LAMBDA = "lambda"
SOURCE_INVENTORY = "inventory"


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
    # What its current deployments pinned (service revisions' containerImages): the digests every new task runs
    pinned: tuple[EcsContainer, ...] = ()


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
class SourceFailure:
    source: str
    code: str
    message: str


class ElsewhereReference(NamedTuple):
    """A workload here running an image of another audited registry: reported to that registry as it is named (by tag
    or digest, never resolved here: this account's credentials may not read the other registry)."""

    uri: ImageUri
    used_by: UsedBy


@dataclass
class InUseReferences:
    """What the sources reference in the audited registry, by repository name."""

    by_repository: dict[str, list[InUseReference]] = field(default_factory=dict)
    failures: list[SourceFailure] = field(default_factory=list)
    ignored: int = 0  # references outside the audited registries or not ECR private image URIs
    elsewhere: list[ElsewhereReference] = field(default_factory=list)  # images of other audited registries

    @property
    def count(self) -> int:
        return sum(len(references) for references in self.by_repository.values())


def discover_in_use(
    audit: RegistryRef,
    *,
    ecs: EcsPort | None,
    lambda_functions: LambdaPort | None,
    inventory: InventoryPort | None,
    elsewhere: Callable[[RegistryRef], bool] | None = None,
) -> InUseReferences:
    """Who references which image of ``audit``'s repositories (a ``None`` source is not read). ``elsewhere``: the
    other registries whose references are collected in the answer's ``elsewhere``, for their own audits
    (logic/org_audit.py reports them to those registries' inventories)."""
    answer = InUseReferences()

    def add(text: str, used_by: UsedBy, digest: str | None = None) -> None:
        uri = parse_image_uri(text)
        if not isinstance(uri, ImageUri):
            answer.ignored += 1
            return
        registry = RegistryRef(uri.registry_id, uri.region)
        digest = digest or uri.image_digest
        if registry == audit:
            user = used_by if digest else used_by.model_copy(update={"tag": uri.image_tag})
            answer.by_repository.setdefault(uri.repository_name, []).append(
                InUseReference(imageDigest=digest, usedBy=user)
            )
        elif elsewhere is not None and elsewhere(registry):
            if digest is not None:
                uri = ImageUri(uri.registry_id, uri.region, uri.repository_name, uri.image_tag, digest, uri.host)
            answer.elsewhere.append(ElsewhereReference(uri, used_by))
        else:
            answer.ignored += 1

    if ecs is not None:
        _read(answer, SOURCE_ECS, lambda: _ecs_references(ecs, add))
    if lambda_functions is not None:
        _read(answer, SOURCE_LAMBDA, lambda: _lambda_references(lambda_functions, add))
    if inventory is not None:
        _read(answer, SOURCE_INVENTORY, lambda: _inventory_references(inventory, audit, answer))
    return answer


def _read(answer: InUseReferences, source: str, read: Callable[[], None]) -> None:
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
        user = UsedBy(kind=UsedByKind.ECS_SERVICE, id=service.arn)
        for image in service.images:  # by tag: what the next deployment gets
            add(image, user)
        for container in service.pinned:  # by digest: what the current deployment runs, whatever the tag names now
            add(container.image, user, container.image_digest)
    for task in workloads.tasks:
        owner = service_of_deployment.get(task.started_by or "")
        used_by = (
            UsedBy(kind=UsedByKind.ECS_SERVICE, id=owner) if owner else UsedBy(kind=UsedByKind.ECS_TASK, id=task.arn)
        )
        for container in task.containers:
            add(container.image, used_by, container.image_digest)


def _lambda_references(functions: LambdaPort, add: _Add) -> None:
    for function in functions.list_image_functions():
        used_by = UsedBy(kind=UsedByKind.LAMBDA_FUNCTION, id=function.arn)
        resolved = parse_image_uri(function.resolved_image_uri) if function.resolved_image_uri else None
        if isinstance(resolved, ImageUri) and resolved.image_digest:
            add(function.image_uri, used_by, resolved.image_digest)
        else:
            add(function.image_uri, used_by)


def _inventory_references(inventory: InventoryPort, audit: RegistryRef, answer: InUseReferences) -> None:
    for entry in inventory.list_entries(audit.registry_id, audit.region):
        # An entry another registry's audit reported (a workload there on this registry's image) names that workload.
        answer.by_repository.setdefault(entry.repositoryName, []).append(
            InUseReference(imageDigest=entry.imageDigest, usedBy=entry.user())
        )


# -- a repository's references, resolved against what it holds -------------------------------------------------------


@dataclass(frozen=True)
class ResolvedInUse:
    """``users``: who runs each image, by reference (a digest, or ``tag:<tag>`` for a tag that names nothing), users
    ordered discovered first; ``gone``: what the references name that the repository does not hold."""

    users: dict[str, list[UsedBy]]
    held: list[str]  # digests in use that the repository holds, in first-seen order
    gone: list[GoneImage]


def resolve_in_use(
    references: Sequence[InUseReference],
    tags: Mapping[str, str],
    held: Collection[str],
    *,
    gone_code: str = ecr_codes.IMAGE_NOT_FOUND_EXCEPTION,
    unresolved: Collection[str] = (),
) -> ResolvedInUse:
    """Resolve a repository's references against its listing: ``tags`` (tag → digest) and ``held`` (its digests).
    A repository that does not exist holds nothing (``gone_code`` says why). ``unresolved``: tags whose digest is not
    known either way (their lookup failed): left out, neither in use nor gone."""
    users: dict[str, list[UsedBy]] = defaultdict(list)
    gone_digests: dict[str, None] = {}
    gone_tags: dict[str, None] = {}
    for reference in references:
        tag = reference.usedBy.tag
        digest = reference.imageDigest or (tags.get(tag) if tag else None)
        if digest is None and tag in unresolved:
            continue
        if digest is not None:
            users[digest].append(reference.usedBy)
            if digest not in held:
                gone_digests[digest] = None
        elif tag:
            users[f"{TAG_REFERENCE_PREFIX}{tag}"].append(reference.usedBy)
            gone_tags[tag] = None
    gone = [
        GoneImage(digest, (), gone_code, f"the repository no longer holds {digest}, which a workload runs")
        for digest in gone_digests
    ] + [
        GoneImage(None, (tag,), gone_code, f"the tag {tag} a workload names resolves to no image") for tag in gone_tags
    ]
    held_in_use = [digest for digest in users if digest in held]
    return ResolvedInUse({key: _merged(found) for key, found in users.items()}, held_in_use, gone)


def _merged(users: Iterable[UsedBy]) -> list[UsedBy]:
    """Each workload once (one naming the image by tag is kept over the same one naming its digest), discovered
    workloads first."""
    by_workload: dict[tuple[str, str, str | None], UsedBy] = {}
    for user in users:
        key = (user.kind, user.id, user.reportedBy)
        if key not in by_workload or (user.tag and not by_workload[key].tag):
            by_workload[key] = user
    return ordered_users(by_workload.values())
