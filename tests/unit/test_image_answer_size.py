"""The largest POST /images/checks answer provably fits Lambda's 6 MB response.

The worst case: 100 images (the most a request takes), each the largest verdict the service can build: a 256-character
repository name, MAX_LISTED tags of 300 characters (ECR's longest), MAX_LISTED missing layers and missing manifests
with sha512 digests (135 characters), an adversarial failure text (bounded like the layer answers'), the counts of
what the lists left out, and who runs it: as many users as anyone could report, each with an ARN, a tag and a
reporter's ARN as long as IAM and ECR allow (bounded by MAX_USED_BY_BYTES). Measured as Lambda counts it: the proxy
response JSON around the body, both escapings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench.request_limit import ADVERSARIAL, LAMBDA_RESPONSE_LIMIT_BYTES
from layercheck.logic.images import ImageRef
from layercheck.logic.judge import ImageJudgement
from layercheck.logic.verdict_build import VerdictContext, judged_verdict
from layercheck.models.images_api import MAX_IMAGES_PER_CHECK, ImageCheckResponse, ImageCheckSummary
from layercheck.models.in_use import MAX_ARN_LENGTH, UsedBy, UsedByKind
from layercheck.models.stored import MAX_LISTED, ImageStatus, Source, StoredImageVerdict


def longest_user(n: int) -> UsedBy:
    arn = f"arn:aws:ecs:ap-southeast-4:123456789012:service/{n:04d}/"
    reporter = "arn:aws:sts::123456789012:assumed-role/"
    return UsedBy(
        kind=UsedByKind.INVENTORY,
        id=arn + "s" * (MAX_ARN_LENGTH - len(arn)),
        tag="t" * 300,
        reportedBy=reporter + "r" * (MAX_ARN_LENGTH - len(reporter)),
    )


def largest_verdict(n: int) -> StoredImageVerdict:
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
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    context = VerdictContext("123456789012", "r" * 256, "ap-southeast-4", Source.API, "c" * 64, moment, moment, 30)
    # judged_verdict is the one place verdicts are built, bounds included; usedBy is bounded by the model itself
    verdict = judged_verdict(context, judgement)
    return verdict.model_validate({**verdict.model_dump(), "usedBy": [longest_user(u) for u in range(1000)]})


def test_worst_case_image_checks_answer_fits_lambdas_6_mb_response() -> None:
    verdicts = [largest_verdict(n) for n in range(MAX_IMAGES_PER_CHECK)]
    response = ImageCheckResponse(checkId="c" * 64, verdicts=verdicts, summary=ImageCheckSummary.of(verdicts))  # type: ignore[arg-type]
    body = json.dumps(response.model_dump(mode="json"))  # Powertools writes the body with ensure_ascii
    proxy = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    size = max(len(json.dumps(proxy).encode()), len(json.dumps(proxy, ensure_ascii=False).encode()))

    first = response.verdicts[0]
    assert len(first.imageTags) == MAX_LISTED and first.imageTagsOmitted == 2 * MAX_LISTED  # type: ignore[union-attr]
    assert len(first.missingLayers) == MAX_LISTED and first.missingManifestsOmitted == 2 * MAX_LISTED  # type: ignore[union-attr]
    assert len(first.usedBy) + first.usedByOmitted == 1000 and first.usedBy  # type: ignore[union-attr]
    assert size < LAMBDA_RESPONSE_LIMIT_BYTES, f"{size:,} bytes"
    print(f"\nworst-case POST /images/checks answer: {size:,} bytes of {LAMBDA_RESPONSE_LIMIT_BYTES:,}")
