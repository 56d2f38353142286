"""The largest POST /images/checks answer provably fits Lambda's 6 MB response.

The worst case: 100 images (the most a request takes), each the largest verdict the service can build: a 256-character
repository name, MAX_LISTED tags of 300 characters (ECR's longest), MAX_LISTED missing layers and missing manifests
with sha512 digests (135 characters), an adversarial failure text (bounded like the layer answers'), and the counts of
what the lists left out. Measured as Lambda counts it: the proxy response JSON around the body, both escapings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench.request_limit import ADVERSARIAL, LAMBDA_RESPONSE_LIMIT_BYTES
from layercheck.logic.image_check import ImageCheckService
from layercheck.logic.images import ImageRef
from layercheck.logic.judge import ImageJudgement
from layercheck.models.images_api import MAX_IMAGES_PER_CHECK, ImageCheckResponse, ImageCheckSummary
from layercheck.models.stored import MAX_LISTED, ImageStatus, Source


def largest_verdict(n: int) -> object:
    service = ImageCheckService(registry=None, manifests=None, store=None)  # type: ignore[arg-type]
    tags = tuple(f"{i:03d}" + "t" * 297 for i in range(MAX_LISTED * 3))  # 300 characters each, ECR's longest
    digests = tuple(f"sha512:{i:0128x}" for i in range(MAX_LISTED * 3))
    judgement = ImageJudgement(
        image=ImageRef(f"sha512:{n:0128x}", tags),
        status=ImageStatus.BROKEN,
        missing_layers=digests,
        missing_manifests=digests,
        failure_code="E" * 500,
        failure_reason=ADVERSARIAL,
    )
    # _verdict is the one place verdicts are built, bounds included
    return service._verdict(
        "123456789012",
        "r" * 256,
        judgement,
        Source.API,
        datetime(2026, 1, 1, tzinfo=UTC),
        "c" * 64,
        region="ap-southeast-4",
        used_by=(),
        replicas=[],
    )


def test_worst_case_image_checks_answer_fits_lambdas_6_mb_response() -> None:
    verdicts = [largest_verdict(n) for n in range(MAX_IMAGES_PER_CHECK)]
    response = ImageCheckResponse(checkId="c" * 64, verdicts=verdicts, summary=ImageCheckSummary.of(verdicts))  # type: ignore[arg-type]
    body = json.dumps(response.model_dump(mode="json"))  # Powertools writes the body with ensure_ascii
    proxy = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    size = max(len(json.dumps(proxy).encode()), len(json.dumps(proxy, ensure_ascii=False).encode()))

    first = response.verdicts[0]
    assert len(first.imageTags) == MAX_LISTED and first.imageTagsOmitted == 2 * MAX_LISTED  # type: ignore[union-attr]
    assert len(first.missingLayers) == MAX_LISTED and first.missingManifestsOmitted == 2 * MAX_LISTED  # type: ignore[union-attr]
    assert size < LAMBDA_RESPONSE_LIMIT_BYTES, f"{size:,} bytes"
    print(f"\nworst-case POST /images/checks answer: {size:,} bytes of {LAMBDA_RESPONSE_LIMIT_BYTES:,}")
