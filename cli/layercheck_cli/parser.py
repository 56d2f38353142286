"""The parser: one table of global options (defaults included) and, per command, its own table of options.

Global options are accepted before or after the command, as the AWS CLI accepts them: each parser declares them with a
suppressed default, and ``with_global_defaults`` fills in the table's defaults once parsing is done.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, NoReturn

from layercheck_cli.errors import UsageError
from layercheck_cli.formatters import COLOR_CHOICES, OUTPUT_FORMATS
from layercheck_cli.session import version_string

PROG = "layercheck"
USAGE = (
    "layercheck [options] <command> [parameters]\n"
    "To see help text, you can run:\n"
    "\n"
    "  layercheck help\n"
    "  layercheck <command> help\n"
)
DESCRIPTION = (
    "layercheck: are these layers and images really in Amazon ECR? A drop-in for aws ecr "
    "batch-check-layer-availability, extended to many repositories, whole images, registry audits and the "
    "deployed layercheck API."
)
EPILOG = """EXIT CODES
  0    all that was asked was checked (missing layers and broken images are part of the answer, unless --fail-on-*)
  1    --fail-on-missing / --fail-on-broken and its condition holds (a digest not AVAILABLE, an image not COMPLETE)
  2    usage error: a required option is missing or a value is not allowed
  130  interrupted (Ctrl-C)
  255  something asked could not be checked: no credentials or region, ECR or the API unreachable, a repository
       not found, a prefix that matches nothing, an image that could not be judged, an API error status, invalid
       parameters, unknown options. The reason is on stderr; a gate never passes on nothing.
  batch-check-layer-availability with one --repository-name keeps the AWS CLI's codes exactly (an error of ECR is
  255, its message on stderr as the AWS CLI prints it).

EXAMPLES
  layercheck batch-check-layer-availability --repository-name app --layer-digests sha256:...
  layercheck check-image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.2 --fail-on-missing
  layercheck audit --output table --fail-on-broken
  layercheck report --output-file report.html
  layercheck <command> --help
"""


@dataclass(frozen=True)
class Option:
    """One command-line option: its flags, its default, and how argparse reads it (``action``, ``nargs`` ...)."""

    flags: tuple[str, ...]
    help: str
    default: Any = None
    dest: str | None = None
    required: bool = False  # marked in --help; the command enforces it (the AWS CLI's order of errors)
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.dest:
            return self.dest
        return self.flags[0].lstrip("-").replace("-", "_")

    @property
    def help_text(self) -> str:
        return f"[required] {self.help}" if self.required else self.help

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, default: Any = None) -> None:
        settings = dict(self.kwargs)
        if settings.get("action") != "version":
            settings["default"] = default
            if self.dest and self.flags[0].startswith("-"):
                settings["dest"] = self.dest
        parser.add_argument(*self.flags, help=self.help_text, **settings)


_SUPPRESS = argparse.SUPPRESS
HELP_WIDTH = 78
_TRUE: Mapping[str, Any] = {"action": "store_true"}
_FALSE: Mapping[str, Any] = {"action": "store_false"}
_INT: Mapping[str, Any] = {"type": int}

GLOBAL_OPTIONS: tuple[Option, ...] = (
    Option(("--debug",), "Turn on debug logging (stderr); secrets are masked.", False, kwargs=_TRUE),
    Option(("--endpoint-url",), "Override the ECR endpoint URL (default: botocore's, AWS_ENDPOINT_URL...)."),
    Option(("--no-verify-ssl",), "Do not verify SSL certificates.", True, "verify_ssl", kwargs=_FALSE),
    Option(("--no-paginate",), "Accepted; the operation is a page.", True, "paginate", kwargs=_FALSE),
    Option(("--output",), "Output format (default: the profile's, else json).", kwargs={"choices": OUTPUT_FORMATS}),
    Option(("--query",), "A JMESPath query to filter the answer."),
    Option(("--profile",), "A profile from your config and credentials files."),
    Option(("--region",), "The region to use. Overrides config/env settings."),
    Option(("--version",), "Display the version of this tool.",
           kwargs={"action": "version", "version": version_string()}),
    Option(("--color",), "Turn on/off color output (tables).", "auto", kwargs={"choices": COLOR_CHOICES}),
    Option(("--no-sign-request",), "Do not sign requests.", True, "sign_request", kwargs=_FALSE),
    Option(("--ca-bundle",), "The CA certificate bundle to use when verifying SSL certificates."),
    Option(("--cli-read-timeout",), "Socket read timeout (s), 0 = blocking.", None, "read_timeout", kwargs=_INT),
    Option(("--cli-connect-timeout",), "Connect timeout (s), 0 = blocking.", None, "connect_timeout", kwargs=_INT),
    Option(("--cli-binary-format",), "Accepted (no blob parameters).",
           kwargs={"choices": ("base64", "raw-in-base64-out")}),
    Option(("--no-cli-pager",), "Accepted; layercheck never pages its output.", False, kwargs=_TRUE),
    Option(("--cli-auto-prompt",), "On a terminal, ask for missing required parameters.", None, "cli_auto_prompt",
           kwargs={"action": "store_const", "const": True}),
    Option(("--no-cli-auto-prompt",), "Never prompt, even if AWS_CLI_AUTO_PROMPT is set.", None, "cli_auto_prompt",
           kwargs={"action": "store_const", "const": False}),
)  # fmt: skip

GLOBAL_DEFAULTS: dict[str, Any] = {
    option.name: option.default for option in GLOBAL_OPTIONS if option.kwargs.get("action") != "version"
}


@dataclass(frozen=True)
class Command:
    """A command: its name, its help (with an EXAMPLES section), its option table, and what runs it."""

    name: str
    summary: str
    description: str
    examples: str
    options: tuple[Option, ...]
    run: Callable[[argparse.Namespace], int]
    # Checks argparse would make before the AWS CLI reports unknown options (required options first).
    before_unknown: Callable[[argparse.Namespace], None] | None = None


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


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("global options")
    for option in GLOBAL_OPTIONS:
        option.add_to(group, default=_SUPPRESS)


def build_parser(commands: tuple[Command, ...]) -> ArgParser:
    parser = ArgParser(
        prog=PROG,
        usage=USAGE,
        add_help=False,
        description=textwrap.fill(DESCRIPTION, HELP_WIDTH),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    # Every command is in reach of the one that describes them all (completion), without importing back its package.
    parser.set_defaults(all_commands=commands)
    _add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", parser_class=ArgParser)
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            usage=USAGE,
            help=command.summary,
            description=textwrap.fill(command.description, HELP_WIDTH),
            epilog=f"EXAMPLES\n{command.examples}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for option in command.options:
            option.add_to(sub, default=option.default)
        sub.add_argument("help", nargs="?", help=_SUPPRESS)
        _add_global_options(sub)
    subparsers.add_parser("help", help="Show this help.", usage=USAGE)
    return parser


def with_global_defaults(namespace: argparse.Namespace) -> argparse.Namespace:
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(namespace, name):
            setattr(namespace, name, default)
    return namespace
