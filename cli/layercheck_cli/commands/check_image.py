"""``layercheck check-image IMAGE...``: images' verdicts from the shared walk, here or through the deployed API
(``--api-url``: ``POST /images/checks``, 100 images a call)."""

from __future__ import annotations

import argparse
import sys

from layercheck_cli import gates, image_answer
from layercheck_cli.commands.listing import API_URL_HELP
from layercheck_cli.formatters import render
from layercheck_cli.image_api import check_images_through_api
from layercheck_cli.image_inputs import IMAGE_METAVAR, requested_images
from layercheck_cli.parser import Command, Option
from layercheck_cli.preflight import require_credentials
from layercheck_cli.resolve import check_endpoint_url, compile_query, connection_options, output_format
from layercheck_cli.session import make_session
from layercheck_cli.table import terminal_width

NAME = "check-image"

OPTIONS: tuple[Option, ...] = (
    Option(("images",), "The images to check; a full image URI sets the registry and Region too.", required=True,
           kwargs={"metavar": IMAGE_METAVAR, "nargs": "*"}),
    Option(("--images-file",), "More images, one per line (# comments and blank lines skipped); - reads stdin.",
           kwargs={"metavar": "FILE"}),
    Option(("--registry-id",), "The registry (account) ID; default: the URI's account, else your account's."),
    Option(("--api-url",), f"Check through the deployed API (POST /images/checks, 100 images a call), which stores "
           f"the verdicts. {API_URL_HELP}"),
    Option(("--fail-on-missing",), "Exit 1 when an image is BROKEN, MISSING or ARCHIVED (not pullable as it is).",
           False, kwargs={"action": "store_true"}),
    Option(("--workers",), "Concurrent ECR calls (checked here, without --api-url).", 16, kwargs={"type": int}),
)  # fmt: skip

EXAMPLES = f"""\
  layercheck check-image team-a/api:2.0
  layercheck check-image team-a/api@sha256:4346b9ff9c797582db9c890b6e9d01ba76de4518cabd8a701d28ce408292445a
  # A full image URI: its account and Region are used, whatever your configured Region:
  layercheck check-image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-a/api:2.0 --fail-on-missing
  layercheck check-image team-a/api:2.0 --query '[status, missingLayers]' --output text
  # Several images in one table; from a file, or from what a cluster runs:
  layercheck check-image team-a/api:2.0 team-a/api:2.1-rc --output table
  kubectl get pods -A -o jsonpath='{{..image}}' | tr ' ' '\\n' | grep '.dkr.ecr.' | sort -u \\
      | layercheck check-image --images-file - --fail-on-missing --output table
  # Through the deployed API (SigV4-signed; the verdicts are stored, with source api):
  layercheck check-image team-a/api:2.0 --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1

OUTPUT
  One image: its verdict (status, missingLayers, failureCode/failureReason, ...), a layerSummary and a summary.
  Several: {{"verdicts": [...], "summary": {{"checked", "complete", "broken", "missing", "unchecked", "archived"}}}}.
  --output table: one line per image.

READS
  Checked here, each image's manifests are read with BatchGetImage, with your credentials: ECR records that as a pull
  and sets the image's lastRecordedPullTime, which sinceImagePulled lifecycle rules read. Tags are resolved with
  DescribeImages, which records nothing. With --api-url the deployed service reads them with its own role.
  Only Amazon ECR private registries: an image of Docker Hub, ghcr.io, public.ecr.aws ... is refused (exit 255).

EXIT CODES
{gates.EXIT_CODES_HELP}  For check-image: 1 with --fail-on-missing when an image is BROKEN, MISSING or ARCHIVED;
  255 when an image could not be judged (UNCHECKED: ECR does not hold it, it cannot be read, ...) or is not in an
  ECR private registry.
"""


def run(namespace: argparse.Namespace) -> int:
    images = requested_images(namespace.images or [], namespace.images_file)
    single = len(images) == 1 and namespace.images_file is None
    query = compile_query(namespace.query)
    options = connection_options(namespace)
    session = make_session(options)
    layer_summary = None
    if namespace.api_url is not None:
        require_credentials(session, options)
        verdicts = check_images_through_api(
            images, namespace.api_url, session, options, registry_id=namespace.registry_id
        )
    else:
        from layercheck_cli import image_check  # the image walk is loaded only by the commands that walk images

        check_endpoint_url(namespace.endpoint_url)
        require_credentials(session, options)
        checked = image_check.check_images(
            images, session, options, registry_id=namespace.registry_id, workers=namespace.workers
        )
        verdicts, layer_summary = checked.verdicts, checked.layer_summary.model_dump(mode="json")
    output = output_format(namespace, session)
    if output == "table" and query is None:
        image_answer.render_table(images, verdicts, sys.stdout, width=terminal_width(sys.stdout))
        sys.stdout.flush()
    else:
        answer = image_answer.document(verdicts, single=single, layer_summary=layer_summary)
        render(answer, output=output, command_name="CheckImage", query=query, color=namespace.color)
    return gates.exit_code(
        image_answer.not_checked(images, verdicts),
        gate_holds=namespace.fail_on_missing and image_answer.gate_holds(verdicts),
    )


COMMAND = Command(
    name=NAME,
    summary="Check that every layer of one or more images is available (REPOSITORY[:TAG|@DIGEST] ...).",
    description=(
        "Walk each image (index, platform manifests, config, layers) and print its verdict: COMPLETE, BROKEN (with "
        "missingLayers), UNCHECKED (with the reason: not judged) or ARCHIVED (in ECR's archive storage class, not "
        "pullable until restored). Images come as arguments or from --images-file (- for stdin). With --api-url the "
        "deployed API checks and stores them (POST /images/checks, 100 images a call), signed as every --api-url "
        "request is, and prints the same verdicts with the API's checkId (and MISSING for an image it had a verdict "
        "for that ECR no longer holds)."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
