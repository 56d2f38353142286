"""Credentials and clients per registry (account × Region): this account with the function's own role, every other
account through ``sts:AssumeRole`` into ``arn:<partition>:iam::<account>:role/<READER_ROLE_NAME>``.

- One botocore session per account per container, whose credentials are assumed with a session name that names the
  function and the invocation (``<function name>@<request id>``, STS's 2–64 characters of ``[A-Za-z0-9_+=,.@-]``),
  so that the member account's CloudTrail tells which invocation read it. ``start_invocation()`` (once per Lambda
  invocation) makes every account's credentials stale: the first call of the invocation that signs with them assumes
  the role again, under the new name. Cost: one ``AssumeRole`` per invocation per other account it reads (about
  50–100 ms and one STS call; none for an invocation that reads no other account); botocore also refreshes them
  before they expire (15 minutes ahead, or 10 at the latest), as for any assumed role.
- One client per (service, account, Region) per container, created under a lock (boto3 clients are thread-safe, their
  creation is not); clients keep working across invocations, since their credentials renew themselves.
- A registry that cannot be read becomes a ``RegistryUnreadable`` (code and reason), never an exception that fails the
  audit; the failure is remembered until ``start_invocation()``, so the other work of the invocation neither assumes
  the role again nor calls the Region again: no retry storm.
  An ``AssumeRole`` failure covers every Region of that account; a Region's failure (not enabled, endpoint
  unreachable) only that Region.

The composition root (dependencies.py) keeps one ``RegistryClients`` per container, handing it ``invocation``: where
the current invocation's function name and request id are read (the Lambda context the handler's logger holds).
An integration that serves a registry passes any ``ClientError`` / ``BotoCoreError`` it meets to
``note_failure(registry, error, registry_wide=...)``: when that returns a ``RegistryUnreadable``, the work item records
it and stops.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import CONTROL_PLANE_SERVICES, client_config, control_plane_config
from layercheck.integrations.aws_errors import code_and_message
from layercheck.logic.registries import Registry, RegistryUnreadable

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

SESSION_NAME = "layercheck"  # outside an invocation (tests, the command line)
# STS RoleSessionName: 2 to 64 characters of [\w+=,.@-].
# https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
SESSION_NAME_MAX = 64
_NOT_IN_SESSION_NAME = re.compile(r"[^\w+=,.@-]")
# One hour, STS's default and the most a role allows without raising its MaxSessionDuration; botocore refreshes it
# before it ends, so the length only sets how often AssumeRole is called (once an hour per account and container).
ASSUME_ROLE_SECONDS = 3600
# The threads that may share one registry's client: the check's workers, the audit's and the API's at once.
SHARED_CLIENT_THREADS = 64

# Errors that mean "this registry cannot be read by this deployment", whatever the call:
# - AssumeRole: AccessDenied (the role is missing, or does not trust us: STS does not tell the two apart),
#   RegionDisabledException (STS's Regional endpoint in a Region the account has not enabled);
# - any service call: UnrecognizedClientException / InvalidClientTokenId (the credentials are unknown in that Region:
#   an opt-in Region the account has not enabled), OptInRequired, AuthFailure;
# - EndpointConnectionError after botocore's retries: no endpoint answers for that Region.
UNREADABLE_CODES = frozenset(
    {
        "AccessDenied",
        "RegionDisabledException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "OptInRequired",
        "AuthFailure",
        "EndpointConnectionError",
    }
)
# A service's own AccessDeniedException means the whole registry only on a registry-wide call (DescribeRepositories,
# DescribeRegistry: the reader role lacks the action); on one repository it is that repository's failure.
REGISTRY_WIDE_CODES = frozenset({"AccessDeniedException"})


def own_session() -> boto3.Session:
    """The function's own credentials: boto3's default session, the one ``boto3.client()`` uses too, so the container
    loads its credentials, endpoints and service models once."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


def ecr_regions(home_region: str) -> frozenset[str]:
    """The Regions botocore knows Amazon ECR in, in the home Region's partition: a Region outside it has no endpoint
    to call (botocore would retry a DNS failure for seconds before giving up)."""
    session = botocore.session.get_session()
    partition = session.get_partition_for_region(home_region)
    return frozenset(session.get_available_regions("ecr", partition_name=partition))


def unreadable_from_error(
    registry: Registry, error: ClientError | BotoCoreError, *, registry_wide: bool = False
) -> RegistryUnreadable | None:
    """The one place that decides whether an AWS error makes the whole registry unreadable (else None)."""
    code, message = code_and_message(error)
    if code in UNREADABLE_CODES or (registry_wide and code in REGISTRY_WIDE_CODES):
        return RegistryUnreadable(account_id=registry.account_id, region=registry.region, code=code, reason=message)
    return None


def session_name(function_name: str | None, request_id: str | None) -> str:
    """``<function name>@<request id>`` within STS's limits: the request id whole (it tells invocations apart), the
    function name cut to what is left; ``SESSION_NAME`` when neither is known."""
    request = _NOT_IN_SESSION_NAME.sub("-", request_id or "")[: SESSION_NAME_MAX - 2]
    room = SESSION_NAME_MAX - len(request) - (1 if request else 0)
    function = _NOT_IN_SESSION_NAME.sub("-", function_name or SESSION_NAME)[:room]
    name = f"{function}@{request}" if request else function
    return name if len(name) >= 2 else SESSION_NAME


Invocation = Callable[[], tuple[str | None, str | None]]  # (function name, request id) of the current invocation


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


class _FixedCredentials(CredentialProvider):  # type: ignore[misc]
    """Hands botocore's session the account's refreshable credentials instead of its default provider chain."""

    METHOD = "layercheck-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


class _InvocationCredentials(RefreshableCredentials):  # type: ignore[misc]
    """botocore's refreshable credentials, also stale once a new invocation has started (``generation`` moved on):
    refreshed then like expiring ones, under botocore's refresh lock, by a new AssumeRole."""

    def __init__(self, *, generation: Callable[[], int], **kwargs: Any) -> None:
        self._generation = generation
        self.assumed_in = generation()
        assume = kwargs.pop("refresh_using")

        def refresh() -> dict[str, Any]:
            current = self._generation()
            metadata: dict[str, Any] = assume()
            self.assumed_in = current
            return metadata

        super().__init__(refresh_using=refresh, **kwargs)

    def refresh_needed(self, refresh_in: int | None = None) -> bool:
        return self.assumed_in != self._generation() or bool(super().refresh_needed(refresh_in))


class RegistryClients:
    def __init__(
        self,
        *,
        own_account_id: str,
        role_name: str,
        sts_client: Any | None = None,
        own_session: boto3.Session | None = None,
        partition: str | None = None,
        external_id: str | None = None,
        config: Config | None = None,
        clock: Callable[[], datetime] | None = None,
        duration_seconds: int = ASSUME_ROLE_SECONDS,
        invocation: Invocation | None = None,
    ) -> None:
        self._own_account_id = own_account_id
        self._role_name = role_name
        self._own_session = own_session or boto3.Session()
        # Made when another account is first read: a function that reads only its own never creates an STS client.
        self._given_sts = sts_client
        self._given_partition = partition
        self._external_id = external_id
        self._config = config or client_config(SHARED_CLIENT_THREADS)
        self._control_plane_config = config or control_plane_config(SHARED_CLIENT_THREADS)
        self._clock = clock
        self._duration_seconds = duration_seconds
        self._invocation = invocation
        self._generation = 0
        self._session_name = session_name(*invocation()) if invocation else SESSION_NAME
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], BaseClient] = {}
        self._account_failures: dict[str, tuple[str, str]] = {}
        self._registry_failures: dict[Registry, RegistryUnreadable] = {}

    # -- failures --------------------------------------------------------------------------------------------------

    def start_invocation(self) -> None:
        """Forget the failures of the previous invocation (a role deployed meanwhile is tried again, once), and name
        this invocation's sessions: each account's role is assumed again on first use, under the new name."""
        name = session_name(*self._invocation()) if self._invocation else SESSION_NAME
        with self._lock:
            self._account_failures.clear()
            self._registry_failures.clear()
            self._session_name = name
            self._generation += 1

    @property
    def session_name(self) -> str:
        """The RoleSessionName of this invocation's AssumeRole calls."""
        return self._session_name

    def _current_generation(self) -> int:
        return self._generation

    def unreadable(self, registry: Registry) -> RegistryUnreadable | None:
        with self._lock:
            return self._known_failure(registry)

    def _known_failure(self, registry: Registry) -> RegistryUnreadable | None:
        if registry in self._registry_failures:
            return self._registry_failures[registry]
        if registry.account_id in self._account_failures:
            code, reason = self._account_failures[registry.account_id]
            return RegistryUnreadable(account_id=registry.account_id, region=registry.region, code=code, reason=reason)
        return None

    def note_failure(
        self, registry: Registry, error: ClientError | BotoCoreError, *, registry_wide: bool = False
    ) -> RegistryUnreadable | None:
        """Classify an error met on a registry's client; remember and return it if it makes the registry unreadable."""
        unreadable = unreadable_from_error(registry, error, registry_wide=registry_wide)
        if unreadable is not None:
            with self._lock:
                self._registry_failures[registry] = unreadable
        return unreadable

    # -- clients ---------------------------------------------------------------------------------------------------

    def ecr(self, registry: Registry) -> ECRClient | RegistryUnreadable:
        client = self.client("ecr", registry)
        return client if isinstance(client, RegistryUnreadable) else cast("ECRClient", client)

    def client(self, service: str, registry: Registry) -> BaseClient | RegistryUnreadable:
        """The container's one client of ``service`` for the registry, or why the registry cannot be read."""
        key = (service, registry.account_id, registry.region)
        with self._lock:
            known = self._known_failure(registry)
            if known is not None:
                return known
            if key in self._clients:
                return self._clients[key]
            account_lock = self._account_locks.setdefault(registry.account_id, threading.Lock())
        with account_lock:  # one AssumeRole per account even when many threads ask at once
            session = self._session(registry)
            if isinstance(session, RegistryUnreadable):
                return session
            with self._lock:
                if key not in self._clients:
                    config = self._control_plane_config if service in CONTROL_PLANE_SERVICES else self._config
                    self._clients[key] = session.client(service, region_name=registry.region, config=config)
                return self._clients[key]

    def _session(self, registry: Registry) -> boto3.Session | RegistryUnreadable:
        account = registry.account_id
        if account == self._own_account_id:
            return self._own_session
        with self._lock:
            if account in self._sessions:
                return self._sessions[account]
            known = self._known_failure(registry)
            if known is not None:
                return known
        try:
            credentials = self._assumed_credentials(account)
        except (ClientError, BotoCoreError) as error:
            code, reason = code_and_message(error)
            with self._lock:
                self._account_failures[account] = (code, reason)
            return RegistryUnreadable(account_id=account, region=registry.region, code=code, reason=reason)
        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver(providers=[_FixedCredentials(credentials)]))
        session = boto3.Session(botocore_session=core)
        with self._lock:
            self._sessions[account] = session
        return session

    @functools.cached_property
    def _sts(self) -> Any:
        """STS's Regional endpoint (botocore's default) in the function's Region: its tokens work in every Region."""
        with self._lock:  # clients of the shared session are created one at a time (creation is not thread-safe)
            return self._given_sts or self._own_session.client("sts", config=client_config(SHARED_CLIENT_THREADS))

    @functools.cached_property
    def _partition(self) -> str:
        return self._given_partition or self._own_session.get_partition_for_region(self._sts.meta.region_name)

    def _assume(self, account_id: str) -> dict[str, Any]:
        """One AssumeRole, as the metadata ``RefreshableCredentials`` reads (first, and on each refresh)."""
        arguments: dict[str, Any] = {
            "RoleArn": role_arn(self._partition, account_id, self._role_name),
            "RoleSessionName": self._session_name,
            "DurationSeconds": self._duration_seconds,
        }
        if self._external_id:
            arguments["ExternalId"] = self._external_id
        answer = self._sts.assume_role(**arguments)["Credentials"]
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": answer["Expiration"].isoformat(),
            "account_id": account_id,
        }

    def _assumed_credentials(self, account_id: str) -> RefreshableCredentials:
        first = self._assume(account_id)
        optional: dict[str, Any] = {"time_fetcher": self._clock} if self._clock else {}
        return _InvocationCredentials(
            generation=self._current_generation,
            access_key=first["access_key"],
            secret_key=first["secret_key"],
            token=first["token"],
            expiry_time=datetime.fromisoformat(first["expiry_time"]),
            refresh_using=partial(self._assume, account_id),
            method="sts-assume-role",
            account_id=account_id,
            **optional,
        )
