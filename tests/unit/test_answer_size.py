"""The largest request's answer provably fits Lambda's 6 MB response, whatever error text ECR sends.

Not a timing test: ``bench.request_limit`` builds the worst case (``MAX_PAIRS`` pairs, every call refused for its
repository with a 2,048-character AccessDenied message or an adversarial text of quotes, backslashes, emoji and NULs)
and measures the proxy response the handler returns. Before failure texts were bounded, the 2,048-character message
copied onto 10,000 failures made about 21 MB.
"""

from __future__ import annotations

import json

import pytest

from bench.request_limit import LAMBDA_RESPONSE_LIMIT_BYTES, WorstCase, worst_case_response_bytes, worst_cases
from layercheck.logic.failure_text import (
    CUT_MARK,
    MAX_FAILURE_REASON_BYTES,
    bounded_code,
    bounded_reason,
    response_bytes,
)


@pytest.fixture(autouse=True)
def _lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULTS_TABLE_NAME", "unused")  # the store is a fake; settings still need a name
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # Lambda sets it in every function


@pytest.mark.parametrize("case", worst_cases(), ids=lambda case: case.label)
def test_worst_case_answer_fits_lambdas_6_mb_response(case: WorstCase) -> None:
    size = worst_case_response_bytes(case)

    assert size < LAMBDA_RESPONSE_LIMIT_BYTES, f"{case.label}: {size:,} bytes"


def test_response_bytes_counts_both_levels_of_escaping() -> None:
    for text in ["plain", 'a "quoted" word', "back\\slash", "é", "\U0001f600", "\x00", "\ud800"]:
        body = json.dumps({"r": text})  # how Powertools writes the body (ensure_ascii)
        proxy = json.dumps({"body": body})  # how the runtime writes the proxy response
        empty = json.dumps({"body": json.dumps({"r": ""})})
        assert response_bytes(text) == len(proxy) - len(empty), text


def test_a_short_reason_is_kept_verbatim() -> None:
    reason = "Layer digest does not exist"

    assert bounded_reason(reason) is reason


@pytest.mark.parametrize("reason", ["x" * 2048, '"' * 2048, "\U0001f600" * 2048, "ok " * 100 + "é" * 500])
def test_a_long_reason_is_cut_to_its_byte_budget_and_says_so(reason: str) -> None:
    shortened = bounded_reason(reason)

    assert response_bytes(shortened) <= MAX_FAILURE_REASON_BYTES
    assert shortened.endswith(CUT_MARK)
    assert reason.startswith(shortened.removesuffix(CUT_MARK))
    assert response_bytes(shortened) > MAX_FAILURE_REASON_BYTES - 15  # the longest prefix that fits, not less


def test_an_ecr_code_is_kept_and_an_absurd_one_is_cut() -> None:
    assert bounded_code("AccessDeniedException") == "AccessDeniedException"
    assert response_bytes(bounded_code("E" * 500)) <= 64
