"""POST /images/checks: images named by tag or digest, checked as the push check checks one, answered in request order.

Per repository (in the order the request first names it): the tags are resolved to digests (DescribeImages, which
records no pull), every digest is described for its current tags and storage status, and the images are judged and
stored in one ``ImageCheckService.check_images`` call, so blobs shared between them are checked once.

Only images ``DescribeImages`` returned are stored or announced. What cannot be judged is answered, not refused, as an
``UncheckedImage`` (not stored, no change event): an image ECR says does not exist (a tag or digest the repository
does not hold: ``ImageNotFoundException``; a repository that does not exist: ``RepositoryNotFoundException``) or that
ECR would not describe (``AccessDeniedException`` ...), as there is no image known to keep the latest state of and
storing it would let any caller fill the status index and the bus with made-up digests; an image the API's deadline
or its blob budget left unchecked, or that met an ECR error a retry may pass: nothing half-judged is ever stored over
a real verdict. One exception: an image layercheck already has a verdict of, that ECR says is gone, is ``MISSING``
(stored and announced: it was deleted). An image ECR describes but whose manifests cannot be read is judged
``UNCHECKED`` and stored with the reason, as the push check stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from layercheck.contracts import ecr_codes
from layercheck.errors import RepositoryCheckError, TransientCheckError, raise_if_transient
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.check import DEADLINE_EXCEEDED_CODE
from layercheck.logic.digests import unique_in_order
from layercheck.logic.failure_text import bounded_code, bounded_reason
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService, combined
from layercheck.logic.images import ImageRef
from layercheck.logic.in_use import TagAnswer
from layercheck.logic.replica_probe import REPOSITORY_NOT_FOUND
from layercheck.logic.verdict_build import GoneImage
from layercheck.models.images_api import ImageCheckVerdict, ImageIdentifier, UncheckedImage
from layercheck.models.stored import Source, StoredImageVerdict, iso_utc, utc_now
from layercheck.models.verdicts import CheckSummary

DEADLINE_EXCEEDED_REASON = "not checked: the request's time ran out before this repository's images; ask again"
DESCRIBE_WORKERS = 8
# Codes of images that do not exist: answered, never stored or announced.
ABSENT_CODES = frozenset({ecr_codes.IMAGE_NOT_FOUND_EXCEPTION, REPOSITORY_NOT_FOUND})


def _answered(verdict: StoredImageVerdict) -> StoredImageVerdict:
    """A verdict as this route answers it: without its replicas (the audit's, up to 25 destinations each; GET /images
    lists them), so that 100 verdicts fit Lambda's 6 MB."""
    if not verdict.replicas:
        return verdict
    return verdict.model_copy(update={"replicas": [], "replicasObservedAt": None})


def unchecked_image(
    entry: ImageIdentifier,
    *,
    registry_id: str,
    region: str,
    code: str,
    reason: str,
    check_id: str,
    checked_at: datetime,
) -> UncheckedImage:
    """The answer for an image that was not judged, its failure texts bounded as every verdict's are (an AWS message
    copied onto 100 entries must not grow the answer past Lambda's 6 MB)."""
    return UncheckedImage(
        registryId=registry_id,
        region=region,
        repositoryName=entry.repositoryName,
        imageDigest=entry.imageDigest,
        imageTags=[entry.imageTag] if entry.imageTag else [],
        failureCode=bounded_code(code),
        failureReason=bounded_reason(reason),
        checkedAt=iso_utc(checked_at),
        checkId=check_id,
    )


class KnownVerdictsPort(Protocol):
    def has_verdict(self, registry_id: str, region: str, repository_name: str, reference: str) -> bool:
        """Whether a verdict of the image (by digest) is stored."""
        ...


class ImageLookupPort(Protocol):
    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        """Each tag's digest, or the code for a tag the repository does not hold; raises ``RepositoryCheckError``."""
        ...

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """The image's tags and storage status, or None when the repository does not hold it."""
        ...


@dataclass(frozen=True)
class Absent:
    """ECR says the image does not exist (``gone``), or would not describe it: its code and message."""

    code: str
    reason: str
    gone: bool = True


@dataclass(frozen=True)
class RequestedImagesOutcome:
    verdicts: list[ImageCheckVerdict]  # one per requested image, in request order
    outcomes: list[ImageCheckOutcome]  # one per repository checked

    @property
    def layer_summary(self) -> CheckSummary:
        names = CheckSummary.model_fields
        return CheckSummary(**{name: sum(getattr(o.layer_summary, name) for o in self.outcomes) for name in names})

    @property
    def stored(self) -> list[StoredImageVerdict]:
        return [verdict for outcome in self.outcomes for verdict in outcome.verdicts]

    @property
    def whole(self) -> ImageCheckOutcome:
        """The repositories' outcomes as one (what the request's metrics count)."""
        return combined(*self.outcomes) or ImageCheckOutcome(verdicts=[], layer_summary=self.layer_summary)


@dataclass
class RequestedImages:
    lookup: ImageLookupPort
    service: ImageCheckService
    registry_id: str
    region: str
    clock: Callable[[], datetime] = field(default=utc_now)
    known: KnownVerdictsPort | None = None  # what layercheck already judged: a digest gone since is MISSING
    max_blobs: int | None = None  # distinct blobs one request may check

    def check(
        self, images: Sequence[ImageIdentifier], *, check_id: str, should_continue: Callable[[], bool]
    ) -> RequestedImagesOutcome:
        by_repository: dict[str, list[ImageIdentifier]] = {}
        for image in images:
            by_repository.setdefault(image.repositoryName, []).append(image)
        answers: dict[ImageIdentifier, ImageCheckVerdict] = {}
        outcomes: list[ImageCheckOutcome] = []
        for repository_name, entries in by_repository.items():
            if not should_continue():
                answers |= {
                    entry: self._unchecked(entry, DEADLINE_EXCEEDED_CODE, DEADLINE_EXCEEDED_REASON, check_id)
                    for entry in entries
                }
                continue
            outcome = self._check_repository(repository_name, entries, check_id, answers, should_continue)
            if outcome is not None:
                outcomes.append(outcome)
        return RequestedImagesOutcome(verdicts=[answers[image] for image in images], outcomes=outcomes)

    def _check_repository(
        self,
        repository_name: str,
        entries: Sequence[ImageIdentifier],
        check_id: str,
        answers: dict[ImageIdentifier, ImageCheckVerdict],
        should_continue: Callable[[], bool],
    ) -> ImageCheckOutcome | None:
        """Answers every entry of one repository into ``answers``; the outcome when anything was judged."""
        try:
            digest_of, unresolved = self._resolve_tags(repository_name, [e.imageTag for e in entries if e.imageTag])
            digests = unique_in_order(
                digest for entry in entries if (digest := entry.imageDigest or digest_of.get(str(entry.imageTag)))
            )
            described = self._describe(repository_name, digests)
            outcome = self._judge(repository_name, described, check_id, should_continue)
        except TransientCheckError as error:
            reason = f"ECR answered with errors a retry may pass: {', '.join(error.codes)}; ask again"
            answers |= {entry: self._unchecked(entry, error.codes[0], reason, check_id) for entry in entries}
            return None
        judged = {verdict.imageDigest: _answered(verdict) for verdict in outcome.verdicts} if outcome else {}
        unfinished = {u.image.image_digest: u for u in outcome.unfinished} if outcome else {}
        for entry in entries:
            digest = entry.imageDigest or digest_of.get(str(entry.imageTag))
            if digest is None:
                answers[entry] = self._unchecked(entry, *unresolved[str(entry.imageTag)], check_id)
            elif digest in judged:
                answers[entry] = judged[digest]
            elif digest in unfinished:
                answers[entry] = self._unchecked(entry, unfinished[digest].code, unfinished[digest].reason, check_id)
            else:
                absent = described[digest]
                assert isinstance(absent, Absent)
                answers[entry] = self._unchecked(entry, absent.code, absent.reason, check_id)
        return outcome

    def _judge(
        self,
        repository_name: str,
        described: dict[str, ImageRef | Absent],
        check_id: str,
        should_continue: Callable[[], bool],
    ) -> ImageCheckOutcome | None:
        """The images ECR described, checked; those it says are gone but were judged before, MISSING."""
        refs = [ref for ref in described.values() if isinstance(ref, ImageRef)]
        gone = [
            GoneImage(digest, (), absent.code, absent.reason)
            for digest, absent in described.items()
            if isinstance(absent, Absent) and absent.gone and self._judged_before(repository_name, digest)
        ]
        checked = None
        if refs:
            checked = self.service.check_images(
                self.registry_id,
                repository_name,
                refs,
                source=Source.API,
                check_id=check_id,
                should_continue=should_continue,
                max_blobs=self.max_blobs,
            )
        missing = None
        if gone:
            missing = self.service.record_missing(
                self.registry_id, repository_name, gone, source=Source.API, check_id=check_id
            )
        return combined(checked, missing)

    def _judged_before(self, repository_name: str, digest: str) -> bool:
        return self.known is not None and self.known.has_verdict(self.registry_id, self.region, repository_name, digest)

    def _resolve_tags(
        self, repository_name: str, tags: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        if not tags:
            return {}, {}
        try:
            answer = self.lookup.resolve_tags(self.registry_id, self.region, repository_name, tags)
        except RepositoryCheckError as error:
            raise_if_transient(error, repository_name)
            return {}, {tag: (error.code, error.message) for tag in tags}
        missing = {
            tag: (code, f"{repository_name} holds no image tagged {tag}") for tag, code in answer.missing.items()
        }
        return dict(answer.digests), missing

    def _describe(self, repository_name: str, digests: Sequence[str]) -> dict[str, ImageRef | Absent]:
        """Each image with its current tags and storage status (the verdict replaces the stored one), or why ECR says
        it does not exist (DescribeImages records no pull: asking about made-up digests leaves no trace)."""

        def describe(digest: str) -> ImageRef | Absent:
            try:
                detail = self.lookup.describe_image(self.registry_id, repository_name, digest)
            except RepositoryCheckError as error:
                raise_if_transient(error, repository_name)
                # Gone, or not ours to read (access denied ...): nothing ECR described is stored
                return Absent(error.code, error.message, gone=error.code in ABSENT_CODES)
            if detail is None:
                return Absent(ecr_codes.IMAGE_NOT_FOUND_EXCEPTION, f"{repository_name} holds no image {digest}")
            return ImageRef(digest, detail.image_tags, detail.image_status, detail.last_archived_at, listed=True)

        if len(digests) <= 1:
            return {digest: describe(digest) for digest in digests}
        with ThreadPoolExecutor(max_workers=min(DESCRIBE_WORKERS, len(digests)), thread_name_prefix="describe") as pool:
            return dict(zip(digests, pool.map(describe, digests), strict=True))

    def _unchecked(self, entry: ImageIdentifier, code: str, reason: str, check_id: str) -> UncheckedImage:
        return unchecked_image(
            entry,
            registry_id=self.registry_id,
            region=self.region,
            code=code,
            reason=reason,
            check_id=check_id,
            checked_at=self.clock(),
        )
