"""Where ``layercheck`` is after ``make venv``, and the shell line that puts it on the ``PATH``: ``make serve``'s banner
and ``make demo``'s last lines print it, so that pasting them is enough to run the command."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

COMMAND = "layercheck"


def venv_bin() -> Path:
    """The directory of the interpreter running this (``.venv/bin`` under ``make``), where the console script is."""
    return Path(sys.executable).absolute().parent


def path_export() -> tuple[str, str]:
    """``("PATH", "<abs>/.venv/bin:$PATH")``: the value as a shell expands it (``$PATH`` left for the shell)."""
    return "PATH", f"{shlex.quote(str(venv_bin()))}:$PATH"


def how_to_run(example: str) -> str:
    """The lines that end ``make demo``: the command on the PATH, then where to point it."""
    name, value = path_export()
    return "\n".join(
        [
            f"Run {COMMAND} yourself (it is {venv_bin() / COMMAND}):",
            f"  export {name}={value}",
            f"  {COMMAND} --help",
            f"  make serve      # in another shell: a local stack; paste the lines it prints, then: {example}",
            f"  {COMMAND} audit --output table     # against your own account: your AWS credentials and Region",
        ]
    )
