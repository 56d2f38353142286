"""The one exit rule of every form but the single-repository ``batch-check-layer-availability`` (DESIGN.md, command
line).

- 0: all that was asked was checked, and the gate's condition (``--fail-on-*``) does not hold;
- 1: it holds;
- 255: something asked could not be checked (a repository not found, a prefix that matches nothing, nothing in scope,
  an image that could not be judged, ECR or the API unreachable ...). The answer is still printed; each reason goes to
  stderr, one line each. A gate never passes on nothing: 255 wins over 1 and 0.

Errors that stop a command before it has anything to print (no credentials, no Region, unreachable before the first
answer) are raised and reported by ``main.report_error`` with the same 255.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from layercheck_cli.exit_codes import EXIT_ERROR, EXIT_NOT_AVAILABLE, EXIT_OK

PREFIX = "layercheck: not checked: "


def exit_code(not_checked: Sequence[str], *, gate_holds: bool, stderr: TextIO | None = None) -> int:
    """Write each reason something asked was not checked on stderr and return the exit code of the rule above."""
    out = stderr if stderr is not None else sys.stderr
    for reason in not_checked:
        out.write(f"{PREFIX}{reason}\n")
    if not_checked:
        out.flush()
        return EXIT_ERROR
    return EXIT_NOT_AVAILABLE if gate_holds else EXIT_OK


EXIT_CODES_HELP = """\
  0    everything asked was checked, and the --fail-on-* condition does not hold
  1    --fail-on-* and its condition holds
  2    usage error (a required option or argument missing, a value not allowed)
  255  something asked could not be checked: no credentials, ECR or the API unreachable, a repository not found,
       nothing in scope, ... The answer is still printed; the reasons are on stderr. A gate never passes on nothing.
"""
