"""``layercheck completion bash|zsh|fish``: print the shell completion script (every command, option and choice)."""

from __future__ import annotations

import argparse
import sys

from layercheck_cli.completion import SHELLS, script
from layercheck_cli.errors import UsageError
from layercheck_cli.exit_codes import EXIT_OK
from layercheck_cli.parser import Command, Option

NAME = "completion"

OPTIONS: tuple[Option, ...] = (
    Option(("shell",), "The shell to complete in: bash, zsh or fish.", required=True,
           kwargs={"nargs": "?", "choices": SHELLS}),
)  # fmt: skip

EXAMPLES = """\
  # bash: in ~/.bashrc
  eval "$(layercheck completion bash)"
  # zsh: in ~/.zshrc, after compinit
  eval "$(layercheck completion zsh)"
  # fish: in ~/.config/fish/config.fish
  layercheck completion fish | source
"""


def run(namespace: argparse.Namespace) -> int:
    if namespace.shell is None:
        raise UsageError("the following arguments are required: shell")
    sys.stdout.write(script(namespace.shell, namespace.all_commands))
    return EXIT_OK


COMMAND = Command(
    name=NAME,
    summary="Print the shell completion script for bash, zsh or fish.",
    description=(
        "Print a completion script for bash, zsh or fish: commands, options and their choices complete on TAB."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
