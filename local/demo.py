"""``make demo``: the whole job, end to end, on a local moto server. No AWS account, no Docker; stops what it starts."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any
from urllib.parse import quote

import boto3

from local.adapter import LocalApiGateway, json_request
from local.command_line import how_to_run
from local.demo_output import emf_totals
from local.environment import (
    create_event_resources,
    create_results_table,
    lambda_environment,
    moto_server,
    patched_environ,
)
from local.lambda_context import LOCAL_REGION
from local.scenario import demo_request, seed_registry

# moto's Lambda, asked to, reads a function's image from its own ECR as Lambda does at deployment (by default it
# accepts any URI and makes up the digest it resolved).
DEMO_ONLY_ENVIRONMENT = {"MOTO_LAMBDA_STUB_ECR": "false"}


def main() -> int:
    print("layercheck demo: a moto server on 127.0.0.1 stands in for ECR, DynamoDB, SQS, EventBridge, ECS and Lambda\n")
    with moto_server() as endpoint, patched_environ(lambda_environment(endpoint) | DEMO_ONLY_ENVIRONMENT):
        from layercheck.handler import lambda_handler

        ecr = boto3.client("ecr", region_name=LOCAL_REGION)
        seed_registry(ecr)
        create_results_table(endpoint)
        audit_queue_url = create_event_resources(endpoint)
        emf_lines: list[str] = []
        with LocalApiGateway(lambda_handler, stdout_sink=emf_lines) as api:
            print(f"local API Gateway: {api.url}   moto: {endpoint}\n")
            if not show_layer_checks(api.url, emf_lines):
                return 1
            from local import demo_deletion, demo_events, demo_in_use, demo_org
            from local.demo_output import Invoker

            invoke = Invoker(lambda_handler)
            demo_events.show_push_checks(ecr, invoke)
            changes = demo_in_use.subscribe_queue_to_bus()
            demo_in_use.run(ecr, invoke, api.url, audit_queue_url, changes)
            demo_org.run(invoke, api.url, audit_queue_url, changes)
            demo_deletion.run(ecr, invoke, api.url, changes)
    print("\ndemo finished: moto server and local API stopped\n")
    print(how_to_run("layercheck check-image team-a/api:2.0"))
    return 0


def show_layer_checks(api_url: str, emf_lines: list[str]) -> bool:
    request = demo_request()
    print(
        f"POST /checks  {len(request.repository_names)} repositories × {len(request.layer_digests)} digests"
        f" ({len(set(request.layer_digests))} distinct)"
    )
    status, answer = json_request(f"{api_url}/checks", "POST", request.body())
    if status != 200:
        print(f"unexpected answer {status}: {answer}", file=sys.stderr)
        return False
    print_verdicts(answer)
    print_metrics(emf_lines)
    print_stored(api_url, answer)
    print_rejection(api_url)
    return True


def print_verdicts(answer: dict[str, Any]) -> None:
    print(f"\ncheckId {answer['checkId']}\n")
    header = f"{'repository':<16} {'available':>9} {'unavailable':>11} {'missing':>8} {'invalid':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for result in answer["results"]:
        kinds: Counter[str] = Counter()
        kinds["available"] = sum(layer["layerAvailability"] == "AVAILABLE" for layer in result["layers"])
        kinds["unavailable"] = len(result["layers"]) - kinds["available"]
        for failure in result["failures"]:
            code = failure["failureCode"]
            kinds[{"MissingLayerDigest": "missing", "InvalidLayerDigest": "invalid"}.get(code, "errors")] += 1
        print(
            f"{result['repositoryName']:<16} {kinds['available']:>9} {kinds['unavailable']:>11} {kinds['missing']:>8}"
            f" {kinds['invalid']:>8} {kinds['errors']:>7}"
        )
    summary = answer["summary"]
    print("-" * len(header))
    print(
        f"{'summary':<16} {summary['available']:>9} {summary['unavailable']:>11} {summary['missing']:>8}"
        f" {summary['invalid']:>8} {summary['errors']:>7}   checked {summary['checked']}"
    )
    print("\nsample verdicts (one of each kind per repository):")
    print(f"  {'repository':<16} {'digest':<24} verdict")
    for result in answer["results"]:
        seen: set[str] = set()
        rows = [(layer["layerDigest"], layer["layerAvailability"]) for layer in result["layers"]]
        rows += [(f["layerDigest"], f"{f['failureCode']}: {f['failureReason']}") for f in result["failures"]]
        for digest, verdict in rows:
            kind = verdict.split(":")[0]
            if kind not in seen:
                seen.add(kind)
                print(f"  {result['repositoryName']:<16} {_short(digest):<24} {_cut(verdict, 76)}")


def print_metrics(emf_lines: list[str]) -> None:
    totals = emf_totals(emf_lines)
    print("\nEMF metrics (namespace LayerCheck, Source=api):\n  " + ", ".join(f"{k}={v}" for k, v in totals.items()))


def print_stored(api_url: str, answer: dict[str, Any]) -> None:
    repository = answer["results"][1]["repositoryName"]
    items: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    while True:
        query = f"repositoryName={quote(repository, safe='')}&limit=50" + (
            f"&nextToken={quote(token)}" if token else ""
        )
        status, page = json_request(f"{api_url}/results?{query}")
        pages += 1
        items += page["items"]
        token = page.get("nextToken")
        if status != 200 or not token:
            break
    print(f"\nGET /results?repositoryName={repository}: {len(items)} stored verdicts in {pages} pages")
    print("  one stored item: " + _cut(json.dumps(items[0], sort_keys=True), 120 - 19))
    digest = answer["results"][0]["layers"][0]["layerDigest"]
    status, page = json_request(f"{api_url}/results?layerDigest={quote(digest)}")
    holders = [f"{item['repositoryName']}={item['status']}" for item in page["items"]]
    print(f"GET /results?layerDigest={_short(digest)}: {', '.join(holders)}")


def print_rejection(api_url: str) -> None:
    status, body = json_request(f"{api_url}/checks", "POST", {"repositoryNames": [], "layerDigests": "sha256:..."})
    rules = ", ".join(f"{error['field']} ({error['rule']})" for error in body["errors"])
    print(f"\na malformed request is refused: {status}, naming each field and rule: {rules}")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(digest: str) -> str:
    return digest if len(digest) <= 24 else digest[:19] + "…" + digest[-4:]


if __name__ == "__main__":
    raise SystemExit(main())
