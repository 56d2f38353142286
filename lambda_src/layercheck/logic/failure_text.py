"""Bounds on the text a failure carries, so that the largest answer provably fits Lambda's 6 MB response.

A repository-level error (AccessDenied, KMS, ...) is copied onto every digest of the repository: 10,000 copies of a
1-2 KB IAM message made 7.6 MB. ECR's codes are short identifiers and its messages mostly plain ASCII, but neither is
promised, so the bound is on what the text costs in the Lambda response: Powertools writes the body with JSON escapes
(``ensure_ascii``) and the runtime escapes that body once more inside the proxy response, so a ``"`` costs 4 bytes
and a character outside the BMP 14. A text over its bound is cut at a character and ends with ``...``.
"""

from __future__ import annotations

import json

# Bytes a failureReason / failureCode may take in the proxy response. Plain ASCII text costs one byte a character,
# so in practice: at most 256 characters of reason (an IAM AccessDenied message keeps its "is not authorized to
# perform ... on resource ..." part) and 64 of code (ECR's longest is under 40).
MAX_FAILURE_REASON_BYTES = 256
MAX_FAILURE_CODE_BYTES = 64
CUT_MARK = "..."


def response_bytes(text: str) -> int:
    """What ``text`` costs inside a string of the body inside the proxy response (quotes not counted)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text)  # the common case, without building the escapes
    return len(json.dumps(json.dumps(text))) - 6  # the inner and the outer quotes


def bounded(text: str, max_bytes: int) -> str:
    """``text`` itself when it fits ``max_bytes``, else its longest prefix that fits with ``CUT_MARK`` after it."""
    if response_bytes(text) <= max_bytes:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if response_bytes(text[:middle] + CUT_MARK) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return text[:low] + CUT_MARK


def bounded_reason(reason: str) -> str:
    return bounded(reason, MAX_FAILURE_REASON_BYTES)


def bounded_code(code: str) -> str:
    return bounded(code, MAX_FAILURE_CODE_BYTES)
