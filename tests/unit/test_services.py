"""The composition root's ``Services``: the one way every door reaches a registry, the home registry included.

STS is botocore's Stubber with STS's real answers (moto's AssumeRole never refuses: real STS answers AccessDenied when
the role is missing or does not trust the caller)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from layercheck.dependencies import Services
from layercheck.doors import api, checks
from layercheck.integrations.sessions import RegistryClients
from layercheck.logic.registries import Registry, RegistryUnreadable
from layercheck.registry_services import ServedRegistry
from local.lambda_context import FakeLambdaContext
from tests.conftest import ApiEvent
from tests.support import offline_client

OWN = "123456789012"  # the account in FakeLambdaContext's function ARN
MEMBER = "222233334444"
REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]


def test_services_refuse_a_part_they_do_not_have() -> None:
    # A typo must not leave the real part in place behind a test's back.
    with pytest.raises(TypeError, match="layer_check"):
        Services(OWN, layer_check=object())
    assert Services(OWN, results="a fake").results == "a fake"


@pytest.mark.usefixtures("aws_environment")
def test_the_home_registry_is_served_as_every_registry_is_with_one_adapter_and_one_limiter() -> None:
    services = Services(OWN)
    home = Registry(account_id=OWN, region=REGION)

    served = services.serve(OWN, REGION)

    assert isinstance(served, ServedRegistry)
    assert served.ecr is services.registries.ecr(home)
    assert served.ecr is services.serve(OWN, REGION).ecr  # asked again: the same adapter, so the same rate limiter
    assert served.layer_checks() is services.registries.layer_checks(home)
    assert served.layer_checks().registry is served.ecr
    assert services.push_checks(served).catalog is served.ecr
    assert services.deletions(served).catalog is served.ecr


def _sts_with_answers(*answers: dict[str, Any] | str) -> tuple[Any, Stubber]:
    """An STS client that answers AssumeRole in turn: a code refuses it, a dict is STS's success shape."""
    sts = offline_client("sts")
    stubber = Stubber(sts)
    for answer in answers:
        if isinstance(answer, str):
            stubber.add_client_error("assume_role", service_error_code=answer, http_status_code=403)
        else:
            stubber.add_response("assume_role", answer)
    stubber.activate()
    return sts, stubber


def _assumed() -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(hours=1)
    return {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLE0000000000",
            "SecretAccessKey": "secret",
            "SessionToken": "token",
            "Expiration": expires,
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:layercheck", "Arn": f"arn:aws:sts::{MEMBER}:assumed-role/r"},
    }


@pytest.mark.usefixtures("aws_environment")
def test_a_registry_found_unreadable_is_asked_again_once_a_door_starts_the_next_invocation() -> None:
    sts, stubber = _sts_with_answers("AccessDenied", _assumed())
    clients = RegistryClients(own_account_id=OWN, role_name="LayerCheckReader", sts_client=sts, partition="aws")
    services = Services(OWN, registry_clients=clients)

    first = services.serve(MEMBER, REGION)
    again = services.serve(MEMBER, REGION)  # the same invocation: remembered, STS not asked again
    services.registry_clients.start_invocation()  # what every door does first
    next_invocation = services.serve(MEMBER, REGION)

    assert isinstance(first, RegistryUnreadable) and first.code == "AccessDenied"
    assert again == first
    assert isinstance(next_invocation, ServedRegistry)
    stubber.assert_no_pending_responses()


class CountingClients:
    def __init__(self) -> None:
        self.invocations = 0

    def start_invocation(self) -> None:
        self.invocations += 1


@pytest.mark.usefixtures("aws_environment")
def test_each_request_starts_an_invocation_of_the_registry_clients_through_both_doors(api_event: ApiEvent) -> None:
    clients = CountingClients()
    unreadable = RegistryUnreadable(account_id=OWN, region=REGION, code="AccessDenied", reason="no")
    services = Services(OWN, registry_clients=clients, serve=lambda registry_id, region: unreadable)
    event = api_event(
        "POST", "/checks", body={"repositoryNames": ["team-a/api"], "layerDigests": ["sha256:" + "a" * 64]}
    )

    for door in (checks.handle, api.handle, checks.handle):
        answer = door(json.loads(json.dumps(event)), FakeLambdaContext(), services)
        assert answer["statusCode"] == 200
        assert json.loads(answer["body"])["results"][0]["failures"][0]["failureCode"] == "AccessDenied"

    assert clients.invocations == 3


def test_a_check_cold_start_loads_no_in_use_source() -> None:
    """The audit's in-use sources are named by string in the root and imported when the audit first needs them."""
    program = (
        "import json, sys\n"
        "from layercheck.handler import _door_function\n"
        "_door_function('layercheck.doors.checks:handle')\n"
        "from layercheck import dependencies\n"
        "dependencies.services('123456789012').serve('123456789012', 'us-east-1').layer_checks()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('layercheck'))))\n"
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "lambda_src"),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RESULTS_TABLE_NAME": "results",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    ran = subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, text=True, check=True)
    loaded = set(json.loads(ran.stdout.splitlines()[-1]))

    assert "layercheck.logic.layer_check" in loaded  # the check itself was set up
    audit_only = {
        "layercheck.logic.in_use",
        "layercheck.integrations.ecs",
        "layercheck.integrations.lambda_functions",
        "layercheck.integrations.inventory_store",
        "layercheck.logic.lifecycle_guard",
        "layercheck.integrations.ecr_replication",
    }
    assert loaded.isdisjoint(audit_only), sorted(loaded & audit_only)


def test_a_part_two_threads_ask_for_at_once_is_made_once() -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from layercheck.startup import part

    made: list[object] = []
    all_asking = Barrier(8)

    class Owner:
        @part
        def limiter(self) -> object:
            made.append(object())  # a second one would give the registry a second ceiling
            time.sleep(0.01)  # making takes a while (a client is created): the others are asking meanwhile
            return made[-1]

    owner = Owner()

    def ask(_: int) -> object:
        all_asking.wait()
        return owner.limiter

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(ask, range(8)))

    assert len(made) == 1
    assert all(limiter is made[0] for limiter in seen)
