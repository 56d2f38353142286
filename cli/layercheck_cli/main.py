"""``layercheck``: the command line.

``layercheck batch-check-layer-availability`` takes the options of ``aws ecr batch-check-layer-availability`` and, for
one repository, calls ECR's ``BatchCheckLayerAvailability`` with exactly the user's parameters, so that its answers and
errors print as the AWS CLI prints them. Several repositories (``--repository-names``, or ``--repository-name`` more
than once) go through the check engine, and ``--api-url`` through the deployed API; both print the API's shape
(``{"results": [...], "summary": {...}}``) in every output format.

Exit codes (the AWS CLI's, plus one for CI gates):
    0    the command ran (whatever the layers' availability, unless ``--fail-on-missing``)
    1    ``--fail-on-missing`` and at least one digest is not AVAILABLE (missing, unavailable, invalid or errored)
    2    usage error: a missing or malformed option (argparse's code, as the AWS CLI v1 exits)
    130  interrupted (Ctrl-C)
    255  the call failed: a service error, invalid parameters, unknown options, no region or credentials
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, NoReturn

import jmespath
from botocore.exceptions import NoCredentialsError, NoRegionError
from botocore.model import OperationModel
from botocore.stub import Stubber

from layercheck_cli import multi, skeleton
from layercheck_cli.errors import CliError, UnknownOptionsError, UsageError
from layercheck_cli.formatters import COLOR_CHOICES, OUTPUT_FORMATS, Query, render
from layercheck_cli.inputs import expand_layer_digests, load_cli_input, merge_cli_input, scalar_parameter
from layercheck_cli.session import ConnectionOptions, enable_debug_logging, make_session, version_string

LOG = logging.getLogger("layercheck_cli")

PROG = "layercheck"
BATCH_CHECK = "batch-check-layer-availability"
CHECK_IMAGE = "check-image"
OPERATION = "BatchCheckLayerAvailability"
USAGE = (
    "layercheck [options] <command> [parameters]\n"
    "To see help text, you can run:\n"
    "\n"
    "  layercheck help\n"
    "  layercheck <command> help\n"
)

EXIT_OK = 0
EXIT_NOT_AVAILABLE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_ERROR = 255

AVAILABLE = "AVAILABLE"


class ArgParser(argparse.ArgumentParser):
    """argparse with the AWS CLI's choice errors, raising instead of exiting so that ``main`` owns every exit code."""

    CHOICES_PER_LINE = 2

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        names = [str(choice) for choice in choices]
        lines = ["Invalid choice, valid choices are:\n"]
        for start in range(0, len(names), self.CHOICES_PER_LINE):
            lines.append(" | ".join(f"{name:<40}" for name in names[start : start + self.CHOICES_PER_LINE]))
        close = get_close_matches(str(value), names, cutoff=0.8)
        if close:
            lines.append(f"\n\nInvalid choice: {value!r}, maybe you meant:\n")
            lines.extend(f"  * {word}" for word in close)
        raise argparse.ArgumentError(action, "\n".join(lines))


# --- options --------------------------------------------------------------------------------------------------------

GLOBAL_DEFAULTS: dict[str, Any] = {
    "debug": False,
    "endpoint_url": None,
    "verify_ssl": True,
    "paginate": True,
    "output": None,
    "query": None,
    "profile": None,
    "region": None,
    "color": "auto",
    "sign_request": True,
    "ca_bundle": None,
    "read_timeout": None,
    "connect_timeout": None,
    "cli_binary_format": None,
    "no_cli_pager": False,
    "cli_auto_prompt": None,
}


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    """The AWS CLI's global options; accepted before or after the command (defaults are filled in afterwards)."""
    group = parser.add_argument_group("global options")
    add = group.add_argument
    sup = argparse.SUPPRESS
    add("--debug", action="store_true", default=sup, help="Turn on debug logging (stderr).")
    add("--endpoint-url", default=sup, help="Override the ECR endpoint URL (default: botocore's, AWS_ENDPOINT_URL...).")
    add("--no-verify-ssl", dest="verify_ssl", action="store_false", default=sup, help="Do not verify SSL certificates.")
    add("--no-paginate", dest="paginate", action="store_false", default=sup, help="Accepted; the operation is a page.")
    add("--output", choices=OUTPUT_FORMATS, default=sup, help="Output format (default: the profile's, else json).")
    add("--query", default=sup, help="A JMESPath query to filter the answer.")
    add("--profile", default=sup, help="A profile from your config and credentials files.")
    add("--region", default=sup, help="The region to use. Overrides config/env settings.")
    add("--version", action="version", version=version_string(), help="Display the version of this tool.")
    add("--color", choices=COLOR_CHOICES, default=sup, help="Turn on/off color output (tables).")
    add("--no-sign-request", dest="sign_request", action="store_false", default=sup, help="Do not sign requests.")
    add("--ca-bundle", default=sup, help="The CA certificate bundle to use when verifying SSL certificates.")
    add("--cli-read-timeout", dest="read_timeout", type=int, default=sup, help="Socket read timeout (s), 0 = blocking.")
    add(
        "--cli-connect-timeout",
        dest="connect_timeout",
        type=int,
        default=sup,
        help="Connect timeout (s), 0 = blocking.",
    )
    add(
        "--cli-binary-format",
        choices=("base64", "raw-in-base64-out"),
        default=sup,
        help="Accepted (no blob parameters).",
    )
    add("--no-cli-pager", action="store_true", default=sup, help="Accepted; layercheck never pages its output.")
    add(
        "--cli-auto-prompt",
        dest="cli_auto_prompt",
        action="store_const",
        const=True,
        default=sup,
        help="On a terminal, ask for missing required parameters.",
    )
    add(
        "--no-cli-auto-prompt",
        dest="cli_auto_prompt",
        action="store_const",
        const=False,
        default=sup,
        help="Never prompt, even if AWS_CLI_AUTO_PROMPT is set.",
    )


def build_parser() -> ArgParser:
    parser = ArgParser(prog=PROG, usage=USAGE, add_help=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    _add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="<command>", parser_class=ArgParser)

    batch = commands.add_parser(
        BATCH_CHECK,
        usage=USAGE,
        help="Check layer digests in one or many repositories (aws ecr batch-check-layer-availability).",
        description="Check the availability of layer digests in one or more ECR repositories.",
    )
    batch.add_argument("--registry-id", help="The registry (account) ID; default: your account's registry.")
    batch.add_argument(
        "--repository-name", action="append", help="A repository to check; repeat it to check several repositories."
    )
    batch.add_argument("--repository-names", nargs="+", action="extend", help="Several repositories at once.")
    batch.add_argument(
        "--layer-digests",
        nargs="*",
        action="extend",
        help="Digests to check; file://path (one per line, or a JSON list) or - for stdin.",
    )
    batch.add_argument("--cli-input-json", help="Parameters as JSON (a string or file://path); options override it.")
    batch.add_argument("--cli-input-yaml", help="Parameters as YAML (a string or file://path); options override it.")
    batch.add_argument(
        "--generate-cli-skeleton",
        nargs="?",
        const="input",
        choices=("input", "yaml-input", "output"),
        help="Print a parameter template (input, yaml-input) or a sample answer (output) instead of calling.",
    )
    batch.add_argument("--api-url", help="Check through the deployed layercheck API (POST /checks, SigV4-signed).")
    batch.add_argument(
        "--fail-on-missing", action="store_true", help="Exit 1 when any digest is not AVAILABLE (for CI gates)."
    )
    batch.add_argument("--workers", type=int, default=16, help="Concurrent ECR calls for several repositories.")
    batch.add_argument("help", nargs="?", help=argparse.SUPPRESS)
    _add_global_options(batch)

    image = commands.add_parser(
        CHECK_IMAGE,
        usage=USAGE,
        help="Check that every layer of an image is available (REPOSITORY[:TAG|@DIGEST]).",
        description="Walk an image (index, manifests, config, layers) and print its verdict.",
    )
    image.add_argument("image", metavar="REPOSITORY[:TAG|@DIGEST]", nargs="?", help="The image to check.")
    image.add_argument("--registry-id", help="The registry (account) ID; default: your account's registry.")
    image.add_argument("--fail-on-missing", action="store_true", help="Exit 1 when the image is BROKEN.")
    image.add_argument("--workers", type=int, default=16, help="Concurrent ECR calls.")
    image.add_argument("help", nargs="?", help=argparse.SUPPRESS)
    _add_global_options(image)

    commands.add_parser("help", help="Show this help.", usage=USAGE)
    return parser


def _with_global_defaults(namespace: argparse.Namespace) -> argparse.Namespace:
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(namespace, name):
            setattr(namespace, name, default)
    return namespace


def connection_options(namespace: argparse.Namespace) -> ConnectionOptions:
    return ConnectionOptions(
        profile=namespace.profile,
        region=namespace.region,
        endpoint_url=namespace.endpoint_url,
        verify_ssl=namespace.verify_ssl,
        ca_bundle=namespace.ca_bundle,
        read_timeout=namespace.read_timeout,
        connect_timeout=namespace.connect_timeout,
        sign_request=namespace.sign_request,
    )


def compile_query(expression: str | None) -> Query | None:
    if expression is None:
        return None
    try:
        search: Query = jmespath.compile(expression).search
        return search
    except jmespath.exceptions.JMESPathError as error:
        raise CliError(f"Bad value for --query {expression}: {error}") from error


def check_endpoint_url(value: str | None) -> None:
    if value is not None and "://" not in value:
        raise CliError(
            f'Bad value for --endpoint-url "{value}": scheme is missing.  Must be of the form '
            "http://<hostname>/ or https://<hostname>/"
        )


def output_format(namespace: argparse.Namespace, session: Any) -> str:
    """``--output``, else ``AWS_DEFAULT_OUTPUT`` or the profile's ``output``, else json (as the AWS CLI resolves it)."""
    if namespace.output:
        return str(namespace.output)
    configured = os.environ.get("AWS_DEFAULT_OUTPUT")
    if not configured:
        try:
            configured = session.get_scoped_config().get("output")
        except Exception:  # a missing profile is reported when the client is created
            configured = None
    if configured not in OUTPUT_FORMATS:
        return "json"
    return str(configured)


# --- commands -------------------------------------------------------------------------------------------------------


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


def run_batch_check(namespace: argparse.Namespace) -> int:
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
    run = _Invocation(namespace, session, options, operation, output_format(namespace, session), query)

    several = (
        namespace.api_url is not None
        or namespace.repository_names is not None
        or len(named) > 1
        or "repositoryNames" in cli_input
    )
    if several:
        repository_names = named + list(namespace.repository_names or [])
        request = multi.MultiRequest.from_inputs(registry_id, repository_names, layer_digests, cli_input)
        return _run_several(run, request)

    # One repository: ECR's own call with exactly the user's parameters, so answers and errors match the AWS CLI.
    parameters: dict[str, Any] = {}
    if registry_id is not None:
        parameters["registryId"] = registry_id
    if named:
        parameters["repositoryName"] = named[-1]
    if layer_digests is not None:
        parameters["layerDigests"] = layer_digests
    return _run_single(run, merge_cli_input(parameters, cli_input))


def _run_single(run: _Invocation, parameters: dict[str, Any]) -> int:
    client = multi.ecr_client(run.session, run.options)
    if run.namespace.generate_cli_skeleton == "output":
        # The AWS CLI's stubbed call: parameters validated by botocore, a sample answer printed, nothing sent.
        with Stubber(client) as stubber:
            stubber.add_response("batch_check_layer_availability", skeleton.output_skeleton(run.operation))
            response = client.batch_check_layer_availability(**parameters)
    else:
        response = client.batch_check_layer_availability(**parameters)
    run.render(response)
    if run.namespace.fail_on_missing and not _all_available(response):
        return EXIT_NOT_AVAILABLE
    return EXIT_OK


def _run_several(run: _Invocation, request: multi.MultiRequest) -> int:
    namespace = run.namespace
    if namespace.generate_cli_skeleton == "output":
        answer = multi.sample_answer(skeleton.output_skeleton(run.operation))
    elif namespace.api_url is not None:
        answer = multi.check_through_api(namespace.api_url, request, run.session, run.options)
    else:
        answer = multi.check_locally(request, run.session, run.options, workers=namespace.workers)
    run.render(answer)
    if namespace.fail_on_missing and not multi.all_available(answer):
        return EXIT_NOT_AVAILABLE
    return EXIT_OK


def run_check_image(namespace: argparse.Namespace) -> int:
    from layercheck_cli import image_check

    if not namespace.image:
        raise UsageError("the following arguments are required: REPOSITORY[:TAG|@DIGEST]")
    query = compile_query(namespace.query)
    check_endpoint_url(namespace.endpoint_url)
    options = connection_options(namespace)
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
    if namespace.fail_on_missing and not image_check.is_complete(verdict):
        return EXIT_NOT_AVAILABLE
    return EXIT_OK


# --- entry point ----------------------------------------------------------------------------------------------------


def _write_usage_error(message: str) -> None:
    sys.stderr.write(f"usage: {USAGE}")
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _dispatch(argv: list[str]) -> int:
    parser = build_parser()
    if not argv or argv == ["help"]:
        parser.print_help(sys.stdout)
        return EXIT_OK if argv else EXIT_USAGE
    namespace, remaining = parser.parse_known_args(argv)
    namespace = _with_global_defaults(namespace)
    if namespace.debug:
        enable_debug_logging()
        LOG.debug("CLI version: %s", version_string())
        LOG.debug("Arguments entered to CLI: %s", argv)
    if getattr(namespace, "help", None) == "help":
        parser.parse_args([namespace.command, "--help"])
    elif getattr(namespace, "help", None):
        remaining.append(namespace.help)
    if namespace.command in (None, "help"):
        parser.print_help(sys.stdout)
        return EXIT_OK if namespace.command == "help" else EXIT_USAGE
    if namespace.command == BATCH_CHECK:
        _require_before_unknown(namespace)
    if remaining:
        raise UnknownOptionsError("Unknown options: {}".format(", ".join(remaining)))
    if namespace.command == CHECK_IMAGE:
        return run_check_image(namespace)
    return run_batch_check(namespace)


def _require_before_unknown(namespace: argparse.Namespace) -> None:
    # argparse reports missing required options before the AWS CLI looks at unknown ones; keep that order.
    if namespace.generate_cli_skeleton in ("input", "yaml-input") or _auto_prompt_wanted(namespace):
        return
    _require(namespace)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["ecr"]:  # `layercheck ecr batch-check-layer-availability ...` reads like the command it replaces
        args = args[1:]
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return EXIT_INTERRUPTED
    except SystemExit as exit_request:  # --help and --version
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_OK
    except Exception as error:  # the error boundary: every failure is reported as the AWS CLI reports it
        return report_error(error)


def report_error(error: Exception) -> int:
    """Print ``error`` on stderr as the AWS CLI v1 does and return its exit code."""
    LOG.debug("Exception caught in main()", exc_info=error)
    if isinstance(error, UsageError):
        _write_usage_error(str(error))
        return EXIT_USAGE
    if isinstance(error, UnknownOptionsError):
        sys.stderr.write(f"usage: {USAGE}\n{error}\n")
    elif isinstance(error, NoRegionError):
        sys.stderr.write(f'{error} You can also configure your region by running "aws configure".\n')
    elif isinstance(error, NoCredentialsError):
        sys.stderr.write(f'{error}. You can configure credentials by running "aws configure".\n')
    else:
        sys.stderr.write(f"\n{error}\n")
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
