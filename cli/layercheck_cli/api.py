"""The deployed layercheck API: requests signed with SigV4 (botocore's signer, service ``execute-api``).

Only HTTPS leaves the machine: a signed request over plain HTTP hands the session token and a replayable signature to
anyone on the path, so ``http://`` is refused except for loopback hosts (the local API of ``make serve``).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError
from botocore.httpsession import URLLib3Session

from layercheck.contracts import routes
from layercheck_cli.errors import ApiError, CliError
from layercheck_cli.preflight import CredentialsMissingError, UnreachableError, is_unreachable
from layercheck_cli.redact import register_secret
from layercheck_cli.session import ConnectionOptions, https_verify, region_of, timeout_seconds

SIGNING_SERVICE = "execute-api"
CHECKS_PATH = routes.CHECKS
# Route paths a user may have pasted at the end of --api-url, longest first ("/images/checks" before "/checks").
_ROUTE_PATHS = tuple(sorted({path for _, path, _ in routes.ROUTES}, key=len, reverse=True))
# https://{api-id}.execute-api.{region}.amazonaws.com/{stage}: the region the API lives in is the one to sign for.
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


NOT_FOUND = 404
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and the names ``localhost`` resolves to on every system; nothing is resolved here."""
    name = host.strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def api_base_url(api_url: str) -> str:
    """``--api-url`` checked: ``https://``, or ``http://`` to a loopback host; returned without a trailing slash."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(
            f'Bad value for --api-url "{api_url}": scheme is missing.  Must be of the form '
            "https://<hostname>/ (or http://127.0.0.1:<port>/ for a local API)"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise CliError(
            f'Bad value for --api-url "{api_url}": plain http:// is refused for {parts.hostname}: a signed request '
            "would carry your session token and signature in clear text. Use https://, or http:// only to a loopback "
            "host (127.0.0.1, ::1, localhost)."
        )
    return api_url.rstrip("/")


def checks_url(api_url: str) -> str:
    """``--api-url`` is the API's base (stage) URL; a URL that already ends in ``/checks`` is used as is."""
    base = api_base_url(api_url)
    return base if base.endswith(CHECKS_PATH) else base + CHECKS_PATH


def route_url(api_url: str, path: str, query: dict[str, str] | None = None) -> str:
    """``path`` (``/results``, ``/images``) under the API's base URL, with the query string encoded; a URL that
    already ends in one of the API's routes has it replaced."""
    base = api_base_url(api_url)
    known = next((route for route in _ROUTE_PATHS if base.endswith(route)), "")
    base = base[: len(base) - len(known)]
    encoded = f"?{urlencode(sorted((query or {}).items()))}" if query else ""
    return f"{base}{path}{encoded}"


def frozen_credentials(session: botocore.session.Session) -> Credentials:
    """One consistent (key, secret, token) triple: refreshable credentials (SSO, assumed roles, IMDS) may rotate
    between the reads of the key and of the token inside one signature, so the signer gets a frozen copy.
    The token is registered with the ``--debug`` mask."""
    credentials = session.get_credentials()
    if credentials is None:
        raise CredentialsMissingError()
    frozen = credentials.get_frozen_credentials()
    register_secret(frozen.token)
    register_secret(frozen.secret_key)
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def signing_region(url: str, configured_region: str | None) -> str:
    match = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    if match:
        return match.group(1)
    if configured_region:
        return configured_region
    raise CliError("You must specify a region to sign requests for --api-url (--region or AWS_DEFAULT_REGION).")


def check_request_body(
    registry_id: str | None, repository_names: list[str], layer_digests: list[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if registry_id:
        body["registryId"] = registry_id
    body["repositoryNames"] = repository_names
    body["layerDigests"] = layer_digests
    return body


def build_request(
    method: str, url: str, body: dict[str, Any] | None, credentials: Credentials | None, region: str
) -> AWSRequest:
    headers = {"Accept": "application/json"}
    data = b""
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode("utf-8")
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    if credentials is not None:
        SigV4Auth(credentials, SIGNING_SERVICE, region).add_auth(request)
        register_secret(request.headers.get("Authorization", "").rpartition("Signature=")[2] or None)
    return request


def send_check_request(
    request: AWSRequest, *, verify: bool | str | None, timeout: tuple[float | None, float | None]
) -> dict[str, Any]:
    """Send and return the 200 body; an error status raises ``ApiError`` with the API's own message."""
    http = URLLib3Session(verify=True if verify is None else verify, timeout=timeout)
    try:
        response = http.send(request.prepare())
    except BotoCoreError as error:
        if is_unreachable(error):
            raise UnreachableError("The layercheck API", str(error), check="--api-url") from error
        raise
    finally:
        http.close()
    text = response.content.decode("utf-8", errors="replace")
    try:
        payload: Any = json.loads(text) if text else {}
    except ValueError:
        payload = text
    if response.status_code != 200:
        refused = _api_error(response.status_code, response.headers, payload)
        if response.status_code == NOT_FOUND:
            # A wrong --api-url (no stage, a typo, another API) answers 404 for every route: say which URL it was.
            where = f"{request.method} {request.url}"
            hint = "--api-url is the API's stage URL, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1"
            refused = ApiError(refused.status, refused.code, f"{refused.message}: {where} ({hint})", refused.fields)
        raise refused
    if not isinstance(payload, dict):
        raise CliError(f"The layercheck API answered with something other than a JSON object: {text[:200]}")
    return payload


def _api_error(status: int, headers: Any, payload: Any) -> ApiError:
    code = str(headers.get("x-amzn-ErrorType", "")).split(":", 1)[0] or f"HTTP{status}"
    message = payload if isinstance(payload, str) else ""
    fields: list[str] = []
    if isinstance(payload, dict):
        code = str(payload.get("code") or payload.get("__type") or code)
        message = str(payload.get("message") or payload.get("Message") or json.dumps(payload))
        # The layercheck API names each field and the rule it broke (ErrorResponse.errors).
        for detail in payload.get("errors") or []:
            if isinstance(detail, dict):
                fields.append(str(detail.get("field", "")))
                where = ".".join(str(part) for part in (detail.get("location"), detail.get("field")) if part)
                message += f"\n  {where}: {detail.get('message', '')} ({detail.get('rule', '')})"
    return ApiError(status, code, message, tuple(fields))


def call_api(
    session: botocore.session.Session,
    options: ConnectionOptions,
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One request to the API as the global options say: signed with frozen credentials unless ``--no-sign-request``,
    TLS verified with ``--ca-bundle`` / ``AWS_CA_BUNDLE`` / the profile's ``ca_bundle``, the CLI's timeouts."""
    credentials = frozen_credentials(session) if options.sign_request else None
    region = signing_region(url, region_of(session, options)) if credentials is not None else ""
    request = build_request(method, url, body, credentials, region)
    return send_check_request(
        request,
        verify=https_verify(session, options),
        timeout=(timeout_seconds(options.connect_timeout), timeout_seconds(options.read_timeout)),
    )
