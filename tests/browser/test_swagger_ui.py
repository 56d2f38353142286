"""The Swagger UI page the API serves opens in headless Chromium, with no internet, and shows the ``/checks`` operation.

Powertools inlines the swagger-ui bundle and stylesheet into the page (no ``swagger_base_url``), so nothing is fetched
from a CDN. ``.ci/run`` installs Debian's ``chromium``; the test skips, saying why, only where it is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.adapter import LocalApiGateway
from local.browser import find_chromium, rendered_dom, screenshot
from local.environment import lambda_environment, moto_server

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run does it where apt-get exists)",
)


@pytest.fixture
def swagger_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_server() as endpoint:
        for name, value in lambda_environment(endpoint).items():
            monkeypatch.setenv(name, value)
        from layercheck.handler import lambda_handler

        with LocalApiGateway(lambda_handler, stdout_sink=[]) as api:
            yield f"{api.url}/swagger"


def test_swagger_ui_renders_both_operations_in_headless_chromium(swagger_url: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    dom = rendered_dom(CHROMIUM, swagger_url)

    # Swagger UI ran (the operations are rendered by its script, not present in the served HTML) ...
    operations = set(re.findall(r'class="opblock opblock-(\w+)[^"]*".*?data-path="([^"]+)"', dom, flags=re.S))
    assert ("post", "/checks") in operations
    assert ("get", "/results") in operations
    assert "Check layer digests in repositories" in dom

    # ... and it draws a page: a non-trivial PNG
    image = screenshot(CHROMIUM, swagger_url, tmp_path / "swagger-ui.png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size > 20_000
