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
from infra.exclusion_stack import exclusion_stack_name, exclusion_stacks
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
    """The app and its central stack, configured by ``context`` (see :func:`cdk_json_context`) and the CLI's context.

    The app also holds ``LayerCheckReader``, the member accounts' read-only role, ready for
    ``cdk deploy LayerCheckReader`` or a StackSet from its template (docs/DEPLOY.md); it trusts ``centralAccountId``,
    or the account it is deployed to when that is unset. With ``auditRegions`` and the pull-time exclusions on, one
    ``<stackName>-PullTimeExclusions-<region>`` stack per audited Region registers the functions' roles there."""
    app = App(context=context, outdir=outdir)
    config = LayerCheckConfig.from_context(app.node)
    # Environment-agnostic on purpose: one template deploys to any account and Region (the CLI's credentials decide).
    stack = LayerCheckStack(app, config.stack_name, config=config)
    exclusion_stacks(app, config, stack)
    reader = ReaderConfig.from_context(app.node)
    LayerCheckReaderStack(app, reader.stack_name, config=reader)
    add_nag_checks(app)
    return app, stack


def synth_summary(assembly: cx_api.CloudAssembly, *, central: str, relative_to: Path | None = None) -> str:
    """What ``make synth`` prints: each stack with its resource count and template, and how to deploy them (one
    block). ``central`` names the central stack; the others are its audited Regions' exclusions and the reader.

    The CDK CLI runs app.py with ``CDK_OUTDIR`` and prints its own summary, so app.py prints this only without it."""

    def shown(path: Path) -> str:
        if relative_to is not None and path.resolve().is_relative_to(relative_to.resolve()):
            return str(path.resolve().relative_to(relative_to.resolve()))
        return str(path)

    stacks = sorted(assembly.stacks, key=lambda stack: stack.stack_name != central)
    exclusions_prefix = exclusion_stack_name(central, "")
    exclusions = [stack for stack in stacks if stack.stack_name.startswith(exclusions_prefix)]
    readers = [stack for stack in stacks if stack.stack_name != central and stack not in exclusions]
    lines = [f"Synthesized to {shown(Path(assembly.directory))}/ (cdk-nag: no unacknowledged findings)"]
    lines += [
        f"  {stack.stack_name}  {len(stack.template.get('Resources', {}))} resources  "
        f"{shown(Path(assembly.directory) / stack.template_file)}"
        for stack in stacks
    ]
    deploy = f"{central} '{exclusions_prefix}*'" if exclusions else central
    lines += [
        f"Deploy: npm ci && npx cdk bootstrap (once per account and Region) && npx cdk deploy {deploy}",
        '  settings: cdk.json or -c key=value (docs/DEPLOY.md "Configuration"); npx cdk diff before an upgrade',
    ]
    if exclusions:
        lines.append(f"  {len(exclusions)} audited Region(s): the roles' pull-time exclusions there, after the stack")
    lines += [
        f"  member accounts: npx cdk deploy {stack.stack_name} -c centralAccountId=<this account> there, or a StackSet"
        for stack in readers
    ]
    return "\n".join(lines)
