"""``--api-url`` in a real account: no secret in ``--debug``, no signed request over plain HTTP to another
host, TLS verified with the CA bundle the user configured, and a signature from one consistent set of credentials.
Every test runs for both commands that call the API with a body: ``batch-check-layer-availability`` (POST /checks) and
``check-image`` (POST /images/checks: "signed as batch-check-layer-availability --api-url is").

A tiny HTTPS server on 127.0.0.1 with a throw-away self-signed certificate stands in for API Gateway.
"""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.credentials import ReadOnlyCredentials

from layercheck.contracts import routes
from layercheck_cli.api import is_loopback
from layercheck_cli.main import EXIT_ERROR, EXIT_OK, main
from tests.cli.test_api import API_ANSWER, DIGEST, IMAGE_ANSWER, PRINTED_IMAGE_ANSWER, FakeApi

SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-SESSION-TOKEN-0123456789abcdef"
CHECK_ARGS = ["--repository-name", "app", "--layer-digests", DIGEST]


@dataclass(frozen=True)
class ApiCommand:
    """A command that sends a signed body to the API, and what it prints for the stand-in's answer."""

    argv: list[str]
    printed: Any


API_COMMANDS = {
    "batch-check-layer-availability": ApiCommand(["batch-check-layer-availability", *CHECK_ARGS], API_ANSWER),
    "check-image": ApiCommand(["check-image", "app:1.0"], PRINTED_IMAGE_ANSWER),
}


@pytest.fixture(params=list(API_COMMANDS))
def command(request: pytest.FixtureRequest) -> ApiCommand:
    return API_COMMANDS[request.param]


@pytest.fixture
def credentials_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    return config


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``--debug`` adds a stderr handler to these loggers; take it away again after the test."""
    names = ("botocore", "layercheck", "layercheck_cli", "urllib3")
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in names}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


def _serve(api: FakeApi, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            api.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            answer = IMAGE_ANSWER if self.path.endswith(routes.IMAGE_CHECKS) else api.answer
            payload = json.dumps(answer).encode()
            self.send_response(api.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if context is not None else "http"
    api.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/prod"
    return server


@pytest.fixture
def plain_api() -> Iterator[FakeApi]:
    api = FakeApi(url="")
    server = _serve(api)
    yield api
    server.shutdown()
    server.server_close()


@dataclass
class TlsApi(FakeApi):
    certificate: Path = field(default_factory=Path)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tls")
    certificate, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate, key


@pytest.fixture
def tls_api(self_signed: tuple[Path, Path]) -> Iterator[TlsApi]:
    certificate, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    api = TlsApi(url="", certificate=certificate)
    server = _serve(api, context)
    yield api
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("credentials_env", "restore_logging")
def test_api_url_debug_masks_the_session_token_and_the_signature(
    plain_api: FakeApi, command: ApiCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*command.argv, "--api-url", plain_api.url, "--debug"])

    err = capsys.readouterr().err
    [sent] = plain_api.requests
    signature = sent["headers"]["Authorization"].rpartition("Signature=")[2]
    assert code == EXIT_OK
    assert sent["headers"]["X-Amz-Security-Token"] == SESSION_TOKEN  # the request itself carries it
    assert "CanonicalRequest" in err  # botocore's signer did log, ...
    assert SESSION_TOKEN not in err  # ... but neither the token ...
    assert signature not in err  # ... nor the signature made it to stderr
    assert "x-amz-security-token:****" in err


@pytest.mark.parametrize("url", ["http://api.example.com/prod", "http://10.0.0.8:8080/prod", "http://[2001:db8::1]/v1"])
@pytest.mark.usefixtures("credentials_env")
def test_api_url_refuses_plain_http_to_a_host_that_is_not_loopback(
    url: str, command: ApiCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*command.argv, "--api-url", url])

    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert f'Bad value for --api-url "{url}": plain http:// is refused' in err
    assert "Use https://" in err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.5.6.7", True), ("[::1]", True), ("localhost", True), ("LOCALHOST.", True),
     ("api.localhost", True), ("128.0.0.1", False), ("localhost.example.com", False), ("::2", False), ("", False)],
)  # fmt: skip
def test_is_loopback_knows_127_8_and_ipv6_and_localhost(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.usefixtures("credentials_env")
def test_api_url_over_https_fails_without_the_ca_bundle(
    tls_api: TlsApi, command: ApiCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*command.argv, "--api-url", tls_api.url])

    assert code == EXIT_ERROR
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
    assert tls_api.requests == []


@pytest.mark.usefixtures("credentials_env")
def test_api_url_honours_aws_ca_bundle(
    tls_api: TlsApi, command: ApiCommand, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tls_api.certificate))

    code = main([*command.argv, "--api-url", tls_api.url])

    assert code == EXIT_OK
    assert json.loads(capsys.readouterr().out) == command.printed
    assert len(tls_api.requests) == 1


def test_api_url_honours_the_profiles_ca_bundle(
    tls_api: TlsApi, credentials_env: Path, command: ApiCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials_env.write_text(f"[profile corp]\nregion = eu-west-1\nca_bundle = {tls_api.certificate}\n")
    # A named profile takes its keys from the files, not from the environment.
    (credentials_env.parent / "credentials").write_text(
        "[corp]\naws_access_key_id = AKIDCORP\naws_secret_access_key = s\n"
    )

    code = main([*command.argv, "--api-url", tls_api.url, "--profile", "corp"])

    assert code == EXIT_OK
    assert json.loads(capsys.readouterr().out) == command.printed


class _RotatingCredentials:
    """Refreshable credentials caught mid-rotation: every live read of a field moves to the next generation, while
    ``get_frozen_credentials()`` returns one consistent generation (botocore's contract for signing)."""

    def __init__(self) -> None:
        self.generation = 0

    def _next(self) -> int:
        self.generation += 1
        return self.generation

    @property
    def access_key(self) -> str:
        return f"ASIAGEN{self._next()}"

    @property
    def secret_key(self) -> str:
        return f"secret-{self._next()}"

    @property
    def token(self) -> str:
        return f"token-{self._next()}"

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        generation = self._next()
        return ReadOnlyCredentials(f"ASIAGEN{generation}", f"secret-{generation}", f"token-{generation}")


@pytest.mark.usefixtures("credentials_env")
def test_api_url_signs_with_one_frozen_generation_of_credentials(
    plain_api: FakeApi, command: ApiCommand, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rotating = _RotatingCredentials()
    monkeypatch.setattr(botocore.session.Session, "get_credentials", lambda self: rotating)

    code = main([*command.argv, "--api-url", plain_api.url])

    headers = plain_api.requests[0]["headers"]
    key_generation = headers["Authorization"].split("Credential=ASIAGEN")[1].split("/")[0]
    assert code == EXIT_OK
    assert headers["X-Amz-Security-Token"] == f"token-{key_generation}"
    assert rotating.generation == 1  # frozen once, never read live
    capsys.readouterr()
