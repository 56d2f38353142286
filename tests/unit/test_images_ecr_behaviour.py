"""Verdicts over ECR behaviour that moto never shows, each answer in ECR's real shape (botocore's Stubber validates it
against ECR's service model): archived images, the inconsistency right after a push, error codes, pull-through cache
repositories. Each test says which real behaviour it stands for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from layercheck.errors import TransientCheckError
from layercheck.logic.audit import AuditService
from layercheck.logic.images import ImageRef
from layercheck.logic.judge import IMAGE_ARCHIVED_CODE, LAYERS_ARCHIVED_CODE, NOT_CACHED_CODE
from layercheck.models.audit import RepositoryWorkItem
from layercheck.models.stored import ImageStatus, Source, StoredImageVerdict
from tests.unit.ecr_stubs import REGISTRY, REPOSITORY, Stubbed, d, index, manifest, stubbed_ecr
from tests.unit.test_images_audit import FakeQueue
from tests.unit.test_images_service import FakeStore

ARCHIVED_AT = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def ecr() -> Iterator[Stubbed]:
    yield from stubbed_ecr()


# -- archived images -----------------------------------------------------------------------------------------------


def test_audit_lists_archived_images_and_judges_them_archived_without_reading_them(ecr: Stubbed) -> None:
    """Real ECR: DescribeImages returns ACTIVE images only unless ``filter.imageStatus`` asks for more (moto ignores
    the filter), reports ``imageStatus``/``lastArchivedAt``, and answers a pull of an archived image with 404."""
    # Given a repository with an active image and an archived one, listed only because the audit asks for ANY
    ecr.stubber.add_response(
        "describe_images",
        {
            "imageDetails": [
                {"imageDigest": d("live"), "imageTags": ["v2"], "imageStatus": "ACTIVE"},
                {
                    "imageDigest": d("old"),
                    "imageTags": ["v1"],
                    "imageStatus": "ARCHIVED",
                    "lastArchivedAt": ARCHIVED_AT,
                },
            ]
        },
        {"registryId": REGISTRY, "repositoryName": REPOSITORY, "maxResults": 1000, "filter": {"imageStatus": "ANY"}},
    )
    ecr.batch_get_image({d("live"): manifest("cfg", "layer")})  # the archived image is never read
    ecr.check_layers([d("cfg"), d("layer")], available=(d("cfg"), d("layer")))
    store = FakeStore()
    audit = AuditService(ecr.registry(), FakeQueue(), ecr.images(store), region="us-east-1")

    # When the repository is audited
    audited = audit.audit_repository(RepositoryWorkItem(auditId="a", registryId=REGISTRY, repositoryName=REPOSITORY))

    # Then the archived image is reported ARCHIVED (with when and what it means), and nothing counts as broken
    assert audited.outcome is not None
    verdicts = {v.imageDigest: v for v in audited.outcome.verdicts}
    assert verdicts[d("live")].status is ImageStatus.COMPLETE
    assert (verdicts[d("old")].status, verdicts[d("old")].failureCode) == (ImageStatus.ARCHIVED, IMAGE_ARCHIVED_CODE)
    assert "2025-06-01" in (verdicts[d("old")].failureReason or "")
    assert audited.outcome.broken == 0
    assert {item.imageDigest for item in store.items if isinstance(item, StoredImageVerdict)} == {d("live"), d("old")}


def test_check_images_a_layer_ecr_answers_archived_gives_an_archived_verdict(ecr: Stubbed) -> None:
    """Real ECR: BatchCheckLayerAvailability's ``layerAvailability`` may be ARCHIVED (archive storage class)."""
    ecr.batch_get_image({d("img"): manifest("cfg", "cold")})
    ecr.check_layers([d("cfg"), d("cold")], available=(d("cfg"),), archived=(d("cold"),))

    outcome = ecr.images().check_images(REGISTRY, REPOSITORY, [_ref("img")], source=Source.SCHEDULE)

    [verdict] = outcome.verdicts
    assert (verdict.status, verdict.failureCode, verdict.missingLayers) == (
        ImageStatus.ARCHIVED,
        LAYERS_ARCHIVED_CODE,
        [],
    )
    assert outcome.broken == 0
    assert outcome.layer_summary.unavailable == 1  # the layer item keeps ECR's ARCHIVED verbatim


# -- just pushed ---------------------------------------------------------------------------------------------------


def test_push_recheck_turns_a_briefly_missing_blob_into_complete(ecr: Stubbed) -> None:
    """Real ECR right after a push: a blob may read back MissingLayerDigest or UNAVAILABLE for a moment, then
    AVAILABLE (moto is consistent at once). The second call asks only about the blobs that were absent."""
    ecr.describe_image(d("img"), ["v1"])
    ecr.batch_get_image({d("img"): manifest("cfg", "a", "b")})
    ecr.check_layers([d("cfg"), d("a"), d("b")], available=(d("cfg"),), unavailable=(d("b"),))  # a: missing
    ecr.check_layers([d("a"), d("b")], available=(d("a"), d("b")))
    slept: list[float] = []

    outcome = ecr.push(3, slept).check_push(REGISTRY, REPOSITORY, d("img"), "v1")

    assert [v.status for v in outcome.verdicts] == [ImageStatus.COMPLETE]
    assert slept == [0.5]  # one pause, then nothing was absent any more
    assert (outcome.layer_summary.checked, outcome.layer_summary.available) == (3, 3)


def test_push_recheck_leaves_broken_with_exactly_the_blobs_still_missing(ecr: Stubbed) -> None:
    """Real ECR: a blob never uploaded stays MissingLayerDigest however often it is asked about."""
    ecr.describe_image(d("img"), ["v1"])
    ecr.batch_get_image({d("img"): manifest("cfg", "a", "never")})
    ecr.check_layers([d("cfg"), d("a"), d("never")], available=(d("cfg"),))
    ecr.check_layers([d("a"), d("never")], available=(d("a"),))
    ecr.check_layers([d("never")])
    ecr.pull_through_rules([])  # a plain repository: no rule covers it
    slept: list[float] = []

    outcome = ecr.push(1.5, slept).check_push(REGISTRY, REPOSITORY, d("img"), "v1")

    [verdict] = outcome.verdicts
    assert (verdict.status, verdict.missingLayers) == (ImageStatus.BROKEN, [d("never")])
    assert slept == [0.5, 1.0]
    assert outcome.broken == 1


def test_push_recheck_is_off_with_a_zero_budget(ecr: Stubbed) -> None:
    ecr.describe_image(d("img"), [])
    ecr.batch_get_image({d("img"): manifest("cfg")})
    ecr.check_layers([d("cfg")])
    ecr.pull_through_rules([])
    slept: list[float] = []

    [verdict] = ecr.push(0, slept).check_push(REGISTRY, REPOSITORY, d("img")).verdicts

    assert (verdict.status, slept) == (ImageStatus.BROKEN, [])


# -- error codes moto never returns --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "KmsError",
        "UpstreamAccessDenied",
        "UpstreamTooManyRequests",
        "UpstreamUnavailable",
        "ImageInaccessible",
        "ImageReferencedByManifestList",
    ],
)
def test_check_images_a_batch_get_image_failure_code_makes_the_image_unchecked(ecr: Stubbed, code: str) -> None:
    """Real ECR: BatchGetImage ``failures[].failureCode`` (ImageFailureCode) names why a manifest was not returned,
    with the digest in ``imageId``. None of them says a blob is missing, nor that the image is gone."""
    ecr.batch_get_image({}, {d("img"): code})

    [verdict] = ecr.images().check_images(REGISTRY, REPOSITORY, [_ref("img")], source=Source.API).verdicts

    assert (verdict.status, verdict.failureCode) == (ImageStatus.UNCHECKED, code)
    assert verdict.failureReason == f"{code} for {d('img')}"


def test_check_images_an_image_batch_get_image_does_not_find_is_missing(ecr: Stubbed) -> None:
    """Real ECR: BatchGetImage answers ``failureCode`` ImageNotFound, with the digest, for an image the repository no
    longer holds (deleted since it was listed or announced): nothing to judge, and nothing anyone can pull."""
    ecr.batch_get_image({}, {d("img"): "ImageNotFound"})

    [verdict] = ecr.images().check_images(REGISTRY, REPOSITORY, [_ref("img")], source=Source.API).verdicts

    assert (verdict.status, verdict.failureCode) == (ImageStatus.MISSING, "ImageNotFound")


def test_check_images_an_unreadable_platform_manifest_is_unchecked_but_a_missing_one_is_broken(ecr: Stubbed) -> None:
    """Real ECR: a platform manifest that cannot be decrypted answers KmsError (not readable: UNCHECKED); one the
    repository lacks answers ImageNotFound (a lifecycle rule expired it: BROKEN)."""
    ecr.batch_get_image({d("top-kms"): index("kms"), d("top-gone"): index("gone")})
    ecr.batch_get_image({}, {d("kms"): "KmsError", d("gone"): "ImageNotFound"})
    ecr.pull_through_rules([])

    kms, gone = (
        ecr.images()
        .check_images(REGISTRY, REPOSITORY, [_ref("top-kms"), _ref("top-gone")], source=Source.SCHEDULE)
        .verdicts
    )

    assert (kms.status, kms.failureCode) == (ImageStatus.UNCHECKED, "KmsError")
    assert (gone.status, gone.missingManifests) == (ImageStatus.BROKEN, [d("gone")])


@pytest.mark.parametrize("code", ["UnableToGetUpstreamImageException", "KmsException", "AccessDeniedException"])
def test_check_images_a_batch_get_image_error_makes_every_image_unchecked(ecr: Stubbed, code: str) -> None:
    """Real ECR: BatchGetImage on a pull-through cache repository can fail as a whole with
    UnableToGetUpstreamImageException (upstream credentials); other whole-call errors likewise say nothing of blobs."""
    ecr.stubber.add_client_error("batch_get_image", code, f"{code} message", 400)

    verdicts = ecr.images().check_images(REGISTRY, REPOSITORY, [_ref("a"), _ref("b")], source=Source.SCHEDULE).verdicts

    assert {(v.status, v.failureCode) for v in verdicts} == {(ImageStatus.UNCHECKED, code)}


@pytest.mark.parametrize("code", ["LayerInaccessibleException", "UnableToGetUpstreamLayerException", "KmsException"])
def test_check_images_a_layer_check_error_makes_the_image_unchecked_not_broken(ecr: Stubbed, code: str) -> None:
    """Real ECR's layer errors (LayerInaccessibleException for a layer no image references, the upstream fetch of a
    pull-through cache, KMS): the call failed, so nothing is known of those blobs."""
    ecr.batch_get_image({d("img"): manifest("cfg", "layer")})
    ecr.stubber.add_client_error("batch_check_layer_availability", code, f"{code} message", 400)

    outcome = ecr.images().check_images(REGISTRY, REPOSITORY, [_ref("img")], source=Source.SCHEDULE)

    [verdict] = outcome.verdicts
    assert (verdict.status, verdict.failureCode, verdict.missingLayers) == (ImageStatus.UNCHECKED, code, [])
    assert outcome.layer_summary.errors == 2


@pytest.mark.parametrize("operation", ["batch_get_image", "batch_check_layer_availability"])
def test_check_images_throttling_left_after_botocores_retries_is_retried_and_nothing_stored(
    ecr: Stubbed, operation: str
) -> None:
    """Real ECR throttles (ThrottlingException, 400) when the account's rate is spent; the Stubber's one error stands
    for the last of botocore's attempts. The event or work item is retried; nothing is stored or counted."""
    if operation == "batch_check_layer_availability":
        ecr.batch_get_image({d("img"): manifest("cfg")})
    ecr.stubber.add_client_error(operation, "ThrottlingException", "Rate exceeded", 400)
    store = FakeStore()

    with pytest.raises(TransientCheckError, match="ThrottlingException"):
        ecr.images(store).check_images(REGISTRY, REPOSITORY, [_ref("img")], source=Source.PUSH)

    assert store.items == []


def test_audit_throttled_image_listing_is_retried(ecr: Stubbed) -> None:
    """Real ECR: DescribeImages throttled after botocore's retries; the repository's work item is retried."""
    ecr.stubber.add_client_error("describe_images", "ThrottlingException", "Rate exceeded", 400)
    audit = AuditService(ecr.registry(), FakeQueue(), ecr.images(), region="us-east-1")

    with pytest.raises(TransientCheckError):
        audit.audit_repository(RepositoryWorkItem(auditId="a", registryId=REGISTRY, repositoryName=REPOSITORY))


def test_push_of_an_image_ecr_no_longer_describes_is_missing(ecr: Stubbed) -> None:
    """Real ECR: DescribeImages raises ImageNotFoundException for an image deleted since its push event."""
    ecr.stubber.add_client_error("describe_images", "ImageNotFoundException", "not found", 400)
    ecr.batch_get_image({}, {d("img"): "ImageNotFound"})

    [verdict] = ecr.push(3, []).check_push(REGISTRY, REPOSITORY, d("img"), "v1").verdicts

    assert (verdict.status, verdict.failureCode, verdict.imageTags) == (ImageStatus.MISSING, "ImageNotFound", ["v1"])


# -- pull-through cache repositories -------------------------------------------------------------------------------


def test_check_images_an_uncached_layer_of_a_pull_through_cache_repository_is_not_broken(ecr: Stubbed) -> None:
    """Real ECR: a pull-through cache repository holds only what was pulled (one platform of an index, say); ECR
    fetches the rest from upstream on the next pull. Its rules come from DescribePullThroughCacheRules, every page."""
    repository = "docker-hub/library/nginx"
    ecr.batch_get_image({d("img"): manifest("cfg", "cached", "uncached")}, repository=repository)
    ecr.check_layers([d("cfg"), d("cached"), d("uncached")], available=(d("cfg"), d("cached")), repository=repository)
    ecr.pull_through_rules([("quay", "quay.io")], [("docker-hub", "registry-1.docker.io")])

    outcome = ecr.images().check_images(REGISTRY, repository, [_ref("img")], source=Source.SCHEDULE)

    [verdict] = outcome.verdicts
    assert (verdict.status, verdict.failureCode) == (ImageStatus.UNCHECKED, NOT_CACHED_CODE)
    assert verdict.missingLayers == [d("uncached")]
    assert "registry-1.docker.io" in (verdict.failureReason or "")
    assert outcome.broken == 0


def test_pull_through_rules_are_read_once_per_registry_until_they_expire(ecr: Stubbed) -> None:
    now = [0.0]
    registry = ecr.registry(clock=lambda: now[0])
    ecr.pull_through_rules([("docker-hub", "registry-1.docker.io")])
    ecr.pull_through_rules([])

    first = registry.pull_through_cache_rule(REGISTRY, "docker-hub/library/nginx")
    again = registry.pull_through_cache_rule(REGISTRY, "team-a/api")  # from the kept rules: no call
    now[0] = 601.0
    after_expiry = registry.pull_through_cache_rule(REGISTRY, "docker-hub/library/nginx")  # read again: rule gone

    assert first is not None and first.upstream_registry_url == "registry-1.docker.io"
    assert (again, after_expiry) == (None, None)


def _ref(label: str) -> ImageRef:
    return ImageRef(d(label))
