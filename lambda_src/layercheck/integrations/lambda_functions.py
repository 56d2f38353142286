"""AWS Lambda: the only module that talks to it, and the in-use source over it (``LambdaInUse``, made for each audited
registry by ``in_use_source``). Lists the functions whose package is a container image, with the image URI they were
deployed from and the digest Lambda resolved.

ListFunctions (50 per page) says which functions are images; only GetFunction returns the code location
(``Code.ImageUri`` as deployed, ``Code.ResolvedImageUri`` pinned to the digest Lambda resolved at deployment: what the
function runs even after its tag moved). Besides ``$LATEST``, each version an alias points to is in use (callers invoke
``function:live``; a rollback points the alias back), so ListAliases is read per image function and each aliased
version's GetFunction names that version's image. Versions no alias names are not counted.

As an in-use source, a function runs the digest Lambda resolved at deployment (``Code.ResolvedImageUri``), else the
digest in its ``ImageUri``, else what its tag names (resolved by the repository's audit).

``in_use_source`` builds ``LambdaInUse(LambdaFunctions(lambda_client))`` per audited account and Region; IAM:
lambda:ListFunctions on ``*`` (Lambda allows no narrower resource), lambda:GetFunction and lambda:ListAliases on
``arn:<partition>:lambda:<region>:<account>:function:*`` (and ``function:*:*`` for qualified calls).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from layercheck.integrations.aws import control_plane_config
from layercheck.integrations.aws_errors import code_and_message, error_code
from layercheck.logic.image_uris import ImageUri, parse_image_uri
from layercheck.logic.in_use import FoundReference, InUseSourceError, RegistryRef, SourceReach
from layercheck.models.in_use import UsedBy, UsedByKind

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

# ListFunctions returns at most 50 functions per page; ListAliases takes MaxItems up to 10,000.
# https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
MAX_FUNCTIONS_PER_PAGE = 50
MAX_ALIASES_PER_PAGE = 50
IMAGE_PACKAGE = "Image"
LATEST = "$LATEST"
FUNCTION_GONE = "ResourceNotFoundException"  # deleted between the listing and GetFunction: nobody runs it
SOURCE_LAMBDA = "lambda"


@dataclass(frozen=True)
class LambdaImageFunction:
    arn: str  # qualified with the version when it is not $LATEST
    image_uri: str
    resolved_image_uri: str | None = None


class LambdaPort(Protocol):
    def list_image_functions(self) -> Iterator[LambdaImageFunction]:
        """Functions (and aliased versions) whose package is an image; raises ``InUseSourceError``."""
        ...


def new_client(region_name: str | None = None) -> LambdaClient:
    client: LambdaClient = boto3.client(
        "lambda",
        region_name=region_name,
        config=control_plane_config(),
    )
    return client


def translate_error(error: ClientError | BotoCoreError) -> InUseSourceError:
    return InUseSourceError(SOURCE_LAMBDA, *code_and_message(error))


class LambdaFunctions:
    """``LambdaPort`` over one Lambda client (one account and Region)."""

    def __init__(self, client: LambdaClient | None = None, *, include_aliased_versions: bool = True) -> None:
        self._client = client or new_client()
        self._include_aliased_versions = include_aliased_versions

    def list_image_functions(self) -> Iterator[LambdaImageFunction]:
        try:
            pages = self._client.get_paginator("list_functions").paginate(
                PaginationConfig={"PageSize": MAX_FUNCTIONS_PER_PAGE}
            )
            for page in pages:
                for function in page.get("Functions", []):
                    if function.get("PackageType") == IMAGE_PACKAGE:
                        yield from self._deployed_images(function["FunctionName"], function["FunctionArn"])
        except (ClientError, BotoCoreError) as error:
            raise translate_error(error) from error

    def _deployed_images(self, name: str, function_arn: str) -> Iterator[LambdaImageFunction]:
        latest = self._image(name, function_arn, None)
        if latest is None:
            return
        yield latest
        if not self._include_aliased_versions:
            return
        pages = self._client.get_paginator("list_aliases").paginate(
            FunctionName=name, PaginationConfig={"PageSize": MAX_ALIASES_PER_PAGE}
        )
        versions = {alias["FunctionVersion"] for page in pages for alias in page.get("Aliases", [])}
        for version in sorted(versions - {LATEST}):
            aliased = self._image(name, function_arn, version)
            if aliased is not None:
                yield aliased

    def _image(self, name: str, function_arn: str, version: str | None) -> LambdaImageFunction | None:
        arguments: dict[str, Any] = {"FunctionName": name}
        if version is not None:
            arguments["Qualifier"] = version
        try:
            code = self._client.get_function(**arguments).get("Code", {})
        except ClientError as error:
            if error_code(error) == FUNCTION_GONE:
                return None
            raise
        if not code.get("ImageUri"):
            return None
        return LambdaImageFunction(
            arn=f"{function_arn}:{version}" if version else function_arn,
            image_uri=code["ImageUri"],
            resolved_image_uri=code.get("ResolvedImageUri"),
        )


class LambdaInUse:
    """``logic.in_use.InUseSource`` over Lambda's image functions in one account and Region."""

    name = SOURCE_LAMBDA

    def __init__(self, functions: LambdaPort) -> None:
        self._functions = functions

    def references(self, registry: RegistryRef) -> Iterator[FoundReference]:
        for function in self._functions.list_image_functions():
            used_by = UsedBy(kind=UsedByKind.LAMBDA_FUNCTION, id=function.arn)
            resolved = parse_image_uri(function.resolved_image_uri) if function.resolved_image_uri else None
            digest = resolved.image_digest if isinstance(resolved, ImageUri) else None
            yield FoundReference(function.image_uri, used_by, digest)


def in_use_source(reach: SourceReach) -> LambdaInUse:
    """Lambda as an in-use source of one registry's account and Region."""
    return LambdaInUse(LambdaFunctions(reach.client("lambda")))
