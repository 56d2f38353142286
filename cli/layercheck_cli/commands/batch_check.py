"""``layercheck batch-check-layer-availability``: the options of ``aws ecr batch-check-layer-availability``.

For one repository it calls ECR's ``BatchCheckLayerAvailability`` with exactly the user's parameters, so that answers
and errors print as the AWS CLI prints them. Several repositories (``--repository-names``, or ``--repository-name``
more than once) go through the check engine, and ``--api-url`` through the deployed API; both print the API's shape
(``{"results": [...], "summary": {...}}``) in every output format.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel
from botocore.stub import Stubber

from layercheck_cli import gates, multi, skeleton
from layercheck_cli.count_table import render_repository_counts, repository_errors
from layercheck_cli.errors import UsageError
from layercheck_cli.exit_codes import EXIT_NOT_AVAILABLE, EXIT_OK
from layercheck_cli.formatters import Query, render
from layercheck_cli.inputs import expand_layer_digests, load_cli_input, merge_cli_input, scalar_parameter
from layercheck_cli.parser import Command, Option
from layercheck_cli.preflight import require_credentials
from layercheck_cli.resolve import check_endpoint_url, compile_query, connection_options, output_format
from layercheck_cli.session import ConnectionOptions, make_session

NAME = "batch-check-layer-availability"
OPERATION = "BatchCheckLayerAvailability"
AVAILABLE = "AVAILABLE"

OPTIONS: tuple[Option, ...] = (
    Option(("--registry-id",), "The registry (account) ID; default: your account's registry."),
    Option(("--repository-name",), "A repository to check (or --repository-names); repeat it to check several.",
           required=True, kwargs={"action": "append"}),
    Option(("--repository-names",), "Several repositories at once; a missing one is a failure per digest (the "
           "others are still checked), exit 255.", kwargs={"nargs": "+", "action": "extend"}),
    Option(("--layer-digests",), "Digests to check; file://path (one per line, or a JSON list) or - for stdin.",
           required=True, kwargs={"nargs": "*", "action": "extend"}),
    Option(("--cli-input-json",), "Parameters as JSON (a string or file://path); options override it."),
    Option(("--cli-input-yaml",), "Parameters as YAML (a string or file://path); options override it."),
    Option(("--generate-cli-skeleton",),
           "Print a parameter template (input, yaml-input) or a sample answer (output) instead of calling.",
           kwargs={"nargs": "?", "const": "input", "choices": ("input", "yaml-input", "output")}),
    Option(("--api-url",), "Check through the deployed layercheck API (POST /checks, SigV4-signed, https://)."),
    Option(("--fail-on-missing",), "Exit 1 when any digest is not AVAILABLE (for CI gates).", False,
           kwargs={"action": "store_true"}),
    Option(("--workers",), "Concurrent ECR calls for several repositories.", 16, kwargs={"type": int}),
    Option(("--max-calls-per-second",),
           "ECR calls per second at most, for several repositories (default: LAYERCHECK_MAX_CALLS_PER_SECOND, else "
           "500: ECR's quota is 1,000 per account and Region, shared with every docker push).",
           kwargs={"type": float}),
)  # fmt: skip

EXAMPLES = f"""\
  # One repository, exactly as aws ecr batch-check-layer-availability (same output, same exit codes):
  layercheck batch-check-layer-availability --repository-name app \\
      --layer-digests sha256:4346b9ff9c797582db9c890b6e9d01ba76de4518cabd8a701d28ce408292445a

  # Several repositories, digests from a file, exit 1 in CI when any is not AVAILABLE:
  layercheck batch-check-layer-availability --repository-names app base \\
      --layer-digests file://digests.txt --fail-on-missing --query summary

  # The difference between the two forms, for a repository that does not exist:
  layercheck batch-check-layer-availability --repository-name nope --layer-digests sha256:...
      -> exit 255, ECR's RepositoryNotFoundException on stderr (the AWS CLI's behaviour)
  layercheck batch-check-layer-availability --repository-names nope app --layer-digests sha256:...
      -> exit 255 too, after the answer: app's digests are checked, each of nope's is a failure
         RepositoryNotFoundException, and stderr says why nope was not checked

  # Through the deployed API (SigV4-signed):
  layercheck batch-check-layer-availability --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1 \\
      --repository-names app base --layer-digests file://digests.txt

EXIT CODES
  One --repository-name: the AWS CLI's own (0 answered, 255 ECR's error, 2 usage), and 1 with --fail-on-missing.
  Several repositories or --api-url:
{gates.EXIT_CODES_HELP}  Here 1 is --fail-on-missing with a digest not AVAILABLE, and 255 a repository whose digests
  failed with an error rather than a verdict (not found, access denied, no credentials, unreachable).
"""


def _auto_prompt_wanted(namespace: argparse.Namespace) -> bool:
    if namespace.cli_auto_prompt is False:
        return False
    wanted = namespace.cli_auto_prompt is True or os.environ.get("AWS_CLI_AUTO_PROMPT") in ("on", "on-partial")
    return wanted and sys.stdin.isatty() and sys.stdout.isatty()


def _prompt_missing(namespace: argparse.Namespace, ask: Callable[[str], str] = input) -> None:
    """``--cli-auto-prompt`` on a terminal: ask for the required parameters the command line left out."""
    if not namespace.repository_name and not namespace.repository_names:
        names = ask("Repository name(s) (space-separated): ").split()
        if names:
            namespace.repository_name = names
    if namespace.layer_digests is None:
        digests = ask("Layer digests (space-separated, file://path or -): ").split()
        if digests:
            namespace.layer_digests = digests


def _require(namespace: argparse.Namespace) -> None:
    """The AWS CLI's required options, waived by an input document or an input skeleton."""
    waived = (
        namespace.cli_input_json is not None
        or namespace.cli_input_yaml is not None
        or namespace.generate_cli_skeleton in ("input", "yaml-input")
    )
    if waived:
        return
    missing = []
    if not namespace.repository_name and not namespace.repository_names:
        missing.append("--repository-name")
    if namespace.layer_digests is None:
        missing.append("--layer-digests")
    if missing:
        raise UsageError("the following arguments are required: {}".format(", ".join(missing)))


def require_before_unknown(namespace: argparse.Namespace) -> None:
    # argparse reports missing required options before the AWS CLI looks at unknown ones; keep that order.
    if namespace.generate_cli_skeleton in ("input", "yaml-input") or _auto_prompt_wanted(namespace):
        return
    _require(namespace)


def _all_available(response: dict[str, Any]) -> bool:
    layers = response.get("layers") or []
    return not response.get("failures") and all(layer.get("layerAvailability") == AVAILABLE for layer in layers)


@dataclass(frozen=True)
class _Invocation:
    """What every path of ``batch-check-layer-availability`` shares once options are resolved."""

    namespace: argparse.Namespace
    session: Any
    options: ConnectionOptions
    operation: OperationModel
    output: str
    query: Query | None

    def render(self, answer: Any) -> None:
        render(answer, output=self.output, command_name=OPERATION, query=self.query, color=self.namespace.color)


def run(namespace: argparse.Namespace) -> int:
    query = compile_query(namespace.query)
    check_endpoint_url(namespace.endpoint_url)
    options = connection_options(namespace)
    session = make_session(options)
    operation = session.get_service_model("ecr").operation_model(OPERATION)

    if namespace.generate_cli_skeleton == "input":
        skeleton.write_input_skeleton(operation, sys.stdout)
        return EXIT_OK
    if namespace.generate_cli_skeleton == "yaml-input":
        skeleton.write_yaml_input_skeleton(operation, sys.stdout)
        return EXIT_OK
    if _auto_prompt_wanted(namespace):
        _prompt_missing(namespace)
    _require(namespace)

    registry_id = scalar_parameter("--registry-id", namespace.registry_id)
    named = [scalar_parameter("--repository-name", name) or "" for name in namespace.repository_name or []]
    layer_digests = expand_layer_digests(namespace.layer_digests)
    cli_input = load_cli_input(namespace.cli_input_json, namespace.cli_input_yaml)
    invocation = _Invocation(namespace, session, options, operation, output_format(namespace, session), query)

    several = (
        namespace.api_url is not None
        or namespace.repository_names is not None
        or len(named) > 1
        or "repositoryNames" in cli_input
    )
    if several:
        repository_names = named + list(namespace.repository_names or [])
        request = multi.MultiRequest.from_inputs(registry_id, repository_names, layer_digests, cli_input)
        return _run_several(invocation, request)

    # One repository: ECR's own call with exactly the user's parameters, so answers and errors match the AWS CLI.
    parameters: dict[str, Any] = {}
    if registry_id is not None:
        parameters["registryId"] = registry_id
    if named:
        parameters["repositoryName"] = named[-1]
    if layer_digests is not None:
        parameters["layerDigests"] = layer_digests
    return _run_single(invocation, merge_cli_input(parameters, cli_input))


def _run_single(invocation: _Invocation, parameters: dict[str, Any]) -> int:
    client = multi.ecr_client(invocation.session, invocation.options)
    if invocation.namespace.generate_cli_skeleton == "output":
        # The AWS CLI's stubbed call: parameters validated by botocore, a sample answer printed, nothing sent.
        with Stubber(client) as stubber:
            stubber.add_response("batch_check_layer_availability", skeleton.output_skeleton(invocation.operation))
            response = client.batch_check_layer_availability(**parameters)
    else:
        response = client.batch_check_layer_availability(**parameters)
    invocation.render(response)
    if invocation.namespace.fail_on_missing and not _all_available(response):
        return EXIT_NOT_AVAILABLE
    return EXIT_OK


def _run_several(invocation: _Invocation, request: multi.MultiRequest) -> int:
    """The API's shape in every format; exits by the rule of every form but the AWS CLI's own (``gates``): 255 when a
    repository's digests failed with an error rather than a verdict (not found, access denied, unreachable ...)."""
    namespace = invocation.namespace
    sample = namespace.generate_cli_skeleton == "output"
    if sample:
        answer = multi.sample_answer(skeleton.output_skeleton(invocation.operation))
    else:
        require_credentials(invocation.session, invocation.options)
        if namespace.api_url is not None:
            answer = multi.check_through_api(namespace.api_url, request, invocation.session, invocation.options)
        else:
            answer = multi.check_locally(
                request,
                invocation.session,
                invocation.options,
                workers=namespace.workers,
                max_calls_per_second=multi.max_calls_per_second(namespace.max_calls_per_second, os.environ),
            )
    if invocation.output == "table" and invocation.query is None:
        # One row per repository: the nested AWS-style table of every digest is unreadable past a few repositories
        # (--query results --output table still prints it).
        render_repository_counts(OPERATION, answer, sys.stdout)
    else:
        invocation.render(answer)
    not_checked = [] if sample else repository_errors(answer)
    return gates.exit_code(not_checked, gate_holds=namespace.fail_on_missing and not multi.all_available(answer))


COMMAND = Command(
    name=NAME,
    summary="Check layer digests in one or many repositories (aws ecr batch-check-layer-availability).",
    description=(
        "Check the availability of layer digests in one or more ECR repositories. One --repository-name behaves "
        "exactly as aws ecr batch-check-layer-availability (a missing repository is exit 255); several "
        "repositories print one result per repository and a summary (a missing repository is a failure per digest, "
        "the others are still checked, and the exit code is 255: something asked was not checked)."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
    before_unknown=require_before_unknown,
)
