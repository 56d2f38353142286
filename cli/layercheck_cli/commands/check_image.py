"""``layercheck check-image REPOSITORY[:TAG|@DIGEST]``: an image's verdict from the shared walk, here or through the
deployed API (``--api-url``: ``POST /images/checks``)."""

from __future__ import annotations

import argparse

from layercheck_cli.commands.listing import API_URL_HELP
from layercheck_cli.errors import UsageError
from layercheck_cli.exit_codes import EXIT_NOT_AVAILABLE, EXIT_OK
from layercheck_cli.formatters import render
from layercheck_cli.image_api import check_image_through_api, is_complete
from layercheck_cli.parser import Command, Option
from layercheck_cli.resolve import check_endpoint_url, compile_query, connection_options, output_format
from layercheck_cli.session import make_session

NAME = "check-image"
IMAGE_METAVAR = "REPOSITORY[:TAG|@DIGEST]"

OPTIONS: tuple[Option, ...] = (
    Option(("image",), "The image to check; a full image URI sets the registry and Region too.", required=True,
           kwargs={"metavar": IMAGE_METAVAR, "nargs": "?"}),
    Option(("--registry-id",), "The registry (account) ID; default: the URI's account, else your account's."),
    Option(("--api-url",), f"Check through the deployed API (POST /images/checks), which stores the verdict. "
           f"{API_URL_HELP}"),
    Option(("--fail-on-missing",), "Exit 1 unless the image is COMPLETE (BROKEN, UNCHECKED or ARCHIVED).", False,
           kwargs={"action": "store_true"}),
    Option(("--workers",), "Concurrent ECR calls (checked here, without --api-url).", 16, kwargs={"type": int}),
)  # fmt: skip

EXAMPLES = """\
  layercheck check-image team-a/api:2.0
  layercheck check-image team-a/api@sha256:4346b9ff9c797582db9c890b6e9d01ba76de4518cabd8a701d28ce408292445a
  # A full image URI: its account and Region are used, whatever your configured Region:
  layercheck check-image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-a/api:2.0 --fail-on-missing
  layercheck check-image team-a/api:2.0 --query '[status, missingLayers]' --output text
  # Through the deployed API (SigV4-signed; the verdict is stored, with source api):
  layercheck check-image team-a/api:2.0 --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1

EXIT CODES
  0    a verdict was printed, whatever it is (unless --fail-on-missing)
  1    --fail-on-missing and the image is not COMPLETE: BROKEN, UNCHECKED or ARCHIVED
  2    usage error (no image, a malformed reference)
  255  the check failed: checked here, an image or repository ECR does not hold is ECR's error
       (ImageNotFoundException ...); with --api-url, an API error status. Through the API an image that does not
       exist is a verdict UNCHECKED with ECR's failureCode (exit 0, or 1 with --fail-on-missing).
"""


def run(namespace: argparse.Namespace) -> int:
    if not namespace.image:
        raise UsageError(f"the following arguments are required: {IMAGE_METAVAR}")
    query = compile_query(namespace.query)
    options = connection_options(namespace)
    if namespace.api_url is not None:
        session = make_session(options)
        verdict = check_image_through_api(
            namespace.image, namespace.api_url, session, options, registry_id=namespace.registry_id
        )
    else:
        from layercheck_cli import image_check  # the image walk is loaded only by the commands that walk images

        check_endpoint_url(namespace.endpoint_url)
        session = make_session(options)
        verdict = image_check.check_image(
            namespace.image,
            session,
            options,
            registry_id=namespace.registry_id,
            workers=namespace.workers,
        )
    render(
        verdict, output=output_format(namespace, session), command_name="CheckImage", query=query, color=namespace.color
    )
    if namespace.fail_on_missing and not is_complete(verdict):
        return EXIT_NOT_AVAILABLE
    return EXIT_OK


COMMAND = Command(
    name=NAME,
    summary="Check that every layer of an image is available (REPOSITORY[:TAG|@DIGEST]).",
    description=(
        "Walk an image (index, platform manifests, config, layers) and print its verdict: COMPLETE, BROKEN (with "
        "missingLayers), UNCHECKED (with the reason) or ARCHIVED (in ECR's archive storage class, not pullable until "
        "restored). With --api-url the deployed API checks and stores it (POST /images/checks), signed as every "
        "--api-url request is, and prints the same verdict with the API's checkId. Exit 0 whatever the verdict, "
        "unless --fail-on-missing: then exit 1 unless COMPLETE."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
