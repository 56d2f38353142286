"""The lean request path answers exactly as the botocore client does: both are run against the same local servers
(a scripted one for what moto never answers, moto itself behind the fault proxy) and their answers, errors and the
requests they sent are compared, never mocks of each other.

Each scripted answer stands for what real ECR (or a proxy in front of it) sends for ``BatchCheckLayerAvailability``:
its modelled errors (``RepositoryNotFoundException``, ``InvalidParameterException``, ``ServerException``), the common
ones (``AccessDeniedException``, ``ThrottlingException``: moto never throttles), an HTML 502 from a load balancer, a
connection dropped mid-call, an answer slower than the read timeout.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials, RefreshableCredentials

from layercheck.errors import RepositoryCheckError
from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecr_lean import LeanEcrLayerCheck
from layercheck.logic.check import BatchAnswer, LayerAvailabilityPort
from tests.fault.scripted_ecr import DROPPED, Scripted, ScriptedEcr, Seen, ecr_answer, ecr_error

REGISTRY = "123456789012"
REPOSITORY = "team-a/api"
DIGESTS = ["sha256:" + f"{index:x}" * 64 for index in range(1, 4)]
REGION = "eu-west-1"
KEYS = {"aws_access_key_id": "AKIDLEAN", "aws_secret_access_key": "lean-secret", "aws_session_token": "lean-token"}
LAYER = {
    "layerDigest": DIGESTS[0],
    "layerAvailability": "AVAILABLE",
    "layerSize": 2757421,
    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
}
MISSING = {
    "layerDigest": DIGESTS[1],
    "failureCode": "MissingLayerDigest",
    "failureReason": "The image layer could not be found in the repository.",
}
POWERTOOLS_USER_AGENT = ("PT/", "PTEnv/")
OK = ecr_answer({"layers": [LAYER], "failures": [MISSING]})
NOT_FOUND = ecr_error(
    "RepositoryNotFoundException",
    f"The repository with name '{REPOSITORY}' does not exist in the registry with id '{REGISTRY}'",
)
THROTTLED = ecr_error("ThrottlingException", "Rate exceeded")
SERVER_ERROR = ecr_error("ServerException", "Internal service error", 500)
PROXY_502 = Scripted(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", (("Content-Type", "text/html"),))


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedEcr]:
    with ScriptedEcr() as scripted:
        yield scripted


def ecr_client(endpoint: str, **config: Any) -> Any:
    """A client as the command line makes one: standard retries, no parameter validation (botocore's defaults for
    the rest: 3 attempts)."""
    session = botocore.session.Session()
    settings = {"parameter_validation": False, "retries": {"mode": "standard"}, **config}
    return session.create_client("ecr", region_name=REGION, endpoint_url=endpoint, config=Config(**settings), **KEYS)


def credentials() -> Credentials:
    return Credentials(KEYS["aws_access_key_id"], KEYS["aws_secret_access_key"], KEYS["aws_session_token"])


def ports(client: Any) -> dict[str, LayerAvailabilityPort]:
    """Both paths over one client: what one sends is what the other would have sent."""
    return {"botocore": EcrRegistry(client), "lean": LeanEcrLayerCheck(client, credentials())}


@dataclass(frozen=True)
class Outcome:
    answer: BatchAnswer | None
    error: tuple[str, str, str] | None  # exception class, code, message
    requests: list[Seen]


def run(
    port: LayerAvailabilityPort, server: ScriptedEcr, script: list[Scripted], registry_id: str = REGISTRY
) -> Outcome:
    server.play(script)
    try:
        answer = port.batch_check_layer_availability(registry_id, REPOSITORY, DIGESTS)
    except RepositoryCheckError as error:
        return Outcome(None, (type(error).__name__, error.code, error.message), list(server.seen))
    return Outcome(answer, None, list(server.seen))


def unsigned_parts(request: Seen) -> tuple[str, str, dict[str, str], bytes]:
    """A request less what changes from one call to the next (the time, so the signature and a retry's ttl, and the
    call's id). The User-Agent's ``m/`` field is botocore's set of features used (credential source, retry mode
    ...), written in no particular order: it is compared as a set. Powertools, imported by this test process, appends
    ``PT/...`` tokens to every botocore request from a ``request-created`` handler; the lean path runs no event
    handler, and the command line never imports Powertools for this command, so those tokens are left out."""
    varying = {"authorization", "x-amz-date", "amz-sdk-invocation-id"}
    headers = {name: value for name, value in request.headers.items() if name not in varying}
    if "amz-sdk-request" in headers:  # a retry's ttl is a time too (the server's clock plus the read timeout)
        headers["amz-sdk-request"] = re.sub(r"ttl=\d{8}T\d{6}Z", "ttl=<time>", headers["amz-sdk-request"])
    headers["user-agent"] = " ".join(
        "m/" + ",".join(sorted(part[2:].split(","))) if part.startswith("m/") else part
        for part in headers["user-agent"].split(" ")
        if not part.startswith(POWERTOOLS_USER_AGENT)
    )
    return request.method, request.path, headers, request.body


def differential(server: ScriptedEcr, script: list[Scripted], client: Any | None = None) -> dict[str, Outcome]:
    """The same script played to each path; the requests of both are compared here, the answers by the caller."""
    outcomes = {name: run(port, server, script) for name, port in ports(client or ecr_client(server.url)).items()}
    botocore_requests, lean_requests = outcomes["botocore"].requests, outcomes["lean"].requests
    assert len(lean_requests) == len(botocore_requests)
    for lean, botocore_request in zip(lean_requests, botocore_requests, strict=True):
        lean_method, lean_path, lean_headers, lean_body = unsigned_parts(lean)
        method, path, headers, body = unsigned_parts(botocore_request)
        assert (lean_method, lean_path, lean_body) == (method, path, body)
        assert lean_headers == headers
    return outcomes


def assert_same(outcomes: dict[str, Outcome]) -> Outcome:
    assert outcomes["lean"].answer == outcomes["botocore"].answer
    assert outcomes["lean"].error == outcomes["botocore"].error
    return outcomes["botocore"]


@pytest.mark.parametrize(
    "document",
    [
        {"layers": [LAYER], "failures": [MISSING]},
        {"layers": [{**LAYER, "layerAvailability": "ARCHIVED"}, {**LAYER, "layerDigest": DIGESTS[2]}], "failures": []},
        {"layers": [{**LAYER, "layerAvailability": "UNAVAILABLE", "layerSize": None, "mediaType": None}]},
        {"layers": [{**LAYER, "newField": {"x": 1}}], "failures": [{**MISSING, "more": 2}], "nextThing": [1, 2]},
        {"layers": None, "failures": [{**MISSING, "failureReason": None}]},
        {"layers": [{**LAYER, "layerSize": 512.0}], "failures": []},
        {"failures": [{"layerDigest": "latest", "failureCode": "InvalidLayerDigest", "failureReason": "bad"}]},
        {},
    ],
    ids=[
        "mixed",
        "archived",
        "null-optional",
        "unknown-fields",
        "null-list-and-reason",
        "float-size",
        "invalid",
        "empty",
    ],
)
def test_lean_path_reads_every_answer_as_botocore_does(server: ScriptedEcr, document: dict[str, Any]) -> None:
    outcome = assert_same(differential(server, [ecr_answer(document)]))

    assert outcome.answer is not None and len(outcome.requests) == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"layers": "nope"}', b'{"layers": [{"layerDigest": 5}]}'],
    ids=["empty-body", "not-json", "json-list", "layers-not-a-list", "digest-not-a-string"],
)
def test_lean_path_treats_an_odd_2xx_body_as_botocore_does(server: ScriptedEcr, body: bytes) -> None:
    """What a broken proxy or a future ECR might send with a 200: the lean path gives the client's result, or fails
    with the same exception."""
    results = {}
    for name, port in ports(ecr_client(server.url)).items():
        server.play([Scripted(200, body)])
        try:
            results[name] = ("answer", port.batch_check_layer_availability(REGISTRY, REPOSITORY, DIGESTS))
        except Exception as error:
            results[name] = ("raised", type(error).__name__, str(error))

    assert results["lean"] == results["botocore"]


@pytest.mark.parametrize(
    "error",
    [
        NOT_FOUND,
        ecr_error("InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy constraint"),
        ecr_error("AccessDeniedException", "User: arn:aws:iam::123456789012:user/x is not authorized", 400),
        ecr_error("com.amazonaws.ecr#RepositoryNotFoundException", "namespaced code"),
        Scripted(400, b"", (("x-amzn-ErrorType", "ValidationException:"),)),
    ],
    ids=["repository-not-found", "invalid-parameter", "access-denied", "namespaced-type", "header-only"],
)
def test_lean_path_raises_each_error_ecr_returns_with_its_code_and_message(
    server: ScriptedEcr, error: Scripted
) -> None:
    """Errors that are not retried: one request each, the same code and message from both paths."""
    outcome = assert_same(differential(server, [error]))

    assert outcome.error is not None and len(outcome.requests) == 1


def retry_deadline(request: Seen) -> datetime.datetime:
    ttl = request.headers["amz-sdk-request"].split("ttl=")[1].split(";")[0]
    return datetime.datetime.strptime(ttl, "%Y%m%dT%H%M%SZ")


def test_lean_path_retries_throttling_then_answers(server: ScriptedEcr) -> None:
    """Real ECR throttles above 1,000 calls/s per account and Region (moto never does); standard mode retries it, and
    each retry carries botocore's ttl: the server's clock (its Date header) plus the read timeout."""
    outcomes = differential(server, [THROTTLED, THROTTLED, OK])

    outcome = assert_same(outcomes)
    assert outcome.answer is not None and len(outcome.requests) == 3
    assert [request.headers["amz-sdk-request"].split("attempt=")[1] for request in outcome.requests] == [
        "1; max=3",
        "2; max=3",
        "3; max=3",
    ]
    lean_deadline = retry_deadline(outcomes["lean"].requests[1])
    assert abs(lean_deadline - retry_deadline(outcome.requests[1])) <= datetime.timedelta(seconds=2)


@pytest.mark.parametrize(
    ("script", "code"),
    [
        ([THROTTLED] * 3, "ThrottlingException"),
        ([SERVER_ERROR] * 3, "ServerException"),
        ([PROXY_502] * 3, "502"),
        ([Scripted(503, b"Service Unavailable", (("Content-Type", "text/plain"),))] * 3, "503"),
        ([Scripted(429, b"")] * 3, "429"),
    ],
    ids=["throttling", "server-exception", "proxy-html-502", "proxy-text-503", "empty-429"],
)
def test_lean_path_gives_up_after_the_same_attempts_with_the_same_error(
    server: ScriptedEcr, script: list[Scripted], code: str
) -> None:
    outcome = assert_same(differential(server, script))

    assert outcome.error is not None and outcome.error[1] == code and len(outcome.requests) == 3


@pytest.mark.parametrize(
    "script",
    [[SERVER_ERROR, OK], [PROXY_502, OK], [DROPPED, OK], [Scripted(429, b""), OK]],
    ids=["server-exception", "proxy-html-502", "dropped-connection", "empty-429"],
)
def test_lean_path_retries_what_botocore_retries(server: ScriptedEcr, script: list[Scripted]) -> None:
    outcome = assert_same(differential(server, script))

    assert outcome.answer is not None and len(outcome.requests) == 2


def test_lean_path_reports_a_dropped_connection_as_botocore_names_it(server: ScriptedEcr) -> None:
    outcome = assert_same(differential(server, [DROPPED] * 3))

    assert outcome.error is not None and outcome.error[1] == "ConnectionClosedError"


def test_lean_path_times_out_as_the_client_is_configured(server: ScriptedEcr) -> None:
    """``--cli-read-timeout``: an answer slower than it is a ReadTimeoutError, retried, then the call's error."""
    slow = Scripted(200, OK.body, delay_seconds=0.6)
    client = ecr_client(server.url, read_timeout=0.2, retries={"mode": "standard", "total_max_attempts": 2})

    outcome = assert_same(differential(server, [slow, slow], client))

    assert outcome.error is not None and outcome.error[1] == "ReadTimeoutError" and len(outcome.requests) == 2


def test_lean_path_reports_a_refused_connection_as_botocore_does() -> None:
    client = ecr_client("http://127.0.0.1:9", retries={"mode": "standard", "total_max_attempts": 2})

    errors = {}
    for name, port in ports(client).items():
        with pytest.raises(RepositoryCheckError) as raised:
            port.batch_check_layer_availability(REGISTRY, REPOSITORY, DIGESTS)
        errors[name] = (raised.value.code, raised.value.message)

    assert errors["lean"] == errors["botocore"]
    assert errors["lean"][0] == "EndpointConnectionError" and "http://127.0.0.1:9/" in errors["lean"][1]


def signature_is_valid(request: Seen, url: str, keys: Credentials) -> bool:
    """Recompute SigV4 over the received request (the headers it says it signed, its body and its date)."""
    authorization = request.headers["authorization"]
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    replay = AWSRequest(
        method=request.method,
        url=url + request.path,
        data=request.body,
        headers={h: request.headers[h] for h in signed},
    )
    replay.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(keys, scope[3], scope[2])
    expected = signer.signature(signer.string_to_sign(replay, signer.canonical_request(replay)), replay)
    return authorization.endswith(f"Signature={expected}")


def test_lean_path_signs_the_same_request_botocore_sends(server: ScriptedEcr) -> None:
    """Same method, path, body bytes and headers (Host, X-Amz-Target, Content-Type, the session token, User-Agent,
    amz-sdk-request); the same credential scope and signed headers; both signatures valid for what was received."""
    outcomes = differential(server, [OK])

    sent = {name: outcome.requests[0] for name, outcome in outcomes.items()}
    assert json.loads(sent["lean"].body) == {
        "registryId": REGISTRY,
        "repositoryName": REPOSITORY,
        "layerDigests": DIGESTS,
    }
    assert sent["lean"].headers["x-amz-security-token"] == KEYS["aws_session_token"]
    scopes = {
        name: request.headers["authorization"].split(", Signature=")[0].replace(request.headers["x-amz-date"][:8], "D")
        for name, request in sent.items()
    }
    assert scopes["lean"] == scopes["botocore"]
    assert "/eu-west-1/ecr/aws4_request" in scopes["lean"]
    assert all(signature_is_valid(request, server.url, credentials()) for request in sent.values())


def test_lean_path_leaves_an_empty_registry_out_of_the_request(server: ScriptedEcr) -> None:
    requests = {
        name: run(port, server, [OK], registry_id="").requests for name, port in ports(ecr_client(server.url)).items()
    }

    assert [unsigned_parts(r) for r in requests["lean"]] == [unsigned_parts(r) for r in requests["botocore"]]
    assert "registryId" not in json.loads(requests["lean"][0].body)


def test_lean_path_sends_unsigned_requests_when_the_client_does_not_sign(server: ScriptedEcr) -> None:
    """``--no-sign-request``: no Authorization, no date, no token, from either path."""
    from botocore import UNSIGNED

    outcome = assert_same(differential(server, [OK], ecr_client(server.url, signature_version=UNSIGNED)))

    assert not {"authorization", "x-amz-date", "x-amz-security-token"} & set(outcome.requests[0].headers)


def test_lean_path_without_credentials_fails_as_botocore_does(
    server: ScriptedEcr, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """No credentials anywhere: every call fails before anything is sent, with botocore's NoCredentialsError."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = botocore.session.Session()
    client = session.create_client("ecr", region_name=REGION, endpoint_url=server.url)
    assert session.get_credentials() is None

    errors = {}
    for name, port in {"botocore": EcrRegistry(client), "lean": LeanEcrLayerCheck(client, None)}.items():
        server.play([OK])
        with pytest.raises(RepositoryCheckError) as raised:
            port.batch_check_layer_availability(REGISTRY, REPOSITORY, DIGESTS)
        errors[name] = (raised.value.code, raised.value.message, len(server.seen))

    assert errors["lean"] == errors["botocore"] == ("NoCredentialsError", "Unable to locate credentials", 0)


def test_lean_path_signs_each_call_with_the_credentials_current_then(server: ScriptedEcr) -> None:
    """Refreshing credentials (an assumed role, SSO): each call signs with their frozen copy of the moment, so a
    refresh between two calls shows in the second one's signature."""
    issued = iter(f"AKIDROTATED{index}" for index in range(10))

    def refresh() -> dict[str, str]:
        # Always inside botocore's advisory refresh window (15 minutes), so each read of the credentials refreshes.
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=12)
        return {"access_key": next(issued), "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}

    rotating = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    port = LeanEcrLayerCheck(ecr_client(server.url), rotating)

    keys = []
    for _ in range(2):
        run(port, server, [OK])
        keys.append(server.seen[0].headers["authorization"].split("Credential=")[1].split("/")[0])

    assert keys == ["AKIDROTATED1", "AKIDROTATED2"]


class CountingLimiter:
    def __init__(self) -> None:
        self.tokens = 0

    def acquire(self) -> float:
        self.tokens += 1
        return 0.0


def test_lean_path_takes_one_rate_limiter_token_per_call_not_per_attempt(server: ScriptedEcr) -> None:
    limiter = CountingLimiter()
    port = LeanEcrLayerCheck(ecr_client(server.url), credentials(), rate_limiter=limiter)  # type: ignore[arg-type]

    run(port, server, [THROTTLED, OK])
    run(port, server, [OK])

    assert limiter.tokens == 2
