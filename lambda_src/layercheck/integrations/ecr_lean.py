"""ECR's ``BatchCheckLayerAvailability`` on a lean request path: botocore's own parts, without its per-call machinery.

A botocore client spends most of a 100-digest call's CPU in its own machinery (parameter handling, the event system,
the model walk of the answer); on one interpreter lock that, not ECR's latency, bounds a check of many repositories
(docs/BENCHMARKS.md, section 1). This port sends the same request for about half the CPU, built from the parts of the
client it is given:

- the URL, headers and body botocore would send: the endpoint is resolved once by a real call of the client stopped
  before anything is sent (the Stubber's ``before-call`` hook), so ``AWS_ENDPOINT_URL[_ECR]``, ``--endpoint-url``,
  FIPS and dual-stack settings resolve exactly as for the client (its ``meta.endpoint_url`` does not: with FIPS in
  us-east-1 it names ``ecr-fips.``, while the client sends to ``api.ecr-fips.``); the body is the JSON botocore's
  serializer writes (``json.dumps``, parameters in the same order);
- botocore's SigV4 signer (``SigV4Auth`` on an ``AWSRequest``) with the credentials' frozen copy per attempt, as
  botocore's ``RequestSigner`` does, so refreshing credentials keep working;
- the client's own HTTP session (botocore's ``URLLib3Session``: its connection pool, TLS verification from
  ``--no-verify-ssl`` / ``--ca-bundle`` / ``AWS_CA_BUNDLE``, proxies, timeouts, and its translation of transport errors
  into botocore's exceptions);
- botocore's standard retry mode, its own objects (max attempts, retryable and throttling codes, jittered exponential
  backoff, the retry quota);
- the answer read in one strict pass into the same models as ``EcrRegistry`` makes (``strict_batch_check_answer``);
  anything else in a 2xx answer, and every error answer, goes through botocore's own JSON parser, so that the result
  is what the client's would be.

``lean_or_botocore`` builds it only for a client it reproduces (JSON protocol, SigV4 or unsigned, standard retries,
botocore's HTTP session); any other client gets ``EcrRegistry``. It runs no handler registered on the client's events
(Powertools' user-agent token is one). ``tests/fault/test_ecr_lean_differential.py`` and
``test_ecr_lean_under_faults.py`` run both against the same local servers and compare their answers and the requests
they send; ``tests/unit/test_ecr_lean_route.py`` compares the endpoints.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.compat import get_current_datetime
from botocore.credentials import Credentials
from botocore.endpoint import convert_to_response_dict
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.httpsession import URLLib3Session
from botocore.parsers import create_parser
from botocore.retries import quota, standard

from layercheck.integrations.ecr import EcrRegistry, translate_error
from layercheck.logic.check import BatchAnswer, LayerAvailabilityPort
from layercheck.logic.ratelimit import RateLimiter
from layercheck.models.identifiers import ValidDigest
from layercheck.models.verdicts import layer_answers, layer_failures, strict_batch_check_answer

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

LOG = logging.getLogger(__name__)
OPERATION = "BatchCheckLayerAvailability"
SIGV4 = "aws.auth#sigv4"
# The digest sent by the probe that resolves the route; nothing is sent, so any well-formed digest does.
_PROBE_DIGEST = "sha256:" + "0" * 64
# botocore's amz-sdk-request header: these keys of the call's retry context, in this order (handlers.add_retry_headers).
RETRY_HEADER_KEYS = ("ttl", "attempt", "max")


@dataclass(frozen=True)
class Route:
    """Where and how botocore would send ``BatchCheckLayerAvailability`` for this client."""

    url: str
    headers: dict[str, str]  # X-Amz-Target, Content-Type, User-Agent: as botocore's serializer and client set them
    signing_name: str
    signing_region: str
    auth_options: tuple[str, ...]


def resolve_route(client: ECRClient) -> Route:
    """The request botocore builds for this client, up to the point where it would sign and send it: a real
    ``batch_check_layer_availability`` call stopped by a ``before-call`` handler (the hook ``botocore.stub.Stubber``
    uses). Nothing is signed or sent, so neither credentials nor a network are needed."""
    seen: dict[str, Any] = {}

    def stop(params: dict[str, Any], context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        seen.update(params=params, context=context)
        return AWSResponse(params["url"], 200, {}, None), {}

    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{OPERATION}"
    client.meta.events.register_first(event, stop, unique_id="layercheck-lean-route")
    try:
        client.batch_check_layer_availability(repositoryName="layercheck-probe", layerDigests=[_PROBE_DIGEST])
    finally:
        client.meta.events.unregister(event, unique_id="layercheck-lean-route")
    params, context = seen["params"], seen["context"]
    signing = context.get("signing") or {}
    return Route(
        url=params["url"],
        headers={name: str(value) for name, value in params["headers"].items()},
        signing_name=signing.get("signing_name") or client.meta.service_model.signing_name,
        signing_region=signing.get("region") or client.meta.region_name,
        auth_options=tuple(context.get("auth_options") or ()),
    )


def unsupported_reason(client: ECRClient, route: Route) -> str | None:
    """Why this client's calls cannot be reproduced on the lean path, or None when they can."""
    config = client.meta.config
    if client.meta.service_model.protocol != "json":
        return f"protocol {client.meta.service_model.protocol}"
    if (config.retries or {}).get("mode", "standard") != "standard":
        return f"retry mode {config.retries.get('mode')}"
    if config.signature_version not in (None, "v4", UNSIGNED):
        return f"signature version {config.signature_version}"
    if config.signature_version is not UNSIGNED and SIGV4 not in route.auth_options:
        return f"auth {route.auth_options}"
    if not isinstance(getattr(getattr(client, "_endpoint", None), "http_session", None), URLLib3Session):
        return "HTTP session"
    return None


class StandardRetries:
    """botocore's standard retry mode, from its own objects (``botocore/retries/standard.py``): the retry conditions
    (max attempts; transient codes, 5xx and connection errors; throttling codes and 429; modeled retryable errors),
    jittered exponential backoff (1 s base for throttling, 50 ms otherwise, at most 20 s) and the retry quota."""

    def __init__(self, max_attempts: int, service_name: str) -> None:
        detector = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
        self.max_attempts = max_attempts
        self._policy = standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
            retry_backoff=standard.ExponentialBackoff(service_name=service_name, throttling_detector=detector),
        )
        self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)

    def delay(self, context: standard.RetryContext) -> float | None:
        """Seconds to wait before the next attempt, or None: do not retry."""
        if not self._policy.should_retry(context) or not self._quota.acquire_retry_quota(context):
            return None
        return float(self._policy.compute_retry_delay(context))

    def succeeded(self, request_context: dict[str, Any], response: AWSResponse) -> None:
        self._quota.release_retry_quota(request_context, response)


class LeanEcrLayerCheck:
    """``LayerAvailabilityPort`` over the lean request path; raises ``RepositoryCheckError`` exactly as
    ``EcrRegistry.batch_check_layer_availability`` does (ECR's code, or the transport error's botocore class)."""

    def __init__(
        self,
        client: ECRClient,
        credentials: Credentials | None,
        *,
        route: Route | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._route = route or resolve_route(client)
        self._credentials = credentials
        self._signed = client.meta.config.signature_version is not UNSIGNED
        self._http: URLLib3Session = client._endpoint.http_session
        self._operation = client.meta.service_model.operation_model(OPERATION)
        self._parser = create_parser(client.meta.service_model.protocol)
        attempts = (client.meta.config.retries or {}).get("total_max_attempts") or standard.DEFAULT_MAX_ATTEMPTS
        self._retries = StandardRetries(attempts, client.meta.service_model.service_id.hyphenize())
        self._read_timeout = client.meta.config.read_timeout
        self._rate_limiter = rate_limiter
        self._sleep = sleep

    @property
    def max_attempts(self) -> int:
        """Attempts per call, first included: the client's resolved ``total_max_attempts`` (botocore's default 3)."""
        return self._retries.max_attempts

    def batch_check_layer_availability(
        self, registry_id: str, repository_name: str, layer_digests: Sequence[ValidDigest]
    ) -> BatchAnswer:
        if self._rate_limiter is not None:
            self._rate_limiter.acquire()
        parameters: dict[str, Any] = {"registryId": registry_id} if registry_id else {}
        parameters["repositoryName"] = repository_name
        parameters["layerDigests"] = list(layer_digests)
        response = self._send(json.dumps(parameters).encode("utf-8"))
        return self._answer(response)

    def _send(self, body: bytes) -> AWSResponse:
        """Attempts until a 2xx answer or botocore's standard mode stops retrying: botocore's endpoint loop, with its
        retry context (``invocation-id``, ``attempt``, ``ttl``) behind the ``amz-sdk-*`` headers."""
        request_context: dict[str, Any] = {"retries": {"invocation-id": str(uuid.uuid4())}}
        attempt = 1
        while True:
            request_context["retries"]["attempt"] = attempt
            try:
                request = self._signed_request(body, request_context["retries"])
            except BotoCoreError as error:  # no credentials, or their refresh failed: not retried, as in botocore
                raise translate_error(error) from error
            response: AWSResponse | None = None
            caught: Exception | None = None
            try:
                response = self._http.send(request)
            except Exception as error:  # botocore's endpoint hands every send error to the retry rules too
                caught = error
            if response is not None and response.status_code < 300:
                self._retries.succeeded(request_context, response)
                return response
            parsed = self._parse(response) if response is not None else None
            delay = self._retries.delay(
                standard.RetryContext(attempt, self._operation, parsed, response, caught, request_context)
            )
            if delay is None:
                _raise_failure(caught, parsed)
            if response is not None:
                _set_ttl(request_context["retries"], response, self._read_timeout)
            LOG.debug("retrying %s after %.3f s (attempt %d)", OPERATION, delay, attempt)
            self._sleep(delay)
            attempt += 1

    def _signed_request(self, body: bytes, retries: dict[str, Any]) -> AWSPreparedRequest:
        request = AWSRequest(method="POST", url=self._route.url, data=body, headers=dict(self._route.headers))
        if self._signed:
            if self._credentials is None:
                raise NoCredentialsError()
            frozen = self._credentials.get_frozen_credentials()
            SigV4Auth(frozen, self._route.signing_name, self._route.signing_region).add_auth(request)
        # botocore adds these after signing (they are not signed): one id per call, the attempt and its ceiling.
        request.headers["amz-sdk-invocation-id"] = retries["invocation-id"]
        retries["max"] = self._retries.max_attempts
        request.headers["amz-sdk-request"] = "; ".join(
            f"{key}={retries[key]}" for key in RETRY_HEADER_KEYS if key in retries
        )
        return request.prepare()

    def _answer(self, response: AWSResponse) -> BatchAnswer:
        try:
            answer = strict_batch_check_answer(response.content)
        except ValueError:
            # Not JSON of exactly ECR's types (a null string, a float size, an odd body): botocore's reading of it,
            # then the models EcrRegistry makes, so that the result (or the error) is the client's.
            parsed = self._parse(response)
            return BatchAnswer(
                layers=layer_answers(parsed.get("layers", [])), failures=layer_failures(parsed.get("failures", []))
            )
        return BatchAnswer(layers=answer.layers or [], failures=answer.failures or [])

    def _parse(self, response: AWSResponse) -> dict[str, Any]:
        """botocore's own reading of an answer (``Error`` with ECR's code and message for an error answer)."""
        parsed: dict[str, Any] = self._parser.parse(
            convert_to_response_dict(response, self._operation), self._operation.output_shape
        )
        return parsed


def _set_ttl(retries: dict[str, Any], response: AWSResponse, read_timeout: float | None) -> None:
    """botocore's ``ttl`` for the next attempt (``Endpoint._set_ttl``): by when the answer must arrive, on the server's
    clock (its ``Date`` header) plus the read timeout; kept from an earlier answer when this attempt had none."""
    date = response.headers.get("Date")
    if not date:
        return
    try:
        skew = datetime.datetime.strptime(date, "%a, %d %b %Y %H:%M:%S %Z") - get_current_datetime()
        deadline = get_current_datetime() + datetime.timedelta(seconds=read_timeout) + skew  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return  # no read timeout (blocking), or a Date botocore cannot read either
    retries["ttl"] = deadline.strftime("%Y%m%dT%H%M%SZ")


def _raise_failure(caught: Exception | None, parsed: dict[str, Any] | None) -> NoReturn:
    """What the call raises once retries stop, translated as ``EcrRegistry`` translates it: the transport error (any
    other exception as it is), or ECR's error answer as botocore's client raises it."""
    if caught is None:
        error = ClientError(parsed or {}, OPERATION)
        raise translate_error(error) from error
    if isinstance(caught, BotoCoreError):
        raise translate_error(caught) from caught
    raise caught


def lean_or_botocore(
    client: ECRClient, credentials: Credentials | None, *, rate_limiter: RateLimiter | None = None
) -> LayerAvailabilityPort:
    """The lean port when it reproduces this client's calls, else ``EcrRegistry`` over the client itself."""
    route = resolve_route(client)
    reason = unsupported_reason(client, route)
    if reason is not None:
        LOG.debug("lean request path not used: %s", reason)
        return EcrRegistry(client, rate_limiter=rate_limiter)
    return LeanEcrLayerCheck(client, credentials, route=route, rate_limiter=rate_limiter)
