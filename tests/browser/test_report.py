"""``layercheck report``'s page in headless Chromium: written by the installed command from a local audit of a realistic
registry (local/report_png.py's scenario: the broken monthly job that an ECS service runs, a tag in use that is gone),
opened from disk with no network; the DOM names the broken image and who runs it, and the page draws. Values are
escaped: a tag or an inventory source that holds markup stays text. The browser tier's Chromium rule applies
(tests/browser/test_swagger_ui.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from layercheck_cli.report_html import Report, render_report
from local.browser import find_chromium, rendered_dom, screenshot
from local.environment import moto_server
from local.report_png import seed_report_scenario, write_report

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (apt-get install chromium; .ci/run does it where apt-get exists)",
)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    page = tmp_path_factory.mktemp("report") / "report.html"
    with moto_server() as endpoint:
        seed_report_scenario(endpoint)
        written = write_report(endpoint, page)
    assert written.returncode == 0, written.stderr
    assert written.stderr.startswith(f"layercheck: wrote {page}: 2 broken, 1 missing, ")
    yield page


def _text(dom: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


def test_report_names_the_broken_image_and_who_runs_it_in_headless_chromium(report_page: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    dom = rendered_dom(CHROMIUM, report_page.as_uri())

    broken = dom.split('<table class="broken">', 1)[1].split("</table>", 1)[0]
    jobs_row = next(row for row in broken.split("<tr>") if "team-d/jobs" in row)
    assert "monthly" in jobs_row and "BROKEN" in jobs_row
    assert "ecs-service" in jobs_row and "service/prod/monthly-report" in jobs_row
    missing = dom.split('<table class="missing">', 1)[1].split("</table>", 1)[0]
    assert "team-a/api" in missing and "1.9" in missing and "service/prod/billing" in missing
    text = _text(dom)
    assert "2 Broken 1 Missing 0 Archived or unchecked 0 At risk from a lifecycle rule" in text
    assert "Account 123456789012 · us-east-1" in text and "generated 20" in text

    image = screenshot(CHROMIUM, report_page.as_uri(), tmp_path / "report.png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.stat().st_size > 20_000


def test_report_page_loads_nothing_and_runs_no_script(report_page: Path) -> None:
    page = report_page.read_text()

    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "default-src 'none'" in page


def test_report_values_that_hold_markup_stay_text(tmp_path: Path) -> None:
    """A tag comes from whoever pushed, an inventory source and its usedBy from whoever reported: the page escapes
    them (the DOM shows the characters, no element is made of them)."""
    assert CHROMIUM is not None
    evil = '<script>document.title="owned"</script><img src=x onerror="document.title=1">'
    verdict = {
        "registryId": "123456789012", "region": "us-east-1", "repositoryName": "team/app", "status": "BROKEN",
        "imageDigest": "sha256:" + "a" * 64, "imageTags": [evil], "missingLayers": ["sha256:" + "b" * 64],
        "failureReason": evil, "usedBy": [{"kind": "inventory", "id": evil, "reportedBy": evil}],
    }  # fmt: skip
    page = tmp_path / "evil.html"
    page.write_text(render_report(Report("test", "2026-01-01T00:00:00Z", [verdict])))

    dom = rendered_dom(CHROMIUM, page.as_uri())

    assert "<script" not in dom and "<img" not in dom
    assert dom.count('&lt;script&gt;document.title="owned"&lt;/script&gt;') == 4
    assert "<title>layercheck report · 2026-01-01T00:00:00Z</title>" in dom
