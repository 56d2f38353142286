"""``layercheck list-results``: the latest stored verdicts of a repository, or of a layer digest across repositories
(``GET /results`` of the deployed API)."""

from __future__ import annotations

import argparse

from layercheck.contracts import routes
from layercheck_cli.commands.listing import API_URL, PAGING_OPTIONS, run_listing
from layercheck_cli.errors import UsageError
from layercheck_cli.parser import Command, Option

NAME = "list-results"

OPTIONS: tuple[Option, ...] = (
    API_URL,
    Option(("--repository-name",), "The stored verdicts of this repository (or --layer-digest).", required=True),
    Option(("--layer-digest",), "The stored verdicts of this digest in every repository (or --repository-name)."),
    Option(("--registry-id",), "The registry (account) ID; default: the API's account."),
    *PAGING_OPTIONS,
)

EXAMPLES = """\
  layercheck list-results --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1 \\
      --repository-name team-a/api --output table
  layercheck list-results --api-url "$LAYERCHECK_API_URL" \\
      --layer-digest sha256:4346b9ff9c797582db9c890b6e9d01ba76de4518cabd8a701d28ce408292445a \\
      --query 'items[].[repositoryName, status]' --output text
  # 10 at a time: the output ends with a NextToken to pass to --starting-token
  layercheck list-results --api-url "$LAYERCHECK_API_URL" --repository-name team-a/api --max-items 10
"""


def run(namespace: argparse.Namespace) -> int:
    if (namespace.repository_name is None) == (namespace.layer_digest is None):
        raise UsageError("give exactly one of --repository-name and --layer-digest")
    parameters = (
        (routes.REPOSITORY_NAME, namespace.repository_name),
        (routes.LAYER_DIGEST, namespace.layer_digest),
        (routes.REGISTRY_ID, namespace.registry_id),
    )
    return run_listing(namespace, routes.RESULTS, parameters, "ListResults")


COMMAND = Command(
    name=NAME,
    summary="List stored layer and image verdicts of a repository or a digest (GET /results of the API).",
    description=(
        "Read the latest verdicts the deployed layercheck service stored: of one repository (--repository-name) or "
        "of one layer digest in every repository (--layer-digest). Pages are read as the AWS CLI reads them."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
