"""A small evaluator of the template's resource policies, enough to prove who may do what.

Values with intrinsic functions are rendered as strings with pseudo parameters and attributes in braces
(``arn:{AWS::Partition}:cloudwatch:{AWS::Region}:{AWS::AccountId}:alarm:*``), so a request written the same way can be
matched against them. It follows IAM's rule: an explicit Deny wins, otherwise some Allow must match.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any


def render(value: Any) -> str:
    """A template value as one string: ``{"Ref": "X"}`` -> ``{X}``, ``{"Fn::GetAtt": ["X", "Arn"]}`` -> ``{X.Arn}``."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return "{" + str(value["Ref"]) + "}"
    if "Fn::GetAtt" in value:
        return "{" + ".".join(value["Fn::GetAtt"]) + "}"
    separator, parts = value["Fn::Join"]
    return str(separator).join(render(part) for part in parts)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Request:
    """A service principal asking for an action on a resource, with its request context."""

    service: str
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def _principal_matches(statement: dict[str, Any], request: Request) -> bool:
    principal = statement.get("Principal")
    if principal in ("*", {"AWS": "*"}):
        return True
    return isinstance(principal, dict) and request.service in as_list(principal.get("Service", []))


def _condition_holds(operator: str, key: str, expected: Any, request: Request) -> bool:
    actual = request.context.get(key)
    if actual is None:
        return False  # a key absent from the request fails every operator used here
    values = [render(value) for value in as_list(expected)]
    if operator == "StringEquals":
        return actual in values
    if operator == "ArnLike":
        return any(fnmatchcase(actual, pattern) for pattern in values)
    if operator == "Bool":
        return actual.lower() in [value.lower() for value in values]
    raise AssertionError(f"the evaluator does not know the condition operator {operator}")


def _matches(statement: dict[str, Any], request: Request) -> bool:
    actions = as_list(statement.get("Action", []))
    resources = [render(resource) for resource in as_list(statement.get("Resource", []))]
    return (
        _principal_matches(statement, request)
        and any(fnmatchcase(request.action, action) for action in actions)
        and any(fnmatchcase(request.resource, resource) for resource in resources)
        and all(
            _condition_holds(operator, key, expected, request)
            for operator, pairs in statement.get("Condition", {}).items()
            for key, expected in pairs.items()
        )
    )


def allows(statements: list[dict[str, Any]], request: Request) -> bool:
    if any(s["Effect"] == "Deny" and _matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, request) for s in statements)
