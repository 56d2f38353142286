"""AWS Organizations, the only module that talks to it: the accounts an ``AUDIT_ACCOUNTS=organization`` audit covers.

Implements ``logic.registries.OrganizationsPort``. Organizations answers only its management account and delegated
administrators; its errors become ``OrganizationsUnavailableError`` here, once.

The composition root keeps one ``OrganizationsAccounts()`` per container, built only when
``AUDIT_ACCOUNTS`` starts with ``organization``; the central stack grants ``organizations:ListAccounts``,
``ListAccountsForParent`` and ``ListChildren`` (infra/constructs/reader_access.py ``organizations_statement``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import client_config
from layercheck.integrations.aws_errors import code_and_message
from layercheck.logic.registries import OrganizationAccount, OrganizationsUnavailableError

# Organizations is a global service served from one Region per partition; botocore's endpoint rules route any
# Region to it, so the client's own Region is fine. Its request rate is low (a few per second): standard retries
# with a few more attempts ride out TooManyRequestsException.
RETRY_ATTEMPTS = 8
ORGANIZATIONAL_UNIT = "ORGANIZATIONAL_UNIT"


def new_client() -> Any:
    return boto3.client("organizations", config=client_config(attempts=RETRY_ATTEMPTS))


def translate_error(error: ClientError | BotoCoreError) -> OrganizationsUnavailableError:
    return OrganizationsUnavailableError(*code_and_message(error))


def _account(entry: dict[str, Any]) -> OrganizationAccount:
    # ``State`` replaces the deprecated ``Status`` (same values, plus CLOSED...); read whichever the answer carries.
    return OrganizationAccount(account_id=entry["Id"], state=entry.get("State") or entry.get("Status", ""))


class OrganizationsAccounts:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client or new_client()

    def _pages(self, operation: str, key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
        try:
            for page in self._client.get_paginator(operation).paginate(**arguments):
                yield from page.get(key, [])
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error

    def list_accounts(self) -> Iterator[OrganizationAccount]:
        return (_account(entry) for entry in self._pages("list_accounts", "Accounts"))

    def list_accounts_for_parent(self, parent_id: str) -> Iterator[OrganizationAccount]:
        return (_account(entry) for entry in self._pages("list_accounts_for_parent", "Accounts", ParentId=parent_id))

    def list_child_units(self, parent_id: str) -> Iterator[str]:
        pages = self._pages("list_children", "Children", ParentId=parent_id, ChildType=ORGANIZATIONAL_UNIT)
        return (entry["Id"] for entry in pages)
