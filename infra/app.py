"""Builds the CDK app: configuration from context, the stack, and cdk-nag on every synth.

``app.py`` at the repository root calls :func:`build_app`; the infra tests call it too, so what they assert is
exactly what ``cdk deploy`` would deploy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, cx_api

from infra.config import LayerCheckConfig
from infra.nag import add_nag_checks
from infra.reader_stack import LayerCheckReaderStack, ReaderConfig
from infra.stack import LayerCheckStack

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` of cdk.json. Passed to ``App(context=...)`` so that ``python app.py`` (``make synth``, the
    tests) sees the same settings as the CDK CLI; under the CLI, its own context (and any ``-c``) still wins."""
    context: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    return context


def build_app(*, context: dict[str, Any] | None = None, outdir: str | None = None) -> tuple[App, LayerCheckStack]:
    """The app and its one stack, configured by ``context`` (see :func:`cdk_json_context`) and the CLI's context."""
    app = App(context=context, outdir=outdir)
    config = LayerCheckConfig.from_context(app.node)
    # Environment-agnostic on purpose: one template deploys to any account and Region (the CLI's credentials decide).
    stack = LayerCheckStack(app, config.stack_name, config=config)
    # Member accounts' read-only role (issue 11), in the app once `centralAccountId` names the account it trusts:
    # `cdk deploy LayerCheckReader -c centralAccountId=...`, or a StackSet from its template (docs/DEPLOY.md).
    if (reader := ReaderConfig.from_context(app.node)).central_account_id:
        LayerCheckReaderStack(app, reader.stack_name, config=reader)
    add_nag_checks(app)
    return app, stack


def synth_summary(assembly: cx_api.CloudAssembly, *, relative_to: Path | None = None) -> str:
    """What ``make synth`` prints: each stack with its resource count and template, and how to deploy it (one block).

    The CDK CLI runs app.py with ``CDK_OUTDIR`` and prints its own summary, so app.py prints this only without it."""

    def shown(path: Path) -> str:
        if relative_to is not None and path.resolve().is_relative_to(relative_to.resolve()):
            return str(path.resolve().relative_to(relative_to.resolve()))
        return str(path)

    stacks = list(assembly.stacks)
    lines = [f"Synthesized to {shown(Path(assembly.directory))}/ (cdk-nag: no unacknowledged findings)"]
    lines += [
        f"  {stack.stack_name}  {len(stack.template.get('Resources', {}))} resources  "
        f"{shown(Path(assembly.directory) / stack.template_file)}"
        for stack in stacks
    ]
    lines += [
        f"Deploy: npm ci && npx cdk bootstrap (once per account and Region) && npx cdk deploy {stacks[0].stack_name}",
        '  settings: cdk.json or -c key=value (docs/DEPLOY.md "Configuration"); npx cdk diff before an upgrade',
    ]
    if len(stacks) > 1:
        lines.append(f"  member accounts: npx cdk deploy {stacks[1].stack_name} there, or a StackSet from its template")
    return "\n".join(lines)
