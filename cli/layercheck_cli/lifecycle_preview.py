"""``preview-lifecycle``: the in-use images a lifecycle policy would expire or archive, here with the caller's
credentials, or through the deployed API (``POST /lifecycle/previews``). Both print the API's answer shape.

ECR's preview is the judge either way (``layercheck.logic.lifecycle``): nothing evaluates rules here, and no policy
is changed. Waiting is bounded as botocore's ``LifecyclePolicyPreviewComplete`` waiter bounds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import botocore.session

from layercheck.contracts import routes
from layercheck.integrations.ecr_lifecycle import EcrLifecycle
from layercheck.logic.in_use import RegistryRef
from layercheck.logic.lifecycle import POLL_SECONDS, PreviewClock, PreviewState, preview_lifecycle
from layercheck.logic.lifecycle_answer import preview_answer
from layercheck_cli import api, in_use
from layercheck_cli.errors import ApiError, CliError
from layercheck_cli.multi import default_registry_id, ecr_client
from layercheck_cli.session import ConnectionOptions, region_of

# botocore's LifecyclePolicyPreviewComplete waiter: 20 polls, 5 s apart.
WAIT_SECONDS = 100.0
SERVICE_UNAVAILABLE = 503


def preview_here(
    session: botocore.session.Session,
    options: ConnectionOptions,
    *,
    repository_name: str,
    policy_text: str | None,
    registry_id: str | None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    region = region_of(session, options)
    if not region:
        raise CliError('You must specify a region. You can also configure your region by running "aws configure".')
    ecr = ecr_client(session, options)
    registry = registry_id or default_registry_id(session, options, ecr)
    if not registry:
        raise CliError(
            "Could not tell your account's registry (ECR DescribeRegistry and STS failed): give --registry-id"
        )
    running = in_use.of_repository(
        session, options, ecr, registry=RegistryRef(registry, region), repository_name=repository_name
    )
    give_up_at = clock() + WAIT_SECONDS
    preview = preview_lifecycle(
        EcrLifecycle(ecr),
        registry,
        repository_name,
        list(running),
        clock=PreviewClock(seconds_left=lambda: give_up_at - clock(), sleep=sleep),
        policy_text=policy_text,
    )
    if preview.state is PreviewState.NOT_PREVIEWED:
        raise CliError(f"Could not preview the lifecycle policy of {repository_name}: {preview.code}: {preview.reason}")
    answer = preview_answer(preview, region=region, in_use=running, proposed=policy_text is not None)
    return answer.model_dump(mode="json")


def preview_through_api(
    session: botocore.session.Session,
    options: ConnectionOptions,
    api_url: str,
    *,
    repository_name: str,
    policy_text: str | None,
    registry_id: str | None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """The API's answer. A 503 (the preview goes on in ECR) is asked again after the API's Retry-After (5 s): the
    same request reads the running preview, until the waiter's bound."""
    body: dict[str, Any] = {"repositoryName": repository_name}
    if registry_id:
        body["registryId"] = registry_id
    if options.region:
        body["region"] = options.region  # --region names the repository's Region; the API's own signs the request
    if policy_text is not None:
        body["lifecyclePolicyText"] = policy_text
    give_up_at = clock() + WAIT_SECONDS
    while True:
        try:
            answer = api.call_api(session, options, "POST", api.route_url(api_url, routes.LIFECYCLE_PREVIEWS), body)
        except ApiError as error:
            if error.status != SERVICE_UNAVAILABLE or clock() + POLL_SECONDS > give_up_at:
                raise
            sleep(POLL_SECONDS)
            continue
        if answer.get("summary", {}).get("storedVerdicts") == 0:
            raise CliError(
                f"The layercheck API holds no image verdict of {repository_name}: it has not audited the repository "
                "(or it is empty), so it knows of no image in use and nothing could be checked"
            )
        return answer
