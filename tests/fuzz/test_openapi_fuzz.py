"""Schemathesis against the committed OpenAPI document: schema-valid and schema-breaking requests, over HTTP.

However a request is malformed, the API answers below 500, and every 4xx carries a JSON body that says what is wrong.
Every operation of the document is exercised (a test fails if one is added without its share of requests), schema-valid
and schema-breaking. Generating bodies is the slow part (repository names come from ECR's name regex, ~0.1 s each), so
the query routes get more of the requests. ``LAYERCHECK_FUZZ_SCALE=5`` sends five times as many. CI runs derandomized
(the same requests each run); a developer's run explores new ones. The hypothesis properties in
test_decoder_properties.py and test_image_decoder_properties.py send 1,000 inputs to each decoder in-process.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SCALE = float(os.environ.get("LAYERCHECK_FUZZ_SCALE", "1"))
# Per operation and mode (schema-valid, schema-breaking).
EXAMPLES = {
    ("POST", "/checks"): 100,
    ("GET", "/results"): 200,
    ("POST", "/images/checks"): 60,
    ("GET", "/images"): 200,
    ("POST", "/inventory"): 100,
    ("POST", "/lifecycle/previews"): 60,
}
MINIMUM_REQUESTS = 1000


def test_generated_requests_never_get_a_5xx_and_every_4xx_is_json(api_url: str) -> None:
    schema = schemathesis.openapi.from_path(DOCUMENT)
    statuses: Counter[tuple[str, str, int]] = Counter()
    problems: list[str] = []

    def exercise(label: str, case: Any) -> None:
        response = case.call(base_url=api_url, timeout=60)
        statuses[(label, case.method, response.status_code)] += 1
        if response.status_code >= 500:
            problems.append(f"{response.status_code} for {case.method} {case.formatted_path} {case.body!r:.300}")
        elif response.status_code >= 400:
            try:
                document = json.loads(response.content)
            except ValueError:
                problems.append(f"non-JSON {response.status_code} body {response.content[:200]!r}")
            else:
                if not isinstance(document, dict) or not document.get("message"):
                    problems.append(f"{response.status_code} body without a message: {document!r:.300}")

    document = json.loads(DOCUMENT.read_text())
    served = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert served == set(EXAMPLES), "every operation of docs/openapi.json gets its share of generated requests"
    for method, path in EXAMPLES:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(schema[path][method], mode, exercise)

    sent = sum(statuses.values())
    summary = ", ".join(f"{label} {method} -> {status}: {n}" for (label, method, status), n in sorted(statuses.items()))
    assert not problems, f"{len(problems)} bad answers of {sent}: {problems[:10]}"
    assert sent >= MINIMUM_REQUESTS, f"only {sent} requests were generated: {summary}"
    per_operation: Counter[tuple[str, str]] = Counter()
    for (label, method, _), n in statuses.items():
        per_operation[(method.upper(), label.split()[1])] += n
    assert all(per_operation[operation] > 0 for operation in EXAMPLES), per_operation
    print(f"\n{sent} generated requests: {summary}")


def fuzz(operation: Any, mode: GenerationMode, exercise: Any) -> None:
    label = f"{operation.method.upper()} {operation.path} {mode.value}"

    @settings(
        max_examples=int(EXAMPLES[(operation.method.upper(), operation.path)] * SCALE),
        deadline=None,
        database=None,
        derandomize=os.environ.get("CI") == "true",
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        exercise(label, case)

    run()


FORGED_TOKENS = 400


def test_forged_page_tokens_over_http_get_a_400_never_a_5xx(api_url: str) -> None:
    """Schemathesis draws ``nextToken`` as any string of the schema, which almost never decodes: these are tokens a
    caller forges on purpose (base64url JSON with the right keys, lone surrogates, wrong types, other partitions),
    sent to each query that pages: GET /results by repository and by digest, GET /images by status and by repository."""
    from urllib.parse import urlencode

    from local.adapter import json_request
    from tests.fuzz.test_decoder_properties import DIGEST, forged_tokens

    queries = [
        ("/results", {"repositoryName": "platform/base"}),
        ("/results", {"layerDigest": DIGEST}),
        ("/images", {"status": "BROKEN"}),
        ("/images", {"status": "UNCHECKED", "registryId": "123456789012", "region": "us-east-1"}),
        ("/images", {"repositoryName": "platform/base"}),
    ]
    statuses: Counter[tuple[str, int]] = Counter()

    @settings(max_examples=int(FORGED_TOKENS * SCALE), deadline=None, database=None, derandomize=True)
    @given(token=forged_tokens, query=st.sampled_from(queries))
    def run(token: str, query: tuple[str, dict[str, str]]) -> None:
        path, parameters = query
        status, body = json_request(f"{api_url}{path}?{urlencode(parameters | {'nextToken': token})}")
        statuses[(path, status)] += 1
        assert status < 500, (token, body)
        assert status in (200, 400, 422) and (status == 200 or body["message"]), (token, body)

    run()
    print(f"\n{sum(statuses.values())} forged page tokens over HTTP: {dict(sorted(statuses.items()))}")
    assert statuses[("/results", 400)] > 0 and statuses[("/images", 400)] > 0
