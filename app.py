#!/usr/bin/env python3
"""CDK entry point (``cdk.json`` runs it). Pure: no AWS calls, no git, no network; configuration from context."""

import os
import sys
from pathlib import Path

# The stack reads the results table's keys from the Lambda's own module (lambda_src/layercheck/results_table_schema.py);
# `make venv` installs that package in editable mode, and this line makes a bare checkout work the same way.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambda_src"))

from infra.app import build_app, cdk_json_context

if __name__ == "__main__":
    # Under the CDK CLI, CDK_OUTDIR names the assembly directory; run directly (`make synth`), write to cdk.out/.
    outdir = None if "CDK_OUTDIR" in os.environ else str(Path(__file__).resolve().parent / "cdk.out")
    app, _ = build_app(context=cdk_json_context(), outdir=outdir)
    app.synth()
