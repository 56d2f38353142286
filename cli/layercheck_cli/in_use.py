"""The images in use in the caller's account and Region, found with the caller's credentials, as the audit finds
them: ECS services and tasks, and Lambda functions (``layercheck.logic.in_use.discover_in_use`` over the same
integrations). Reported inventories (``POST /inventory``) live in the deployed API's table: ``--api-url`` reads those.

A source that cannot be read (access denied ...) is an error: a gate that does not know every image in use must not
pass."""

from __future__ import annotations

from typing import Any

import botocore.session

from layercheck.integrations.ecr import EcrRegistry
from layercheck.integrations.ecs import EcsInventory
from layercheck.integrations.lambda_functions import LambdaFunctions
from layercheck.logic.in_use import InUseImages, RegistryRef, discover_in_use
from layercheck.logic.lifecycle_answer import ImageInUse
from layercheck_cli.errors import CliError
from layercheck_cli.session import ConnectionOptions, make_client


def discover(
    session: botocore.session.Session, options: ConnectionOptions, ecr: Any, *, registry_id: str, region: str
) -> InUseImages:
    """Every image of the registry that an ECS service or task or a Lambda function of the account runs in the
    Region. ``--endpoint-url`` is ECR's: ECS and Lambda use their own (``AWS_ENDPOINT_URL_ECS`` ...)."""
    answer = discover_in_use(
        RegistryRef(registry_id, region),
        ecs=EcsInventory(make_client(session, "ecs", options, use_endpoint_url=False)),
        lambda_functions=LambdaFunctions(make_client(session, "lambda", options, use_endpoint_url=False)),
        inventory=None,
        tags=EcrRegistry(ecr),
    )
    if answer.failures:
        reasons = "; ".join(f"{failure.source}: {failure.code}: {failure.message}" for failure in answer.failures)
        raise CliError(f"Could not list the images in use, so nothing could be checked: {reasons}")
    return answer


def of_repository(answer: InUseImages, repository_name: str) -> dict[str, ImageInUse]:
    """The repository's images in use, by digest, with who runs each."""
    return {
        image.imageDigest: ImageInUse((), tuple(users))
        for image, users in answer.images.items()
        if image.repositoryName == repository_name
    }
