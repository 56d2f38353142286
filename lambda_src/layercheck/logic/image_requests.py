"""POST /images/checks: images named by tag or digest, checked as the push check checks one, answered in request order.

Per repository (in the order the request first names it): the tags are resolved to digests (DescribeImages, which
records no pull), every digest is described for its current tags and storage status, and the images are judged and
stored in one ``ImageCheckService.check_images`` call, so blobs shared between them are checked once.

What cannot be judged is answered, not refused: a digest the repository does not hold is a stored ``UNCHECKED``
verdict with ECR's code (as the push check stores it); a tag it does not hold has no digest to key a verdict by, so it
is an ``UncheckedImage`` (not stored) with ECR's ``ImageNotFoundException``. So is every image of a repository the
API's deadline left unstarted (``DeadlineExceeded``) or that met an ECR error a retry may pass: nothing half-judged is
ever stored over a real verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from layercheck.errors import RepositoryCheckError, TransientCheckError, is_transient
from layercheck.logic.catalog import ImageDetail
from layercheck.logic.check import DEADLINE_EXCEEDED_CODE
from layercheck.logic.digests import unique_in_order
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService
from layercheck.logic.images import ImageRef
from layercheck.logic.in_use import TagAnswer
from layercheck.models.images_api import ImageCheckVerdict, ImageIdentifier, UncheckedImage
from layercheck.models.stored import Source, StoredImageVerdict
from layercheck.models.verdicts import CheckSummary

DEADLINE_EXCEEDED_REASON = "not checked: the request's time ran out before this repository's images; ask again"
DESCRIBE_WORKERS = 8


class ImageLookupPort(Protocol):
    def resolve_tags(self, registry_id: str, region: str, repository_name: str, tags: Sequence[str]) -> TagAnswer:
        """Each tag's digest, or the code for a tag the repository does not hold; raises ``RepositoryCheckError``."""
        ...

    def describe_image(self, registry_id: str, repository_name: str, image_digest: str) -> ImageDetail | None:
        """The image's tags and storage status, or None when the repository does not hold it."""
        ...


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


@dataclass
class RequestedImages:
    lookup: ImageLookupPort
    service: ImageCheckService
    registry_id: str
    region: str

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
                    entry: self._unchecked(entry, DEADLINE_EXCEEDED_CODE, DEADLINE_EXCEEDED_REASON) for entry in entries
                }
                continue
            outcome = self._check_repository(repository_name, entries, check_id, answers)
            if outcome is not None:
                outcomes.append(outcome)
        return RequestedImagesOutcome(verdicts=[answers[image] for image in images], outcomes=outcomes)

    def _check_repository(
        self,
        repository_name: str,
        entries: Sequence[ImageIdentifier],
        check_id: str,
        answers: dict[ImageIdentifier, ImageCheckVerdict],
    ) -> ImageCheckOutcome | None:
        """Answers every entry of one repository into ``answers``; the outcome when anything was judged."""
        try:
            digest_of, unresolved = self._resolve_tags(repository_name, [e.imageTag for e in entries if e.imageTag])
            digests = unique_in_order(
                digest for entry in entries if (digest := entry.imageDigest or digest_of.get(str(entry.imageTag)))
            )
            refs = self._describe(repository_name, digests)
            outcome = (
                self.service.check_images(
                    self.registry_id, repository_name, refs, source=Source.API, check_id=check_id, region=self.region
                )
                if refs
                else None
            )
        except TransientCheckError as error:
            reason = f"ECR answered with errors a retry may pass: {', '.join(error.codes)}; ask again"
            answers |= {entry: self._unchecked(entry, error.codes[0], reason) for entry in entries}
            return None
        judged = {verdict.imageDigest: verdict for verdict in outcome.verdicts} if outcome else {}
        for entry in entries:
            digest = entry.imageDigest or digest_of.get(str(entry.imageTag))
            if digest is not None:
                answers[entry] = judged[digest]
            else:
                answers[entry] = self._unchecked(entry, *unresolved[str(entry.imageTag)])
        return outcome

    def _resolve_tags(
        self, repository_name: str, tags: Sequence[str]
    ) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        if not tags:
            return {}, {}
        try:
            answer = self.lookup.resolve_tags(self.registry_id, self.region, repository_name, tags)
        except RepositoryCheckError as error:
            if is_transient(error.code):
                raise TransientCheckError(repository_name, [error.code]) from error
            return {}, {tag: (error.code, error.message) for tag in tags}
        missing = {
            tag: (code, f"{repository_name} holds no image tagged {tag}") for tag, code in answer.missing.items()
        }
        return dict(answer.digests), missing

    def _describe(self, repository_name: str, digests: Sequence[str]) -> list[ImageRef]:
        """Each image with its current tags and storage status (the verdict replaces the stored one)."""

        def describe(digest: str) -> ImageRef:
            try:
                detail = self.lookup.describe_image(self.registry_id, repository_name, digest)
            except RepositoryCheckError as error:
                if is_transient(error.code):
                    raise TransientCheckError(repository_name, [error.code]) from error
                detail = None  # the walk meets the same error and records it in the verdict
            if detail is None:
                return ImageRef(digest)
            return ImageRef(digest, detail.image_tags, detail.image_status, detail.last_archived_at)

        if len(digests) <= 1:
            return [describe(digest) for digest in digests]
        with ThreadPoolExecutor(max_workers=min(DESCRIBE_WORKERS, len(digests)), thread_name_prefix="describe") as pool:
            return list(pool.map(describe, digests))

    def _unchecked(self, entry: ImageIdentifier, code: str, reason: str) -> UncheckedImage:
        return UncheckedImage(
            registryId=self.registry_id,
            region=self.region,
            repositoryName=entry.repositoryName,
            imageTag=entry.imageTag,
            imageDigest=entry.imageDigest,
            failureCode=code,
            failureReason=reason,
        )
