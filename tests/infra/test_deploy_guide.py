"""docs/DEPLOY.md stays in step with the code: the member-account settings table with the reader stack's model, and
the example change-event rules with the event contract (contracts/events.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.config import LayerCheckConfig
from infra.reader_stack import ReaderConfig
from layercheck.contracts import events, routes
from tests.infra.conftest import REPO_ROOT

GUIDE = (REPO_ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
STATUSES = {"COMPLETE", "BROKEN", "UNCHECKED", "ARCHIVED"}


def _section(title: str) -> str:
    return GUIDE.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def _aliases(model: type[LayerCheckConfig] | type[ReaderConfig]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_member_account_table_documents_every_reader_setting() -> None:
    section = _section("Member accounts")
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    # stackName and organizationId are the central stack's own keys (## Configuration), read by both stacks.
    assert documented == _aliases(ReaderConfig) - {"stackName", "organizationId"}
    assert documented <= _aliases(ReaderConfig)


def _patterns() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", _section("Change events"), flags=re.DOTALL)
    return [json.loads(block) for block in blocks]


def test_example_rules_match_layerchecks_event_as_the_contract_names_it() -> None:
    in_use_broken, recovery = _patterns()
    for pattern in (in_use_broken, recovery):
        assert pattern["source"] == [events.LAYERCHECK_SOURCE]
        assert pattern["detail-type"] == [events.IMAGE_VERDICT_CHANGED_DETAIL_TYPE]
    # Every newly BROKEN image that some workload uses: any usedBy kind the code writes.
    assert in_use_broken["detail"] == {"status": ["BROKEN"], "usedBy": {"kind": list(events.USED_BY_KINDS)}}
    # Every recovery: COMPLETE after any other status.
    assert recovery["detail"]["status"] == ["COMPLETE"]
    assert set(recovery["detail"]["previousStatus"]) == STATUSES - {"COMPLETE"}


def test_guide_names_the_bus_the_stack_creates() -> None:
    assert "`<stackName>-verdicts`" in _section("Change events")
    assert "`<stackName>-verdicts`" in _section("Configuration")


def _caller_policies() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", _section("Calling the API"), flags=re.DOTALL)
    return [json.loads(block) for block in blocks]


def _routes(policy: dict[str, Any]) -> set[str]:
    resources = policy["Resource"] if isinstance(policy["Resource"], list) else [policy["Resource"]]
    return {resource.split(":", 5)[5].split("/", 2)[2] for resource in resources}  # "<METHOD>/<path>"


def test_caller_policies_grant_reading_checking_and_reporting_apart() -> None:
    """Reporting (POST /inventory) is a privilege of its own: no example grants every route, and the one that grants
    POST /inventory grants nothing else (routes as contracts/routes.py names them)."""
    readers, checkers, reporters = (_routes(policy) for policy in _caller_policies())

    assert readers == {f"GET{routes.RESULTS}", f"GET{routes.IMAGES}", f"GET{routes.SWAGGER}"}
    assert checkers == {f"POST{routes.CHECKS}", f"POST{routes.IMAGE_CHECKS}", f"POST{routes.LIFECYCLE_PREVIEWS}"}
    assert reporters == {f"POST{routes.INVENTORY}"}
    assert "*" not in "".join(readers | checkers | reporters)
