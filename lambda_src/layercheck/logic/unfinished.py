"""Images a check could not finish (the API's deadline, its blob budget): found, set aside, never judged or stored,
so that nothing half-read replaces a real verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from layercheck.logic.check import DEADLINE_EXCEEDED_CODE
from layercheck.logic.images import WALK_STOPPED, ImageRef, ImageWalk
from layercheck.models.verdicts import LayerAnswer, LayerFailure, RepositoryResult

BLOB_BUDGET_CODE = "BlobBudgetExceeded"


@dataclass(frozen=True)
class UnfinishedImage:
    """An image this check did not judge (time ran out, too many blobs): nothing stored for it."""

    image: ImageRef
    code: str
    reason: str


def within_budget(walks: list[ImageWalk], max_blobs: int | None) -> tuple[list[ImageWalk], list[UnfinishedImage]]:
    """The images, in order, whose distinct blobs fit ``max_blobs`` together; the rest are not checked."""
    if max_blobs is None:
        return walks, []
    seen: set[str] = set()
    kept: list[ImageWalk] = []
    left: list[UnfinishedImage] = []
    for walk in walks:
        new = set(walk.blobs) - seen
        if len(seen) + len(new) > max_blobs:
            reason = f"not checked: the request's images reference more than {max_blobs} distinct blobs; ask again"
            left.append(UnfinishedImage(walk.image, BLOB_BUDGET_CODE, f"{reason} with fewer images"))
            continue
        seen |= new
        kept.append(walk)
    return kept, left


def finished(
    walks: list[ImageWalk], answers: Mapping[str, LayerAnswer | LayerFailure]
) -> tuple[list[ImageWalk], list[UnfinishedImage]]:
    """Images whose manifests or blobs the deadline left unread are not judged."""
    done: list[ImageWalk] = []
    stopped: list[UnfinishedImage] = []
    for walk in walks:
        if walk.failure is not None and walk.failure.failure_code == WALK_STOPPED:
            stopped.append(UnfinishedImage(walk.image, WALK_STOPPED, walk.failure.failure_reason))
            continue
        late = [a for d in walk.blobs if isinstance(a := answers.get(d), LayerFailure)
                and a.failureCode == DEADLINE_EXCEEDED_CODE]  # fmt: skip
        if late:
            stopped.append(UnfinishedImage(walk.image, DEADLINE_EXCEEDED_CODE, late[0].failureReason))
            continue
        done.append(walk)
    return done, stopped


def without_stopped(result: RepositoryResult) -> RepositoryResult:
    """A layer result without the pairs the deadline left unchecked (never stored over a real verdict)."""
    failures = [f for f in result.failures if f.failureCode != DEADLINE_EXCEEDED_CODE]
    return result if len(failures) == len(result.failures) else result.model_copy(update={"failures": failures})
