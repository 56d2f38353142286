"""``layercheck report --api-url``: the page from a stand-in for ``GET /images`` (DESIGN.md: ``?status=BROKEN|MISSING|
UNCHECKED|ARCHIVED`` and ``?risk=lifecycle``), grouped per account and Region; a deployment that refuses a selector
with a 4xx is said so on the page and the rest renders. The local audit's page is drawn in Chromium in
tests/browser/test_report.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from layercheck_cli.main import EXIT_ERROR, EXIT_OK, main


def _verdict(account: str, region: str, repository: str, tag: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"registryId": account, "region": region, "repositoryName": repository, "imageTags": [tag],
            "imageDigest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64], "status": status,
            "observedAt": "2026-01-02T03:04:05Z", **extra}  # fmt: skip


WEB = {"kind": "ecs-service", "id": "arn:aws:ecs:eu-west-1:111122223333:service/prod/web"}
BY_SELECTOR = {
    ("status", "BROKEN"): [
        _verdict("111122223333", "eu-west-1", "team-a/api", "2.1", "BROKEN", missingLayers=["sha256:" + "c" * 64],
                 usedBy=[WEB]),
        _verdict("444455556666", "us-east-1", "team-b/jobs", "nightly", "BROKEN"),
    ],
    ("status", "MISSING"): [_verdict("111122223333", "eu-west-1", "team-a/api", "1.9", "MISSING", usedBy=[WEB])],
    ("status", "UNCHECKED"): [],
    ("status", "ARCHIVED"): [_verdict("444455556666", "us-east-1", "team-b/jobs", "2024", "ARCHIVED")],
    ("risk", "lifecycle"): [
        _verdict("111122223333", "eu-west-1", "team-a/api", "2.0", "COMPLETE", usedBy=[WEB],
                 lifecycleRisk={"action": "TRANSITION", "rulePriority": 3, "targetStorageClass": "ARCHIVE",
                                "previewedAt": "2026-01-02T00:00:00Z"}),
    ],
}  # fmt: skip


@dataclass
class ImagesApi:
    url: str = ""
    refused: dict[tuple[str, str], int] = field(default_factory=dict)  # selector -> status answered instead
    queries: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def images_api() -> Iterator[ImagesApi]:
    api = ImagesApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {name: values[-1] for name, values in parse_qs(urlsplit(self.path).query).items()}
            api.queries.append(query)
            selector = next((name, query[name]) for name in ("status", "risk") if name in query)
            status = api.refused.get(selector, 200)
            body: Any = {"items": BY_SELECTOR[selector]} if status == 200 else {
                "message": "the request breaks 1 rule(s)",
                "errors": [{"location": "query", "field": selector[0], "rule": "literal_error", "message": "no"}],
            }  # fmt: skip
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                        "AWS_DEFAULT_REGION": "eu-west-1", "AWS_CONFIG_FILE": str(tmp_path / "config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _sections(page: str) -> dict[str, str]:
    """Each account and Region's section, by its heading."""
    parts = page.split('<section class="registry"><h2>')[1:]
    return {part.split("</h2>", 1)[0]: part.split("</h2>", 1)[1] for part in parts}


def test_report_from_the_api_groups_every_kind_per_account_and_region(
    images_api: ImagesApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page_file = tmp_path / "report.html"

    code = main(["report", "--api-url", images_api.url, "--output-file", str(page_file)])

    page = page_file.read_text()
    sections = _sections(page)
    assert code == EXIT_OK
    assert list(sections) == ["Account 111122223333 · eu-west-1", "Account 444455556666 · us-east-1"]
    first, second = sections.values()
    assert '<table class="broken">' in first and "team-a/api" in first and "service/prod/web" in first
    assert '<table class="missing">' in first and "1.9" in first
    assert "lifecycle rule 3 would TRANSITION to ARCHIVE" in first.split('<table class="at-risk">', 1)[1]
    assert '<table class="unpullable">' in second and "ARCHIVED" in second and "team-b/jobs" in second
    assert '<div class="count broken"><b>2</b>' in page and '<div class="count at-risk"><b>1</b>' in page
    assert {q.get("status") or q.get("risk") for q in images_api.queries} == {
        "BROKEN", "MISSING", "UNCHECKED", "ARCHIVED", "lifecycle"
    }  # fmt: skip
    assert capsys.readouterr().err == (
        f"layercheck: wrote {page_file}: 2 broken, 1 missing, 1 archived or unchecked, "
        "1 at risk from a lifecycle rule\n"
    )


def test_report_says_which_kinds_a_deployment_does_not_list_and_renders_the_rest(
    images_api: ImagesApi, capsys: pytest.CaptureFixture[str]
) -> None:
    images_api.refused = {("status", "MISSING"): 422, ("risk", "lifecycle"): 400}

    code = main(["report", "--api-url", images_api.url, "--output-file", "-"])

    page = capsys.readouterr().out
    assert code == EXIT_OK
    assert "This deployment does not list MISSING images (GET /images?status=MISSING: HTTP 422" in page
    assert "This deployment does not list images at risk from a lifecycle rule (GET /images?risk=lifecycle" in page
    assert '<table class="broken">' in page and '<table class="missing">' not in page


def test_report_stops_when_the_api_refuses_the_caller(images_api: ImagesApi, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    images_api.refused = {("status", "BROKEN"): 403}

    code = main(["report", "--api-url", images_api.url, "--output-file", str(tmp_path / "report.html")])

    assert code == EXIT_ERROR
    assert not (tmp_path / "report.html").exists()
    assert "(HTTP 403)" in capsys.readouterr().err
