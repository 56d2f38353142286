"""Over real HTTP: Swagger's "Try it out" reaches the API where the document is served, and ``curl -d``
(form Content-Type) is read as the JSON it is."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urljoin

from local.adapter import LocalApiGateway, json_request
from local.seed import blob, digest_of

GOOD = {"repositoryNames": ["platform/base"], "layerDigests": [digest_of(blob("base-0"))]}


def test_the_served_documents_server_answers_locally(local_api: LocalApiGateway) -> None:
    # Given the document as Swagger UI loads it (the page's URL with ?format=json)
    document_url = f"{local_api.url}/swagger?format=json"
    status, document = json_request(document_url)
    assert status == 200

    # When a request goes where Swagger UI sends it: the server URL resolved against the document's URL
    base = urljoin(document_url, document["servers"][0]["url"]).rstrip("/")
    status, answer = json_request(f"{base}/checks", "POST", GOOD)

    # Then it reaches the API (it was /local/checks, a 404, before)
    assert status == 200, answer
    assert answer["summary"]["checked"] == 1


def test_curl_d_without_a_json_content_type_is_read_as_json(local_api: LocalApiGateway) -> None:
    # curl -d '{...}' URL sends Content-Type: application/x-www-form-urlencoded
    request = urllib.request.Request(
        f"{local_api.url}/checks",
        data=json.dumps(GOOD).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())

    assert answer["summary"]["checked"] == 1
