"""The deployed layercheck API: ``POST /checks`` signed with SigV4 (botocore's signer, service ``execute-api``)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import URLLib3Session

from layercheck_cli.errors import ApiError, CliError

SIGNING_SERVICE = "execute-api"
CHECKS_PATH = "/checks"
# https://{api-id}.execute-api.{region}.amazonaws.com/{stage}: the region the API lives in is the one to sign for.
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def checks_url(api_url: str) -> str:
    """``--api-url`` is the API's base (stage) URL; a URL that already ends in ``/checks`` is used as is."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(
            f'Bad value for --api-url "{api_url}": scheme is missing.  Must be of the form '
            "http://<hostname>/ or https://<hostname>/"
        )
    base = api_url.rstrip("/")
    return base if base.endswith(CHECKS_PATH) else base + CHECKS_PATH


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


def build_check_request(url: str, body: dict[str, Any], credentials: Credentials | None, region: str) -> AWSRequest:
    """The request as sent: JSON body, signed with SigV4 when ``credentials`` are given (``--no-sign-request`` not)."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if credentials is not None:
        SigV4Auth(credentials, SIGNING_SERVICE, region).add_auth(request)
    return request


def send_check_request(
    request: AWSRequest, *, verify: bool | str | None, timeout: tuple[float | None, float | None]
) -> dict[str, Any]:
    """Send and return the 200 body; an error status raises ``ApiError`` with the API's own message."""
    http = URLLib3Session(verify=True if verify is None else verify, timeout=timeout)
    try:
        response = http.send(request.prepare())
    finally:
        http.close()
    text = response.content.decode("utf-8", errors="replace")
    try:
        payload: Any = json.loads(text) if text else {}
    except ValueError:
        payload = text
    if response.status_code != 200:
        raise _api_error(response.status_code, response.headers, payload)
    if not isinstance(payload, dict):
        raise CliError(f"The layercheck API answered with something other than a JSON object: {text[:200]}")
    return payload


def _api_error(status: int, headers: Any, payload: Any) -> ApiError:
    code = str(headers.get("x-amzn-ErrorType", "")).split(":", 1)[0] or f"HTTP{status}"
    message = payload if isinstance(payload, str) else ""
    if isinstance(payload, dict):
        code = str(payload.get("code") or payload.get("__type") or code)
        message = str(payload.get("message") or payload.get("Message") or json.dumps(payload))
        # The layercheck API names each field and the rule it broke (ErrorResponse.errors).
        for detail in payload.get("errors") or []:
            if isinstance(detail, dict):
                where = ".".join(str(part) for part in (detail.get("location"), detail.get("field")) if part)
                message += f"\n  {where}: {detail.get('message', '')} ({detail.get('rule', '')})"
    return ApiError(status, code, message)
