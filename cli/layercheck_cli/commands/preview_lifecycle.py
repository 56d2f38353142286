"""``layercheck preview-lifecycle``: a gate for a lifecycle policy change. The in-use images the policy (proposed, or
the repository's own) would expire or archive, as ECR's own preview says; exit 1 when there is one."""

from __future__ import annotations

import argparse

from layercheck_cli.commands.listing import API_URL_HELP
from layercheck_cli.errors import UsageError
from layercheck_cli.exit_codes import EXIT_NOT_AVAILABLE, EXIT_OK
from layercheck_cli.formatters import render
from layercheck_cli.inputs import scalar_parameter
from layercheck_cli.parser import Command, Option
from layercheck_cli.resolve import check_endpoint_url, compile_query, connection_options, output_format
from layercheck_cli.session import make_session

NAME = "preview-lifecycle"
TITLE = "PreviewLifecycle"

OPTIONS: tuple[Option, ...] = (
    Option(("--repository-name",), "The repository whose lifecycle policy is previewed.", required=True),
    Option(("--lifecycle-policy-text",), "The proposed policy (JSON, or file://policy.json); default: the "
           "repository's own policy. It is previewed, never applied."),
    Option(("--registry-id",), "The registry (account) ID; default: your account's registry."),
    Option(("--api-url",), "Ask the deployed API (POST /lifecycle/previews), which knows every image in use that the "
           f"audit found and inventories reported. {API_URL_HELP}"),
)  # fmt: skip

EXAMPLES = """\
  # The repository's own policy, with the images ECS and Lambda of your account run in the configured Region:
  layercheck preview-lifecycle --repository-name team-a/api
  # A proposed policy, as a pull request's CI job: exit 1 when it would expire or archive an image in use:
  layercheck preview-lifecycle --repository-name team-a/api --lifecycle-policy-text file://policy.json \\
      --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1 --output table
  layercheck preview-lifecycle --repository-name team-a/api --lifecycle-policy-text file://policy.json \\
      --query 'atRisk[].[imageTags[0], action, usedBy[0].id]' --output text

EXIT CODES
  0    previewed: no image in use would be expired or archived (or the repository has no lifecycle policy)
  1    previewed: at least one image in use would be expired (EXPIRE) or archived (TRANSITION)
  2    usage error (no --repository-name)
  255  nothing could be checked: no region or credentials, the repository does not exist, ECS or Lambda could not be
       listed, ECR's preview FAILED or EXPIRED or did not finish in 100 seconds, ECR refused the policy text, or
       (--api-url) the API holds no verdict of the repository or answered an error; the reason is on stderr
"""


def run(namespace: argparse.Namespace) -> int:
    from layercheck_cli import lifecycle_preview  # the preview's modules are loaded only by this command

    if not namespace.repository_name:
        raise UsageError("the following arguments are required: --repository-name")
    query = compile_query(namespace.query)
    policy_text = scalar_parameter("lifecycle-policy-text", namespace.lifecycle_policy_text)
    options = connection_options(namespace)
    if namespace.api_url is not None:
        session = make_session(options)
        answer = lifecycle_preview.preview_through_api(
            session,
            options,
            namespace.api_url,
            repository_name=namespace.repository_name,
            policy_text=policy_text,
            registry_id=namespace.registry_id,
        )
    else:
        check_endpoint_url(namespace.endpoint_url)
        session = make_session(options)
        answer = lifecycle_preview.preview_here(
            session,
            options,
            repository_name=namespace.repository_name,
            policy_text=policy_text,
            registry_id=namespace.registry_id,
        )
    render(answer, output=output_format(namespace, session), command_name=TITLE, query=query, color=namespace.color)
    return EXIT_NOT_AVAILABLE if answer.get("atRisk") else EXIT_OK


COMMAND = Command(
    name=NAME,
    summary="The in-use images a lifecycle policy would expire or archive; exit 1 when there is one (a CI gate).",
    description=(
        "Ask ECR to preview a lifecycle policy (StartLifecyclePolicyPreview, GetLifecyclePolicyPreview; no policy is "
        "changed) and print the images in use that it would expire (EXPIRE) or archive (TRANSITION, with "
        "targetStorageClass), with the rule and who runs each. Without --api-url the images in use are those the "
        "ECS services and tasks and the Lambda functions of your account run in the configured Region, found with "
        "your credentials; with --api-url, every one the deployed layercheck knows (audits, other accounts, "
        "reported inventories). Exit 0 when none is at risk, 1 when one is, 255 when nothing could be checked."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
