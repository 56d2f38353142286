"""The images in use in one audited account and Region: who references which image of which repository.

Pure logic over a list of sources, each behind one small protocol (``InUseSource``), so that it runs the same in the
Lambda, the command line and tests. A source has a ``name`` and yields the references it finds (``FoundReference``:
the image as the workload names it, who runs it, the digest it runs when the source knows it). Today's sources, each
in its own integration module with the factory that makes it for one registry (``SourceReach``): ECS services and
tasks (``integrations/ecs.py``), Lambda image functions (``integrations/lambda_functions.py``) and the unexpired
POST /inventory entries (``integrations/inventory_store.py``). The composition root lists the factories
(``dependencies.in_use_sources``), in the order their users are named.

Discovery (``discover_in_use``) only collects references, by repository: it never calls ECR, so however many images
a report names, a registry's audit finishes in bounded time. Each repository's own audit resolves its references
(``resolve_in_use``) against the listing it makes anyway: a tag to the digest it names now, and a tag or digest the
repository does not hold to a ``GoneImage`` (a MISSING verdict: the workload cannot start a new copy).

Images of registries outside the audit and references that are not ECR private image URIs (Docker Hub,
public.ecr.aws ...) are counted in ``ignored``. A source that fails (access denied ...) is a ``failures`` entry under
its name; what it yielded before still counts, and so do the other sources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from layercheck.contracts import ecr_codes
from layercheck.errors import LayercheckError
from layercheck.logic.image_uris import ImageUri, parse_image_uri
from layercheck.logic.verdict_build import GoneImage
from layercheck.models.in_use import InUseReference, InventoryEntry, UsedBy, ordered_users
from layercheck.models.stored import TAG_REFERENCE_PREFIX


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


# -- the sources ---------------------------------------------------------------------------------------------------


class FoundReference(NamedTuple):
    """One image a source found in use: as the workload names it (a URI's text, or one already parsed), who runs it,
    and the digest it runs when the source knows it (ECS's resolved digest, Lambda's ``ResolvedImageUri``), which
    wins over the URI's."""

    image: str | ImageUri
    used_by: UsedBy
    digest: str | None = None


class InUseSource(Protocol):
    """One source of ``usedBy``: ``name`` names it in ``failures``."""

    @property
    def name(self) -> str: ...

    def references(self, registry: RegistryRef) -> Iterable[FoundReference]:
        """What it finds in use where it reads (images of other registries included: discovery sorts them out);
        raises ``InUseSourceError`` when it cannot be read (what it yielded before still counts)."""
        ...


class InventoryPort(Protocol):
    def list_entries(self, registry_id: str, region: str) -> Iterator[InventoryEntry]:
        """Unexpired inventory entries for images of that registry; raises ``InUseSourceError``."""
        ...


@dataclass(frozen=True)
class SourceReach:
    """What a source's factory is handed to read one registry. ``client(service_name)``: that account's client of an
    AWS service in the registry's Region (botocore's name, ``"ecs"``), made once per container; ``inventory``: the
    entries POST /inventory keeps, None on the command line (it has no table)."""

    registry: RegistryRef
    client: Callable[[str], Any]
    inventory: InventoryPort | None = None


# Makes one source for one registry, or None when it has nothing to read there (no inventory on the command line).
InUseSourceFactory = Callable[[SourceReach], InUseSource | None]


def sources_for(reach: SourceReach, factories: Iterable[InUseSourceFactory]) -> tuple[InUseSource, ...]:
    """The sources the factories make for one registry, in the factories' order."""
    made = (factory(reach) for factory in factories)
    return tuple(source for source in made if source is not None)


@dataclass(frozen=True)
class TagAnswer:
    digests: dict[str, str] = field(default_factory=dict)  # tag -> digest
    missing: dict[str, str] = field(default_factory=dict)  # tag -> ECR's code (ImageNotFoundException)


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
    sources: Sequence[InUseSource],
    *,
    elsewhere: Callable[[RegistryRef], bool] | None = None,
) -> InUseReferences:
    """Who references which image of ``audit``'s repositories, source after source in the list's order.
    ``elsewhere``: the other registries whose references are collected in the answer's ``elsewhere``, for their own
    audits (logic/org_audit.py reports them to those registries' inventories)."""
    answer = InUseReferences()
    for source in sources:
        try:
            for found in source.references(audit):
                _sort(answer, audit, found, elsewhere)
        except InUseSourceError as error:
            answer.failures.append(SourceFailure(source.name, error.code, error.message))
    return answer


def _sort(
    answer: InUseReferences, audit: RegistryRef, found: FoundReference, elsewhere: Callable[[RegistryRef], bool] | None
) -> None:
    """One reference into the audited registry's repositories, the other audited registries' list, or ``ignored``."""
    uri = parse_image_uri(found.image) if isinstance(found.image, str) else found.image
    if not isinstance(uri, ImageUri):
        answer.ignored += 1
        return
    registry = RegistryRef(uri.registry_id, uri.region)
    digest = found.digest or uri.image_digest
    if registry == audit:
        user = found.used_by if digest else found.used_by.model_copy(update={"tag": uri.image_tag})
        answer.by_repository.setdefault(uri.repository_name, []).append(InUseReference(imageDigest=digest, usedBy=user))
    elif elsewhere is not None and elsewhere(registry):
        if digest is not None:
            uri = ImageUri(uri.registry_id, uri.region, uri.repository_name, uri.image_tag, digest, uri.host)
        answer.elsewhere.append(ElsewhereReference(uri, found.used_by))
    else:
        answer.ignored += 1


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
