"""Every decoder of client input, fed generated input: it answers with its mapped 4xx or a clean refusal, nothing else.

Decoders: page tokens (``decode_page_token``), request bodies and query strings (through the whole API door,
``lambda_handler``), and the event doors' payloads (push, both schedule forms, SQS work items). The API door runs over
fakes of our own ports (or moto in-process for the results table), so no call is slow. Each property draws
``EXAMPLES`` inputs (``LAYERCHECK_FUZZ_SCALE`` multiplies them) and prints how many it sent and how many 5xx it saw.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from layercheck.dependencies import Services
from layercheck.errors import InvalidEventError, InvalidPageTokenError
from layercheck.handler import lambda_handler
from layercheck.integrations.page_tokens import (
    decode_image_status_token,
    decode_lifecycle_risk_token,
    decode_page_token,
    decode_repository_images_token,
)
from layercheck.logic.check import BatchAnswer
from layercheck.logic.layer_check import LayerCheckService
from layercheck.models.stored import StoredItem
from layercheck.models.verdicts import LayerAnswer
from layercheck.settings import Settings
from local.lambda_context import FakeLambdaContext
from tests.conftest import ApiEvent
from tests.support import hand_layer_checks, load_event

EXAMPLES = int(1000 * float(os.environ.get("LAYERCHECK_FUZZ_SCALE", "1")))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ACCOUNT = "123456789012"
DIGEST = "sha256:" + "a" * 64

# -- strategies -------------------------------------------------------------------------------------------------

# Text that includes what a caller can smuggle through JSON escapes: lone surrogates, NUL, control characters.
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
any_text = st.one_of(st.text(max_size=40), surrogates, st.sampled_from(["", "\x00", DIGEST, f"{ACCOUNT}#app"]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), any_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)),
    max_leaves=12,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def as_token(value: Any) -> str:
    return b64url(json.dumps(value).encode())  # json.dumps writes a lone surrogate as "\ud800"


key_names = st.sampled_from(["pk", "sk", "layerDigest", "imageStatus", "imageKey", "x"])
forged_keys = st.dictionaries(key_names, st.one_of(any_text, json_scalars), min_size=1, max_size=4)
forged_tokens = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(b64url),
    json_values.map(as_token),
    forged_keys.map(as_token),
    st.builds(lambda sk: as_token({"pk": f"{ACCOUNT}#app", "sk": sk}), any_text),
    st.just(as_token({"pk": "\ud800", "sk": "x"})),
    # GET /images' tokens: the status index's four keys, near-valid and forged
    st.builds(
        lambda status, key, pk, sk: as_token({"pk": pk, "sk": sk, "imageStatus": status, "imageKey": key}),
        st.one_of(st.sampled_from(["BROKEN", "UNCHECKED", "COMPLETE"]), any_text),
        st.one_of(st.just(f"{ACCOUNT}#us-east-1#app#{DIGEST}"), any_text),
        st.one_of(st.just(f"{ACCOUNT}#us-east-1#app"), any_text),
        st.one_of(st.just(f"IMAGE#{DIGEST}"), any_text),
    ),
)


# -- page tokens ------------------------------------------------------------------------------------------------


@PROPERTY
@given(token=forged_tokens, layer_index=st.booleans())
def test_decode_page_token_returns_a_key_dynamodb_takes_or_refuses(token: str, layer_index: bool) -> None:
    key_names = frozenset({"pk", "sk", "layerDigest"} if layer_index else {"pk", "sk"})
    expected = {"layerDigest": DIGEST} if layer_index else {"pk": f"{ACCOUNT}#app"}
    try:
        key = decode_page_token(token, expected, key_names=key_names)
    except InvalidPageTokenError:
        return
    assert set(key) == key_names
    for value in key.values():
        assert 0 < len(value["S"].encode()) <= 1024  # UTF-8 encodable, as DynamoDB needs


@PROPERTY
@given(token=forged_tokens, narrowed=st.sampled_from([None, f"{ACCOUNT}#", f"{ACCOUNT}#us-east-1#"]))
def test_image_page_token_decoders_return_a_key_of_their_query_or_refuse(token: str, narrowed: str | None) -> None:
    # GET /images?status= (and ?risk=lifecycle): a key of its index with its partition, inside the registry/Region
    # asked, consistent
    for decode, names in (
        (lambda: decode_image_status_token(token, "BROKEN", narrowed), {"pk", "sk", "imageStatus", "imageKey"}),
        (
            lambda: decode_lifecycle_risk_token(token, "lifecycle", narrowed),
            {"pk", "sk", "lifecycleRiskKind", "imageKey"},
        ),
        (lambda: decode_repository_images_token(token, f"{ACCOUNT}#us-east-1#app"), {"pk", "sk"}),
    ):
        try:
            key = decode()
        except InvalidPageTokenError:
            continue
        assert set(key) == names
        assert all(0 < len(value["S"].encode()) <= 1024 for value in key.values())
        assert key["sk"]["S"].startswith("IMAGE#")
        if "imageKey" in key:
            assert key.get("imageStatus", key.get("lifecycleRiskKind")) in ({"S": "BROKEN"}, {"S": "lifecycle"})
            assert key["imageKey"]["S"] == f"{key['pk']['S']}#{key['sk']['S'].removeprefix('IMAGE#')}"
            assert narrowed is None or key["imageKey"]["S"].startswith(narrowed)


# -- the API door: bodies and query strings -----------------------------------------------------------------------


class AvailableRegistry:
    def batch_check_layer_availability(self, registry_id: str, repository_name: str, digests: list[str]) -> Any:
        return BatchAnswer(layers=[LayerAnswer(layerDigest=d, layerAvailability="AVAILABLE") for d in digests])


class MemoryStore:
    def put_verdicts(self, items: Sequence[StoredItem]) -> int:
        return len(items)


class Answers:
    """Counts answers by status; every 4xx must carry a JSON body with a message."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()

    def record(self, response: dict[str, Any]) -> int:
        status = int(response["statusCode"])
        self.statuses[status] += 1
        assert status < 500, response
        if status >= 400:
            body = json.loads(response["body"])
            assert isinstance(body, dict) and body.get("message"), response
        return status

    def report(self, label: str) -> None:
        sent = sum(self.statuses.values())
        fives = sum(n for status, n in self.statuses.items() if status >= 500)
        print(f"\n{label}: {sent} generated inputs, {fives} 5xx, statuses {dict(sorted(self.statuses.items()))}")
        assert sent >= EXAMPLES and fives == 0


repository_names = st.one_of(st.sampled_from(["platform/base", "team-a/api", "a", "UPPER"]), any_text)
digest_texts = st.one_of(st.sampled_from([DIGEST, "x", "sha512:" + "b" * 128]), any_text)
check_bodies = st.fixed_dictionaries(
    {},
    optional={
        "repositoryNames": st.one_of(st.lists(repository_names, max_size=4), json_values),
        "layerDigests": st.one_of(st.lists(digest_texts, max_size=4), json_values),
        "registryId": st.one_of(st.sampled_from([ACCOUNT, "210987654321", "42"]), json_values),
        "extra": json_values,
    },
)
# Requests that pass the schema, so that generated input reaches the registry check and the engine too.
schema_valid_bodies = st.fixed_dictionaries(
    {
        "repositoryNames": st.lists(st.sampled_from(["platform/base", "team-a/api", "b2"]), min_size=1, max_size=3),
        "layerDigests": st.lists(
            st.one_of(digest_texts, st.text("abcdef0123456789:sha+._=-", min_size=1, max_size=135)),
            min_size=1,
            max_size=4,
        ),
    },
    optional={"registryId": st.sampled_from([ACCOUNT, "210987654321"])},
)
raw_bodies = st.one_of(
    schema_valid_bodies.map(json.dumps),
    check_bodies.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=80),
    st.just("[" * 5000),
    st.builds(lambda digits: '{"registryId": ' + "9" * digits + "}", st.integers(4000, 6000)),
)
content_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""]
)


@pytest.fixture
def api_over_fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULTS_TABLE_NAME", "unused")
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # Lambda sets it in every function
    service = LayerCheckService(AvailableRegistry(), MemoryStore(), region="us-east-1")
    hand_layer_checks(monkeypatch, lambda services, registry: service)


@pytest.mark.usefixtures("api_over_fakes")
def test_any_check_request_body_gets_a_200_or_a_mapped_4xx(api_event: ApiEvent) -> None:
    answers = Answers()
    context = FakeLambdaContext()

    # One body of each answer the property asserts is always among the inputs, whatever the draw.
    served_elsewhere = {"repositoryNames": ["b2"], "layerDigests": [DIGEST], "registryId": "210987654321"}

    @PROPERTY
    @given(body=st.one_of(raw_bodies, st.binary(max_size=60)), content_type=content_types)
    @example(body=json.dumps(served_elsewhere), content_type="application/json")  # 403: a registry not served
    @example(body=json.dumps({"repositoryNames": ["b2"], "layerDigests": [DIGEST]}), content_type="application/json")
    @example(body="{", content_type="application/json")  # 400: not JSON
    @example(body="{}", content_type="application/json")  # 422: fields missing
    def property_(body: str | bytes, content_type: str) -> None:
        if isinstance(body, bytes):  # a body API Gateway passes base64-encoded (binary media types)
            event = api_event("POST", "/checks", raw_body=base64.b64encode(body).decode())
            event["isBase64Encoded"] = True
        else:
            event = api_event("POST", "/checks", raw_body=body)
        event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = content_type
        answers.record(lambda_handler(event, context))

    property_()
    answers.report("POST /checks bodies")
    assert all(answers.statuses[status] > 0 for status in (200, 400, 403, 422))


@pytest.fixture
def results_table_in_moto(aws_environment: dict[str, str]) -> Iterator[None]:
    import boto3
    from moto import mock_aws

    from layercheck.results_table_schema import create_table_arguments

    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            **create_table_arguments(aws_environment["RESULTS_TABLE_NAME"])
        )
        yield


query_names = st.sampled_from(["repositoryName", "layerDigest", "registryId", "nextToken", "limit", "other"])
query_values = st.one_of(
    st.sampled_from(["platform/base", DIGEST, ACCOUNT, "0", "100", "101", "-1", "many"]),
    forged_tokens,
    st.text(max_size=30),
)


@pytest.mark.usefixtures("results_table_in_moto")
def test_any_results_query_gets_a_200_or_a_mapped_4xx(api_event: ApiEvent) -> None:
    answers = Answers()
    context = FakeLambdaContext()

    @PROPERTY
    @given(
        query=st.one_of(
            st.dictionaries(query_names, query_values, max_size=4),
            st.fixed_dictionaries(
                {"repositoryName": st.sampled_from(["platform/base", "team-a/api"])},
                optional={"nextToken": forged_tokens, "limit": st.sampled_from(["1", "50", "100"])},
            ),
            st.fixed_dictionaries(
                {"layerDigest": st.just(DIGEST)},
                optional={"nextToken": forged_tokens, "registryId": st.sampled_from([ACCOUNT, "210987654321"])},
            ),
        )
    )
    def property_(query: dict[str, str]) -> None:
        answers.record(lambda_handler(api_event("GET", "/results", query=query or None), context))

    property_()
    answers.report("GET /results query strings")
    assert answers.statuses[200] > 0 and answers.statuses[400] > 0


# -- the event doors: a refusal is InvalidEventError (the push and schedule doors) or a failed record (SQS) -------


REMOVE = object()  # a mutation that deletes the field


def mutated(sample: dict[str, Any], paths: list[tuple[str, ...]]) -> st.SearchStrategy[dict[str, Any]]:
    """The sample with some of ``paths`` replaced by any JSON value or removed."""

    def apply(changes: dict[tuple[str, ...], Any]) -> dict[str, Any]:
        event = copy.deepcopy(sample)
        for path, value in changes.items():
            parent = event
            for part in path[:-1]:
                parent = parent.setdefault(part, {}) if isinstance(parent, dict) else {}
            if not isinstance(parent, dict):
                continue
            if value is REMOVE:
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        return event

    values = st.one_of(json_values, st.just(REMOVE), st.sampled_from([ACCOUNT, "210987654321", DIGEST, "PUSH"]))
    return st.dictionaries(st.sampled_from(paths), values, max_size=3).map(apply)


def refused_or_answered(run: Any, event: dict[str, Any], refusals: Counter[str]) -> None:
    try:
        answer = run(event, FakeLambdaContext())
    except InvalidEventError:
        refusals["refused"] += 1
        return
    assert isinstance(answer, dict)
    refusals[str(answer.get("status", "answered"))] += 1


def report(label: str, outcomes: Counter[str]) -> None:
    print(f"\n{label}: {sum(outcomes.values())} generated inputs, 0 unmapped exceptions, {dict(outcomes)}")
    assert sum(outcomes.values()) >= EXAMPLES


def test_any_push_event_is_checked_ignored_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from layercheck.doors import push

    # The door's decoding is under test: its work is stood in for, its services are fakes it is handed.
    monkeypatch.setattr(push, "run_once", lambda key, work, context: {"status": "checked"})
    services = Services(
        ACCOUNT,
        settings=Settings(results_table_name="unused", function_region="us-east-1"),
        registry_clients=SimpleNamespace(start_invocation=lambda: None),
        serve=lambda registry_id, region: SimpleNamespace(registry_id=registry_id, region=region),
    )
    detail = [("detail", name) for name in ("result", "repository-name", "image-digest", "action-type", "image-tag")]
    paths = [("account",), ("id",), ("detail-type",), ("source",), ("time",), ("detail",), *detail]
    outcomes: Counter[str] = Counter()

    @PROPERTY
    @given(event=mutated(load_event("ecr_image_push.json"), paths))
    def property_(event: dict[str, Any]) -> None:
        refused_or_answered(lambda event, context: push.handle(event, context, services), event, outcomes)

    property_()
    report("push events", outcomes)
    assert outcomes["checked"] and outcomes["refused"] and outcomes["ignored"]


def test_any_schedule_event_or_constant_input_starts_an_audit_or_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from layercheck.doors import schedule

    monkeypatch.setattr(schedule, "_start_audit", lambda audit_id, scope, context, services: {"status": "started"})
    outcomes: Counter[str] = Counter()
    scheduled = st.one_of(
        mutated(load_event(name), [("source",), ("detail-type",), ("detail",), ("id",), ("time",), ("account",)])
        for name in ("eventbridge_scheduled_event.json", "scheduler_scheduled_event.json")
    )
    scope = ("layercheckAudit",)
    constant = mutated(
        load_event("audit_constant_input.json"),
        [scope, (*scope, "repositoryPrefixes"), (*scope, "taggedOnly"), (*scope, "newestImages"), ("other",)],
    )

    @PROPERTY
    @given(event=scheduled)
    def scheduled_property(event: dict[str, Any]) -> None:
        refused_or_answered(schedule.handle_scheduled_event, event, outcomes)

    @PROPERTY
    @given(event=constant)
    def constant_property(event: dict[str, Any]) -> None:
        refused_or_answered(schedule.handle_constant_input, event, outcomes)

    scheduled_property()
    constant_property()
    report("schedule events and constant inputs", outcomes)
    assert outcomes["started"] and outcomes["refused"]


def test_any_sqs_work_item_is_processed_or_fails_its_record_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from layercheck.doors import queue

    # The door's decoding is under test, not the audit: its work is stood in for, its services are fakes it is handed.
    monkeypatch.setattr(queue, "run_once", lambda key, work, context: {"status": "audited"})
    invocation = SimpleNamespace(start=lambda remaining_ms: None)
    services = Services(
        ACCOUNT,
        registry_clients=SimpleNamespace(start_invocation=lambda: None),
        registries=SimpleNamespace(invocation=invocation),
        organization_audit=None,
        settings=Settings(results_table_name="unused", function_region="us-east-1"),
    )
    sample = load_event("sqs_audit_work_item.json")
    valid_bodies = [record["body"] for record in sample["Records"]]
    item = json.loads(valid_bodies[0])
    bodies = st.one_of(
        st.sampled_from(valid_bodies),
        st.text(max_size=60),
        json_values.map(json.dumps),
        st.dictionaries(st.sampled_from([*item, "images", "kind"]), json_values, max_size=6).map(
            lambda changes: json.dumps(item | changes)
        ),
    )
    outcomes: Counter[str] = Counter()

    @PROPERTY
    @given(batch=st.lists(bodies, min_size=1, max_size=4))
    def property_(batch: list[str]) -> None:
        records = [copy.deepcopy(sample["Records"][0]) | {"messageId": f"m{i}", "body": b} for i, b in enumerate(batch)]
        valid = {record["messageId"] for record in records if record["body"] in valid_bodies or _is_work_item(record)}
        try:
            answer = queue.handle({"Records": records}, FakeLambdaContext(), services)
        except BatchProcessingError:
            # Powertools fails the whole invocation when every record failed, so that SQS retries the batch
            assert not valid
            outcomes["batch refused"] += 1
            return
        failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
        assert failed == {record["messageId"] for record in records} - valid
        outcomes["records failed alone" if failed else "processed"] += 1

    property_()
    report("SQS audit work items", outcomes)
    assert outcomes["processed"] and outcomes["batch refused"]


def _is_work_item(record: dict[str, Any]) -> bool:
    from pydantic import ValidationError

    from layercheck.models.events import AuditWorkItemRecord

    try:
        AuditWorkItemRecord.model_validate(record)
    except ValidationError:
        return False
    return True
