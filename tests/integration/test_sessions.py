"""Per-registry clients against moto: this account with its own credentials, another through the reader role.

moto models other accounts the way the design relies on: credentials from ``sts:AssumeRole`` into
``arn:aws:iam::<account>:role/...`` act in that account (moto does not check that the role exists or trusts us), and
each Region is separate. What moto cannot do (refuse an AssumeRole, reject a Region) is staged with botocore's
Stubber, each test saying which real AWS answer it stands for.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from layercheck.integrations.sessions import RegistryClients, session_name
from layercheck.logic.registries import Registry, RegistryUnreadable

OWN = "123456789012"  # moto's default account: the function's own
MEMBER = "222233334444"
ROLE = "LayerCheckReader"


class AssumeRoleCounter:
    """Counts the AssumeRole requests an STS client sends, with their parameters (an event hook, not a mock)."""

    def __init__(self, sts: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        sts.meta.events.register("provide-client-params.sts.AssumeRole", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(dict(params))

    @property
    def calls(self) -> int:
        return len(self.requests)


class Clock:
    """botocore's RefreshableCredentials asks this for "now" (a timezone-aware datetime)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sts(aws: None) -> Any:
    return boto3.client("sts", region_name="us-east-1")


def _registry(account: str, region: str) -> Registry:
    return Registry(account_id=account, region=region)


def _repository_registry_id(client: Any, name: str) -> str:
    registry_id: str = client.create_repository(repositoryName=name)["repository"]["registryId"]
    return registry_id


def test_registry_clients_read_two_accounts_in_two_regions(sts: Any) -> None:
    counter = AssumeRoleCounter(sts)
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts)

    # When each registry's ECR client creates a repository of the same name
    found = {}
    for account in (OWN, MEMBER):
        for region in ("us-east-1", "eu-west-1"):
            client = clients.ecr(_registry(account, region))
            assert not isinstance(client, RegistryUnreadable)
            found[(account, region)] = _repository_registry_id(client, "team/web")

    # Then each lands in its own account (no collision), and only the other account needed the role
    assert found == {(a, r): a for a in (OWN, MEMBER) for r in ("us-east-1", "eu-west-1")}
    assert counter.calls == 1
    assert counter.requests[0]["RoleArn"] == f"arn:aws:iam::{MEMBER}:role/{ROLE}"
    assert counter.requests[0]["RoleSessionName"] == "layercheck"
    # And each Region is its own registry: the member's us-east-1 repository is not in eu-west-1
    member_eu = clients.ecr(_registry(MEMBER, "eu-west-1"))
    assert not isinstance(member_eu, RegistryUnreadable)
    assert [r["repositoryName"] for r in member_eu.describe_repositories()["repositories"]] == ["team/web"]


def test_registry_clients_reuse_one_client_and_one_role_session_per_account(sts: Any) -> None:
    counter = AssumeRoleCounter(sts)
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts, external_id="layercheck-central")
    registry = _registry(MEMBER, "us-east-1")
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def ask() -> None:
        barrier.wait()
        seen.append(clients.client("ecr", registry))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ecs = clients.client("ecs", registry)
    other_region = clients.client("ecr", _registry(MEMBER, "eu-west-1"))

    assert len({id(client) for client in seen}) == 1
    assert len({id(seen[0]), id(ecs), id(other_region)}) == 3
    assert counter.calls == 1  # one session for the account, whatever the service, Region or thread
    assert counter.requests[0]["ExternalId"] == "layercheck-central"


def test_registry_clients_refresh_the_role_shortly_before_it_expires(sts: Any) -> None:
    # Given credentials assumed for 15 minutes and a clock we move
    counter = AssumeRoleCounter(sts)
    clock = Clock()
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts, clock=clock, duration_seconds=900)
    client = clients.ecr(_registry(MEMBER, "us-east-1"))
    assert not isinstance(client, RegistryUnreadable)
    client.describe_repositories()
    client.describe_repositories()
    assert counter.calls == 1  # fresh credentials are reused

    # When the clock reaches 5 minutes before expiry (inside botocore's 10-minute mandatory refresh window)
    clock.now += timedelta(minutes=10)
    client.describe_repositories()

    # Then the same client assumed the role again, once, and still acts in the member account
    assert counter.calls == 2
    assert _repository_registry_id(client, "after/refresh") == MEMBER
    assert clients.ecr(_registry(MEMBER, "us-east-1")) is client


def test_registry_clients_report_a_role_that_cannot_be_assumed(sts: Any) -> None:
    # Real STS answers AccessDenied (403) when the role does not exist or does not trust the caller; moto assumes any
    # role, so the Stubber stands for that answer.
    counter = AssumeRoleCounter(sts)
    stubber = Stubber(sts)
    message = f"User: arn:aws:sts::{OWN}:assumed-role/checker/fn is not authorized to perform: sts:AssumeRole"
    stubber.add_client_error(
        "assume_role", service_error_code="AccessDenied", service_message=message, http_status_code=403
    )
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts, partition="aws")

    with stubber:
        first = clients.client("ecr", _registry(MEMBER, "us-east-1"))
        # Every Region of that account is unreadable for the rest of the invocation, without asking STS again
        second = clients.client("ecr", _registry(MEMBER, "eu-west-1"))
        stubber.assert_no_pending_responses()
    own = clients.ecr(_registry(OWN, "us-east-1"))

    assert first == RegistryUnreadable(account_id=MEMBER, region="us-east-1", code="AccessDenied", reason=message)
    assert isinstance(second, RegistryUnreadable)
    assert (second.region, second.code) == ("eu-west-1", "AccessDenied")
    assert counter.calls == 1
    # And the other registries go on
    assert not isinstance(own, RegistryUnreadable)
    assert _repository_registry_id(own, "still/readable") == OWN


def test_registry_clients_try_the_role_again_in_the_next_invocation(sts: Any) -> None:
    counter = AssumeRoleCounter(sts)
    stubber = Stubber(sts)
    stubber.add_client_error("assume_role", service_error_code="AccessDenied", http_status_code=403)
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts, partition="aws")
    with stubber:
        assert isinstance(clients.client("ecr", _registry(MEMBER, "us-east-1")), RegistryUnreadable)

    # When the next invocation starts (the reader stack was deployed meanwhile: moto now answers)
    clients.start_invocation()
    client = clients.ecr(_registry(MEMBER, "us-east-1"))

    assert not isinstance(client, RegistryUnreadable)
    assert counter.calls == 2


def test_registry_clients_remember_a_region_that_rejects_the_credentials(sts: Any) -> None:
    # Real ECR in an opt-in Region the account has not enabled answers UnrecognizedClientException ("The security
    # token included in the request is invalid"); moto serves every Region, so the Stubber stands for that answer.
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts)
    disabled = _registry(MEMBER, "ap-east-1")
    client = clients.ecr(disabled)
    assert not isinstance(client, RegistryUnreadable)
    stubber = Stubber(client)
    stubber.add_client_error(
        "describe_repositories",
        service_error_code="UnrecognizedClientException",
        service_message="The security token included in the request is invalid.",
        http_status_code=400,
    )
    with stubber, pytest.raises(ClientError) as raised:
        client.describe_repositories()

    unreadable = clients.note_failure(disabled, raised.value, registry_wide=True)

    assert unreadable is not None
    assert (unreadable.code, unreadable.region) == ("UnrecognizedClientException", "ap-east-1")
    assert clients.client("ecr", disabled) == unreadable  # remembered: no more calls to that Region
    assert not isinstance(clients.client("ecr", _registry(MEMBER, "us-east-1")), RegistryUnreadable)


def test_registry_clients_leave_a_repository_access_denied_to_the_repository(sts: Any) -> None:
    # ECR's AccessDeniedException on one repository (its repository policy denies us) is that repository's failure;
    # on a registry-wide call (DescribeRepositories) it means the reader role lacks the action: the registry's.
    clients = RegistryClients(own_account_id=OWN, role_name=ROLE, sts_client=sts)
    registry = _registry(OWN, "us-east-1")
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "BatchGetImage")

    assert clients.note_failure(registry, denied) is None
    assert clients.unreadable(registry) is None
    registry_wide = clients.note_failure(registry, denied, registry_wide=True)
    assert registry_wide is not None
    assert clients.unreadable(registry) == registry_wide


def _assume_role_answer(account: str, session: str) -> dict[str, Any]:
    """STS AssumeRole's answer, in its real shape (the Stubber checks it against botocore's STS model)."""
    return {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "SecretAccessKey": "secret-example-secret-example",
            "SessionToken": "token-example",
            "Expiration": datetime.now(UTC) + timedelta(hours=1),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": f"AROAEXAMPLEEXAMPLE:{session}",
            "Arn": f"arn:aws:sts::{account}:assumed-role/{ROLE}/{session}",
        },
    }


def test_registry_clients_name_each_invocations_session_after_the_function_and_the_request(sts: Any) -> None:
    """Real STS writes RoleSessionName into the member account's CloudTrail (``assumed-role/<role>/<session>``): the
    name tells which function and which invocation read the account. A new invocation assumes the role again, once."""
    current = {"invocation": ("LayerCheck-Worker", "11111111-aaaa-bbbb-cccc-000000000001")}
    clients = RegistryClients(
        own_account_id=OWN, role_name=ROLE, sts_client=sts, partition="aws", invocation=lambda: current["invocation"]
    )
    stubber = Stubber(sts)
    for request in ("11111111-aaaa-bbbb-cccc-000000000001", "22222222-aaaa-bbbb-cccc-000000000002"):
        session = f"LayerCheck-Worker@{request}"
        stubber.add_response(
            "assume_role",
            _assume_role_answer(MEMBER, session),
            expected_params={
                "RoleArn": f"arn:aws:iam::{MEMBER}:role/{ROLE}",
                "RoleSessionName": session,
                "DurationSeconds": 3600,
            },
        )
    with stubber:
        # Given a first invocation that reads the member account twice
        clients.start_invocation()
        client = clients.ecr(_registry(MEMBER, "us-east-1"))
        assert not isinstance(client, RegistryUnreadable)
        client.describe_repositories()
        client.describe_repositories()
        # When the next invocation reads it with the same (container-wide) client
        current["invocation"] = ("LayerCheck-Worker", "22222222-aaaa-bbbb-cccc-000000000002")
        clients.start_invocation()
        client.describe_repositories()
        # Then the role was assumed once per invocation, each under its own name
        stubber.assert_no_pending_responses()
    assert clients.session_name == "LayerCheck-Worker@22222222-aaaa-bbbb-cccc-000000000002"


@pytest.mark.parametrize(
    ("function_name", "request_id", "expected"),
    [
        ("LayerCheck-Api", "req-1", "LayerCheck-Api@req-1"),
        # A generated function name is cut to fit STS's 64 characters; the request id stays whole.
        (
            "LayerCheck-FunctionsWorkerFunction8DB5FC73-AbCdEfGh1234",
            "c6af9ac6-7b61-11e6-9a41-93e812345678",
            "LayerCheck-FunctionsWorkerF@c6af9ac6-7b61-11e6-9a41-93e812345678",
        ),
        ("odd name/with:chars", "r", "odd-name-with-chars@r"),
        (None, None, "layercheck"),
    ],
)
def test_session_name_keeps_to_sts_limits(function_name: str | None, request_id: str | None, expected: str) -> None:
    name = session_name(function_name, request_id)
    assert name == expected
    assert 2 <= len(name) <= 64 and re.fullmatch(r"[\w+=,.@-]+", name)
