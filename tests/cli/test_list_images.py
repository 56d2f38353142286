"""``list-images`` against a stand-in for ``GET /images`` (DESIGN.md's contract: ``?status=`` across every repository,
or ``?repositoryName=``, ``limit`` and ``nextToken``; ``{"items": [image verdicts], "nextToken"}``) that records the
exact query and signature the CLI sent. The real route, behind the local API Gateway, is read end to end in
tests/e2e/test_cli_over_api.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from layercheck_cli.main import EXIT_OK, EXIT_USAGE, main


def _verdict(n: int, status: str = "BROKEN") -> dict[str, Any]:
    return {
        "registryId": "123456789012",
        "region": "eu-west-1",
        "repositoryName": f"team-{n % 3}/app",
        "imageDigest": f"sha256:{n:064x}",
        "imageTags": [f"v{n}"],
        "status": status,
        "missingLayers": [f"sha256:{n + 1000:064x}"],
        "checkedAt": "2026-01-02T03:04:05Z",
    }


VERDICTS = [_verdict(n) for n in range(5)]
VERDICTS[1] |= {"imageTags": ["v1", "stable"], "usedBy": [
    {"kind": "ecs-service", "id": "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"},
    {"kind": "lambda-function", "id": "arn:aws:lambda:eu-west-1:123456789012:function:thumbs:3"},
]}  # fmt: skip


@dataclass
class ImagesApi:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def images_api() -> Iterator[ImagesApi]:
    api = ImagesApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
            api.requests.append({"path": parts.path, "query": query, "headers": dict(self.headers.items())})
            start = int(query.get("nextToken", "0"))
            end = start + int(query.get("limit", "2"))
            page: dict[str, Any] = {"items": VERDICTS[start:end]}
            if end < len(VERDICTS):
                page["nextToken"] = str(end)
            payload = json.dumps(page).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def test_list_images_reads_every_page_of_broken_images_signed(
    images_api: ImagesApi, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list-images", "--api-url", images_api.url])

    assert code == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {"items": VERDICTS}
    assert [request["path"] for request in images_api.requests] == ["/v1/images"] * 3
    assert [request["query"] for request in images_api.requests] == [
        {"status": "BROKEN"},
        {"status": "BROKEN", "nextToken": "2"},
        {"status": "BROKEN", "nextToken": "4"},
    ]
    assert all(
        request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        and "/eu-west-1/execute-api/aws4_request" in request["headers"]["Authorization"]
        for request in images_api.requests
    )


def test_list_images_of_a_repository_with_max_items_and_page_size(
    images_api: ImagesApi, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["list-images", "--api-url", images_api.url, "--repository-name", "team-1/app"]

    code = main([*argv, "--max-items", "3", "--page-size", "2", "--output", "yaml"])
    first = yaml.safe_load(capsys.readouterr().out)
    main([*argv, "--page-size", "2", "--starting-token", first["NextToken"], "--query", "items[].imageTags[0]"])
    rest = json.loads(capsys.readouterr().out)

    assert code == EXIT_OK
    assert images_api.requests[0]["query"] == {"repositoryName": "team-1/app", "limit": "2"}
    assert [item["imageTags"][0] for item in first["items"]] + rest == ["v0", "v1", "v2", "v3", "v4"]


def test_list_images_text_output_and_filters(images_api: ImagesApi, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["list-images", "--api-url", images_api.url, "--status", "UNCHECKED", "--registry-id", "123456789012"]
    argv += ["--image-region", "eu-west-1", "--query", "items[].[repositoryName, status]", "--output", "text"]

    code = main([*argv, "--max-items", "2"])

    assert code == EXIT_OK
    assert capsys.readouterr().out == "team-0/app\tBROKEN\nteam-1/app\tBROKEN\n"
    assert images_api.requests[0]["query"] == {
        "status": "UNCHECKED",
        "registryId": "123456789012",
        "region": "eu-west-1",
    }


def test_list_images_refuses_status_with_repository_name(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["list-images", "--api-url", "https://x.example/v1", "--status", "BROKEN", "--repository-name", "a"])

    assert code == EXIT_USAGE
    assert "give one of --status and --repository-name" in capsys.readouterr().err


def test_list_images_needs_the_api_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-images"]) == EXIT_USAGE
    assert "--api-url" in capsys.readouterr().err


def test_list_images_table_is_one_line_per_image_with_who_runs_it(
    images_api: ImagesApi, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["list-images", "--api-url", images_api.url, "--output", "table", "--max-items", "3"])

    lines = capsys.readouterr().out.splitlines()
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines if line.count("|") > 2]
    assert code == EXIT_OK
    assert max(len(line) for line in lines) <= 80
    assert rows[0] == ["repository", "tags", "digest", "status", "used by"]
    assert rows[1] == ["team-0/app", "v0", "sha256:0000…0000", "BROKEN", "-"]
    assert rows[2][:2] == ["team-1/app", "v1,stable"]
    # 80 columns: who runs it gives up width first, cut in the middle
    assert rows[2][4].startswith("ecs-service") and rows[2][4].endswith("thumbs:3")
    assert len(rows) == 4  # the header and 3 images
    assert lines[-1].startswith("NextToken: ")
