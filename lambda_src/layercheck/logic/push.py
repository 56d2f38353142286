"""The push check: the image ECR just stored, judged with all its current tags.

Right after a push ECR can be briefly inconsistent, so the blobs it says it lacks are asked about again within a
bounded budget (``recheck``; see recheck.py) before they can make the image BROKEN.
"""

from __future__ import annotations

from dataclasses import dataclass

from layercheck.errors import RepositoryCheckError, raise_if_transient
from layercheck.logic.catalog import CatalogPort
from layercheck.logic.image_check import ImageCheckOutcome, ImageCheckService
from layercheck.logic.images import ImageRef
from layercheck.logic.recheck import RecheckPolicy
from layercheck.models.stored import Source


@dataclass
class PushCheckService:
    catalog: CatalogPort
    images: ImageCheckService
    recheck: RecheckPolicy | None = None  # None or a zero budget: the first answer is final

    def check_push(
        self,
        registry_id: str,
        repository_name: str,
        image_digest: str,
        image_tag: str | None = None,
        *,
        check_id: str | None = None,
    ) -> ImageCheckOutcome:
        """The event names one tag at most; the verdict lists every tag the image has now (it replaces the last one)."""
        try:
            detail = self.catalog.describe_image(registry_id, repository_name, image_digest)
        except RepositoryCheckError as error:
            raise_if_transient(error, repository_name)
            detail = None  # the walk meets the same error and records it in the verdict
        if detail is not None:
            image = ImageRef(image_digest, detail.image_tags, detail.image_status, detail.last_archived_at, listed=True)
        else:
            image = ImageRef(image_digest, (image_tag,) if image_tag else ())
        recheck = self.recheck if self.recheck is not None and self.recheck.budget_seconds > 0 else None
        return self.images.check_images(
            registry_id, repository_name, [image], source=Source.PUSH, check_id=check_id, recheck=recheck
        )
