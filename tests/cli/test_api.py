"""``--api-url``: the check goes to the deployed API as ``POST /checks`` (``check-image``: ``POST /images/checks``),
signed with SigV4 for ``execute-api``.

A tiny HTTP server on 127.0.0.1 stands in for API Gateway: it records the request and answers like the API.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from layercheck_cli.api import signing_region
from layercheck_cli.main import EXIT_ERROR, EXIT_NOT_AVAILABLE, EXIT_OK, main

FIXED_CLOCK = datetime.datetime(2026, 1, 2, 3, 4, 5)
DIGEST = "sha256:" + "a" * 64
API_ANSWER = {
    "checkId": "chk-123",
    "results": [
        {
            "registryId": "123456789012",
            "repositoryName": "app",
            "layers": [{"layerDigest": DIGEST, "layerAvailability": "AVAILABLE", "layerSize": 9}],
            "failures": [],
        }
    ],
    "summary": {"checked": 1, "available": 1, "unavailable": 0, "missing": 0, "invalid": 0, "errors": 0},
}
IMAGE_DIGEST = "sha256:" + "c" * 64
# POST /images/checks's answer (models/images_api.py ImageCheckResponse): a stored verdict with its storage fields.
PRINTED_IMAGE_VERDICT = {
    "registryId": "123456789012",
    "region": "eu-west-1",
    "repositoryName": "app",
    "imageDigest": IMAGE_DIGEST,
    "imageTags": ["1.0"],
    "status": "COMPLETE",
    "missingLayers": [],
    "checkedAt": "2026-01-02T03:04:05Z",
    "checkId": "img-123",
}
# check-image prints one image's verdict with the counts of the answer beside it (``--query summary`` is never null).
PRINTED_IMAGE_ANSWER = PRINTED_IMAGE_VERDICT | {
    "summary": {"checked": 1, "complete": 1, "broken": 0, "missing": 0, "unchecked": 0, "archived": 0}
}
IMAGE_ANSWER = {
    "checkId": "img-123",
    "verdicts": [PRINTED_IMAGE_VERDICT | {"itemType": "image", "source": "api", "expiresAt": 1790000000}],
    "summary": {"checked": 1, "complete": 1, "broken": 0, "unchecked": 0, "archived": 0},
}


@dataclass
class FakeApi:
    url: str
    status: int = 200
    # The answer, or a function of the request's JSON body that makes it.
    answer: dict[str, Any] | Callable[[Any], dict[str, Any]] = field(default_factory=lambda: API_ANSWER)
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            api.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            answer = api.answer(json.loads(body or b"null")) if callable(api.answer) else api.answer
            payload = json.dumps(answer).encode()
            self.send_response(api.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/prod"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *args, **kwargs: FIXED_CLOCK)


def _signed_headers(authorization: str) -> list[str]:
    return authorization.split("SignedHeaders=")[1].split(",", maxsplit=1)[0].split(";")


@pytest.mark.usefixtures("env")
def test_api_url_request_carries_botocores_own_sigv4_signature(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["batch-check-layer-availability", "--api-url", fake_api.url, "--repository-name", "app"]
    argv += ["--layer-digests", DIGEST, "--registry-id", "123456789012"]

    code = main(argv)

    assert code == EXIT_OK
    [sent] = fake_api.requests
    assert sent["path"] == "/prod/checks"
    assert json.loads(sent["body"]) == {
        "registryId": "123456789012",
        "repositoryNames": ["app"],
        "layerDigests": [DIGEST],
    }
    authorization = sent["headers"]["Authorization"]
    assert authorization.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/execute-api/aws4_request"
    )
    assert sent["headers"]["X-Amz-Date"] == "20260102T030405Z"
    # Given the request as the server received it, botocore's signer for the same clock computes the same signature.
    lowered = {name.lower(): value for name, value in sent["headers"].items()}
    received = AWSRequest(
        method="POST",
        url=fake_api.url.rsplit("/prod", 1)[0] + sent["path"],
        data=sent["body"],
        headers={name: lowered[name] for name in _signed_headers(authorization) if name != "host"},
    )
    SigV4Auth(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "execute-api", "eu-west-1"
    ).add_auth(received)
    assert received.headers["Authorization"] == authorization
    assert json.loads(capsys.readouterr().out) == API_ANSWER


@pytest.mark.usefixtures("env")
def test_api_url_prints_the_answer_in_any_format_and_gates(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.answer = {
        **API_ANSWER,
        "summary": {**API_ANSWER["summary"], "checked": 2, "missing": 1},
        "results": [{**API_ANSWER["results"][0], "failures": [{"layerDigest": "sha256:" + "b" * 64,
                                                                "failureCode": "MissingLayerDigest",
                                                                "failureReason": "not found"}]}],
    }  # fmt: skip
    argv = ["batch-check-layer-availability", "--api-url", fake_api.url, "--repository-names", "app"]
    argv += ["--layer-digests", DIGEST, "--output", "text", "--query", "checkId", "--fail-on-missing"]

    code = main(argv)

    assert (code, capsys.readouterr().out) == (EXIT_NOT_AVAILABLE, "chk-123\n")
    assert "registryId" not in json.loads(fake_api.requests[0]["body"])


@pytest.mark.usefixtures("env")
def test_api_error_is_reported_like_a_service_error(fake_api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    fake_api.status = 400
    fake_api.answer = {
        "message": "invalid request",
        "errors": [{"location": "body", "field": "repositoryNames.0", "rule": "string_pattern_mismatch",
                    "message": "String should match pattern"}],
    }  # fmt: skip

    argv = ["batch-check-layer-availability", "--api-url", fake_api.url]
    argv += ["--repository-name", "UPPER", "--layer-digests", DIGEST]

    code = main(argv)

    captured = capsys.readouterr()
    assert code == EXIT_ERROR
    assert captured.out == ""
    assert captured.err.startswith("\nAn error occurred (HTTP400) when calling the layercheck API (HTTP 400): ")
    assert "body.repositoryNames.0: String should match pattern (string_pattern_mismatch)" in captured.err


@pytest.mark.usefixtures("env")
def test_no_sign_request_sends_no_signature(fake_api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["batch-check-layer-availability", "--api-url", fake_api.url, "--no-sign-request"]
    argv += ["--repository-name", "app", "--layer-digests", DIGEST]

    code = main(argv)

    assert code == EXIT_OK
    assert "Authorization" not in fake_api.requests[0]["headers"]
    capsys.readouterr()


@pytest.mark.usefixtures("env")
def test_check_image_api_url_posts_the_image_signed_like_batch_check(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.answer = IMAGE_ANSWER

    code = main(["check-image", "app:1.0", "--api-url", fake_api.url])

    assert code == EXIT_OK
    [sent] = fake_api.requests
    assert sent["path"] == "/prod/images/checks"
    assert json.loads(sent["body"]) == {"images": [{"repositoryName": "app", "imageTag": "1.0"}]}
    authorization = sent["headers"]["Authorization"]
    lowered = {name.lower(): value for name, value in sent["headers"].items()}
    received = AWSRequest(
        method="POST",
        url=fake_api.url.rsplit("/prod", 1)[0] + sent["path"],
        data=sent["body"],
        headers={name: lowered[name] for name in _signed_headers(authorization) if name != "host"},
    )
    SigV4Auth(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "execute-api", "eu-west-1"
    ).add_auth(received)
    assert received.headers["Authorization"] == authorization
    # The verdict is printed as the local check prints one: no storage fields, with the API's checkId.
    assert json.loads(capsys.readouterr().out) == PRINTED_IMAGE_ANSWER


@pytest.mark.usefixtures("env")
def test_check_image_api_url_sends_a_full_uris_registry_and_region_but_signs_for_the_apis(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    """The image lives in ap-south-1; the API (here on loopback) is signed for the configured eu-west-1."""
    fake_api.answer = IMAGE_ANSWER
    uri = f"210987654321.dkr.ecr.ap-south-1.amazonaws.com/team/app:1.0@{IMAGE_DIGEST}"

    main(["check-image", uri, "--api-url", fake_api.url + "/checks"])

    [sent] = fake_api.requests
    assert sent["path"] == "/prod/images/checks"  # a pasted /checks is replaced, not appended to
    assert json.loads(sent["body"]) == {
        "registryId": "210987654321",
        "region": "ap-south-1",
        "images": [{"repositoryName": "team/app", "imageDigest": IMAGE_DIGEST}],
    }
    assert "/eu-west-1/execute-api/aws4_request" in sent["headers"]["Authorization"]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("status", "plain_code", "gated"),
    [("COMPLETE", EXIT_OK, EXIT_OK), ("BROKEN", EXIT_OK, EXIT_NOT_AVAILABLE), ("MISSING", EXIT_OK, EXIT_NOT_AVAILABLE),
     ("ARCHIVED", EXIT_OK, EXIT_NOT_AVAILABLE), ("UNCHECKED", EXIT_ERROR, EXIT_ERROR)],
)  # fmt: skip
@pytest.mark.usefixtures("env")
def test_check_image_api_url_exit_codes_are_the_local_checks(
    fake_api: FakeApi, status: str, plain_code: int, gated: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """The verdict is printed whatever it is; an image the API could not judge (UNCHECKED) was not checked: 255 with
    or without the gate, its reason on stderr."""
    verdict = {**IMAGE_ANSWER["verdicts"][0], "status": status, "failureCode": "Why", "failureReason": "because"}
    fake_api.answer = {**IMAGE_ANSWER, "verdicts": [verdict]}
    argv = ["check-image", "app:1.0", "--api-url", fake_api.url, "--query", "status", "--output", "text"]

    plain = main(argv)
    printed = capsys.readouterr()
    with_gate = main([*argv, "--fail-on-missing"])
    capsys.readouterr()

    assert (plain, printed.out, with_gate) == (plain_code, f"{status}\n", gated)
    assert ("app:1.0: Why: because" in printed.err) == (status == "UNCHECKED")


@pytest.mark.usefixtures("env")
def test_check_image_api_error_is_reported_like_a_service_error(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.status = 403
    fake_api.answer = {"message": "registryId 000000000000 is not served by this deployment"}

    code = main(["check-image", "000000000000.dkr.ecr.eu-west-1.amazonaws.com/app:1", "--api-url", fake_api.url])

    captured = capsys.readouterr()
    assert (code, captured.out) == (EXIT_ERROR, "")
    assert "(HTTP 403): registryId 000000000000 is not served" in captured.err


@pytest.mark.usefixtures("env")
def test_check_image_api_url_no_sign_request(fake_api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    fake_api.answer = IMAGE_ANSWER

    assert main(["check-image", "app", "--api-url", fake_api.url, "--no-sign-request"]) == EXIT_OK
    assert "Authorization" not in fake_api.requests[0]["headers"]
    assert json.loads(fake_api.requests[0]["body"])["images"] == [{"repositoryName": "app", "imageTag": "latest"}]
    capsys.readouterr()


def test_signing_region_comes_from_an_execute_api_host() -> None:
    assert (
        signing_region("https://abc123.execute-api.ap-south-1.amazonaws.com/prod/checks", "us-east-1") == "ap-south-1"
    )
    assert signing_region("http://127.0.0.1:9000/checks", "us-east-1") == "us-east-1"


def _answer_each(body: dict[str, Any]) -> dict[str, Any]:
    """The API's answer to a POST /images/checks: one verdict per image asked, in order, naming its tag."""
    template = IMAGE_ANSWER["verdicts"][0]
    verdicts = [{**template, "imageTags": [image["imageTag"]]} for image in body["images"]]
    return {"checkId": f"call-{len(body['images'])}", "verdicts": verdicts, "summary": {}}


@pytest.mark.usefixtures("env")
def test_check_image_api_url_sends_at_most_100_images_a_call_and_keeps_their_order(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.answer = _answer_each
    images = [f"app:{n}" for n in range(150)]

    code = main(["check-image", *images, "--api-url", fake_api.url])

    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert [len(json.loads(request["body"])["images"]) for request in fake_api.requests] == [100, 50]
    assert [verdict["imageTags"] for verdict in document["verdicts"]] == [[str(n)] for n in range(150)]
    assert {verdict["checkId"] for verdict in document["verdicts"][100:]} == {"call-50"}
    assert document["summary"]["checked"] == 150


@pytest.mark.usefixtures("env")
def test_api_url_404_names_the_url_it_tried(fake_api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    fake_api.status, fake_api.answer = 404, {"message": "Not found"}

    code = main(["list-images", "--api-url", fake_api.url + "/v1"])

    assert code == EXIT_ERROR
    assert f"Not found: GET {fake_api.url}/v1/images?status=BROKEN (--api-url is" in capsys.readouterr().err


@pytest.mark.usefixtures("env")
def test_a_starting_token_the_api_refuses_is_named_by_its_option(
    fake_api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_api.status = 400
    fake_api.answer = {"message": "nextToken is not a token this API issued",
                       "errors": [{"location": "query", "field": "nextToken", "rule": "issued_token",
                                   "message": "nextToken is not a token this API issued"}]}  # fmt: skip
    token = "eyJuZXh0VG9rZW4iOiAiYWJjIn0="  # layercheck's shape, an API token the API never issued

    code = main(["list-images", "--api-url", fake_api.url, "--starting-token", token])

    assert code == EXIT_ERROR
    assert "Bad value for --starting-token: the API refused it: nextToken is not a token" in capsys.readouterr().err
