#!/usr/bin/env python3
"""CDK entry point (``cdk.json`` runs it). Pure: no AWS calls, no git, no network; configuration from context."""

import os
import sys
from pathlib import Path

# The stack reads the results table's keys from the Lambda's own module (lambda_src/layercheck/results_table_schema.py);
# `make venv` installs that package in editable mode, and this line makes a bare checkout work the same way.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambda_src"))

from infra.app import build_app, cdk_json_context, synth_summary

ROOT = Path(__file__).resolve().parent

if __name__ == "__main__":
    # Under the CDK CLI, CDK_OUTDIR names the assembly directory and the CLI reports; run directly (`make synth`,
    # or `python app.py DIR`), write to cdk.out/ (or DIR) and say what was written and how to deploy it.
    under_cli = "CDK_OUTDIR" in os.environ
    outdir = None if under_cli else (sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "cdk.out"))
    app, stack = build_app(context=cdk_json_context(), outdir=outdir)
    assembly = app.synth()
    if not under_cli:
        print(synth_summary(assembly, central=stack.stack_name, relative_to=Path.cwd()))
