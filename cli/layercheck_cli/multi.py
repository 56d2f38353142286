"""Several repositories at once: locally through the check engine, or through the deployed API (``--api-url``).

Both print the API's shape, ``{"results": [RepositoryResult...], "summary": {...}}`` (the API adds ``checkId``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.ecr_lean import lean_or_botocore
from layercheck.logic.check import LayerAvailabilityPort, RepositoryTarget, check_repositories
from layercheck.logic.ratelimit import RateLimiter
from layercheck.models.verdicts import CheckOutcome, CheckSummary, RepositoryResult
from layercheck_cli import api
from layercheck_cli.errors import CliError, UsageError
from layercheck_cli.inputs import ParamError
from layercheck_cli.progress import ProgressBar
from layercheck_cli.session import ConnectionOptions, make_client

LOG = logging.getLogger(__name__)

INPUT_KEYS = ("registryId", "repositoryName", "repositoryNames", "layerDigests")
# ECR's quota for BatchCheckLayerAvailability is 1,000 calls/s per account and Region, shared with every
# `docker push` (a push asks it about each layer): the command line keeps half of it for them unless told otherwise.
MAX_CALLS_PER_SECOND_VARIABLE = "LAYERCHECK_MAX_CALLS_PER_SECOND"
DEFAULT_MAX_CALLS_PER_SECOND = 500.0


@dataclass(frozen=True)
class MultiRequest:
    registry_id: str | None
    repository_names: list[str]
    layer_digests: list[str]

    @classmethod
    def from_inputs(
        cls,
        registry_id: str | None,
        repository_names: list[str],
        layer_digests: list[str] | None,
        cli_input: dict[str, Any],
    ) -> MultiRequest:
        """Command-line values first, then the input document's (``repositoryNames``, or ``repositoryName``)."""
        unknown = sorted(set(cli_input) - set(INPUT_KEYS))
        if unknown:
            raise CliError(
                'Parameter validation failed:\nUnknown parameter in input: "{}", must be one of: {}'.format(
                    unknown[0], ", ".join(INPUT_KEYS)
                )
            )
        if registry_id is None:
            registry_id = _optional_string(cli_input, "registryId")
        if not repository_names:
            repository_names = _string_list(cli_input, "repositoryNames")
            single = _optional_string(cli_input, "repositoryName")
            if single is not None:
                repository_names = [single, *repository_names]
        if layer_digests is None:
            layer_digests = _string_list(cli_input, "layerDigests")
        if not repository_names:
            raise CliError('Parameter validation failed:\nMissing required parameter in input: "repositoryNames"')
        if not layer_digests:
            raise CliError(
                "Parameter validation failed:\nInvalid length for parameter layerDigests, value: 0, valid min length: 1"
            )
        return cls(registry_id, repository_names, layer_digests)


def max_calls_per_second(option: float | None, environment: Mapping[str, str]) -> float:
    """``--max-calls-per-second``, else ``LAYERCHECK_MAX_CALLS_PER_SECOND``, else 500; a positive number."""
    if option is not None:
        rate, source = option, "--max-calls-per-second"
    elif environment.get(MAX_CALLS_PER_SECOND_VARIABLE):
        source = MAX_CALLS_PER_SECOND_VARIABLE
        try:
            rate = float(environment[MAX_CALLS_PER_SECOND_VARIABLE])
        except ValueError:
            rate = math.nan
    else:
        return DEFAULT_MAX_CALLS_PER_SECOND
    if not rate > 0 or math.isinf(rate):
        shown = environment.get(MAX_CALLS_PER_SECOND_VARIABLE) if option is None else option
        raise UsageError(f"{source} must be a positive number of calls per second, not {shown!r}")
    return rate


def _optional_string(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParamError("cli-input", f"{key} must be a string")
    return value


def _string_list(document: dict[str, Any], key: str) -> list[str]:
    value = document.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ParamError("cli-input", f"{key} must be a list of strings")
    return list(value)


def ecr_client(session: botocore.session.Session, options: ConnectionOptions, *, workers: int | None = None) -> Any:
    base = Config(max_pool_connections=max(10, workers)) if workers else None
    return make_client(session, "ecr", options, base_config=base)


def layer_check_client(session: botocore.session.Session, options: ConnectionOptions, *, workers: int) -> Any:
    """The several-repository check's client, with botocore's parameter validation off: every request it sends is
    built by the check engine from digests judged once at the edge (``AskedDigests``), at most 100 a call, so
    botocore's second look at each digest (a tenth of the CPU of a 100-digest call) finds nothing. A repository name
    ECR refuses is still refused, by ECR (``InvalidParameterException``, on that repository's digests only)."""
    base = Config(max_pool_connections=max(10, workers), parameter_validation=False)
    return make_client(session, "ecr", options, base_config=base)


def default_registry_id(session: botocore.session.Session, options: ConnectionOptions, ecr: Any) -> str:
    """The caller's account, which is ECR's default registry, so results name it as the API's do.

    Asks ECR itself first when ``--endpoint-url`` points somewhere specific (a local or private endpoint), else STS;
    the other one second. Neither is essential: on failure the registry shows as "" and the checks still run.
    """
    quick = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10)

    def from_ecr() -> str:
        return str(ecr.describe_registry()["registryId"])

    def from_sts() -> str:
        sts = make_client(session, "sts", options, base_config=quick, use_endpoint_url=False)
        return str(sts.get_caller_identity()["Account"])

    lookups = (from_ecr, from_sts) if options.endpoint_url else (from_sts, from_ecr)
    for lookup in lookups:
        try:
            return lookup()
        except (ClientError, BotoCoreError) as error:
            LOG.debug("default registry lookup failed: %s", error)
    return ""


def layer_check_port(
    session: botocore.session.Session, options: ConnectionOptions, client: Any, *, max_calls_per_second: float
) -> LayerAvailabilityPort:
    """The several-repository check's ECR calls: the lean request path over this client's configuration (its
    endpoint, TLS, timeouts and retries; integrations/ecr_lean.py), or the client itself for a configuration the lean
    path does not reproduce; either way behind one rate limiter, as ECR's quota is per account and Region."""
    credentials = session.get_credentials() if options.sign_request else None
    return lean_or_botocore(client, credentials, rate_limiter=RateLimiter(max_calls_per_second))


def check_locally(
    request: MultiRequest,
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    workers: int,
    max_calls_per_second: float,
) -> dict[str, Any]:
    client = layer_check_client(session, options, workers=workers)
    registry_id = request.registry_id or default_registry_id(session, options, client)
    targets = [RepositoryTarget(registry_id, name, request.layer_digests) for name in request.repository_names]
    port = layer_check_port(session, options, client, max_calls_per_second=max_calls_per_second)
    progress = ProgressBar() if ProgressBar.wanted() else None
    try:
        with collector_paused():
            outcome = check_repositories(targets, port, workers=workers, on_progress=progress)
            return outcome_document(outcome)
    finally:
        if progress is not None:
            progress.close()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a check builds its answer. A check keeps every answer it makes (about
    two objects per pair) until the document is printed, and makes no reference cycles of its own, so the collector's
    passes over that growing heap find nothing: at 100,000 pairs they were a fifth of the process's CPU
    (docs/BENCHMARKS.md). Reference counting still frees everything else as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def outcome_document(outcome: CheckOutcome) -> dict[str, Any]:
    return outcome.model_dump(mode="json", exclude_none=True)


def check_through_api(
    api_url: str, request: MultiRequest, session: botocore.session.Session, options: ConnectionOptions
) -> dict[str, Any]:
    body = api.check_request_body(request.registry_id, request.repository_names, request.layer_digests)
    return api.call_api(session, options, "POST", api.checks_url(api_url), body)


def sample_answer(ecr_output: dict[str, Any]) -> dict[str, Any]:
    """``--generate-cli-skeleton output`` for several repositories: ECR's sample answer in the API's shape."""
    result = RepositoryResult.model_validate(
        {"registryId": "registryId", "repositoryName": "repositoryName", **ecr_output}
    )
    return outcome_document(CheckOutcome(results=[result], summary=CheckSummary.of([result])))


def all_available(answer: dict[str, Any]) -> bool:
    """Every (repository, digest) pair AVAILABLE: the ``--fail-on-missing`` gate for the API's shape."""
    results = answer.get("results") or []
    for result in results:
        if result.get("failures"):
            return False
        if any(layer.get("layerAvailability") != "AVAILABLE" for layer in result.get("layers") or []):
            return False
    return True
