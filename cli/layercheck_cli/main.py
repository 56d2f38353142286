"""``layercheck``: the command line's entry point: parse, dispatch to the command's module, map every error once.

Exit codes (the AWS CLI's, plus one for CI gates): see ``exit_codes.py`` and ``layercheck --help``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from botocore.exceptions import NoCredentialsError, NoRegionError

from layercheck_cli.commands import COMMANDS
from layercheck_cli.errors import UnknownOptionsError, UsageError
from layercheck_cli.exit_codes import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_AVAILABLE,
    EXIT_OK,
    EXIT_USAGE,
)
from layercheck_cli.parser import PROG, USAGE, ArgParser, build_parser, with_global_defaults
from layercheck_cli.session import enable_debug_logging, version_string

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_NOT_AVAILABLE", "EXIT_OK", "EXIT_USAGE", "main", "parser"]

LOG = logging.getLogger("layercheck_cli")
_BY_NAME = {command.name: command for command in COMMANDS}


def parser() -> ArgParser:
    """The complete parser (every command), also what shell completion reads."""
    return build_parser(COMMANDS)


def _write_usage_error(message: str) -> None:
    sys.stderr.write(f"usage: {USAGE}")
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _help_word_as_option(argv: list[str]) -> list[str]:
    """``layercheck <command> help`` is that command's help, whatever the command's own positional arguments would
    make of the word (an image named "help", a shell not among the choices)."""
    return [
        "--help" if word == "help" and index > 0 and argv[index - 1] in _BY_NAME else word
        for index, word in enumerate(argv)
    ]


def _dispatch(argv: list[str]) -> int:
    root = parser()
    if not argv or argv == ["help"]:
        root.print_help(sys.stdout)
        return EXIT_OK if argv else EXIT_USAGE
    argv = _help_word_as_option(argv)
    namespace, remaining = root.parse_known_args(argv)
    namespace = with_global_defaults(namespace)
    if namespace.debug:
        enable_debug_logging()
        LOG.debug("CLI version: %s", version_string())
        LOG.debug("Arguments entered to CLI: %s", argv)
    if getattr(namespace, "help", None) == "help":
        root.parse_args([namespace.command, "--help"])
    elif getattr(namespace, "help", None):
        remaining.append(namespace.help)
    if namespace.command in (None, "help"):
        root.print_help(sys.stdout)
        return EXIT_OK if namespace.command == "help" else EXIT_USAGE
    command = _BY_NAME[namespace.command]
    if command.before_unknown is not None:
        command.before_unknown(namespace)
    if remaining:
        raise UnknownOptionsError("Unknown options: {}".format(", ".join(remaining)))
    return command.run(namespace)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
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
