"""``layercheck audit``: every image of the repositories in scope judged as the scheduled audit judges it, from any
machine whose credentials can read the registry. Nothing is stored; the answer is printed."""

from __future__ import annotations

import argparse
import sys

from layercheck_cli.errors import CliError
from layercheck_cli.exit_codes import EXIT_NOT_AVAILABLE, EXIT_OK
from layercheck_cli.formatters import render
from layercheck_cli.parser import Command, Option
from layercheck_cli.resolve import check_endpoint_url, compile_query, connection_options, output_format
from layercheck_cli.session import make_session
from layercheck_cli.table import terminal_width

NAME = "audit"
TITLE = "Audit"

OPTIONS: tuple[Option, ...] = (
    Option(("--repository-names",), "Audit exactly these repositories (default: every repository in scope).",
           kwargs={"nargs": "+", "action": "extend"}),
    Option(("--repository-prefixes",), "Audit the repositories whose name starts with one of these.",
           kwargs={"nargs": "+", "action": "extend"}),
    Option(("--tagged-only",), "Skip untagged images.", False, kwargs={"action": "store_true"}),
    Option(("--newest",), "Only the N most recently pushed images of each repository (0: all).", 0,
           kwargs={"type": int, "metavar": "N"}),
    Option(("--registry-id",), "The registry (account) ID; default: your account's registry."),
    Option(("--fail-on-broken",), "Exit 1 when any image is BROKEN (for CI gates).", False,
           kwargs={"action": "store_true"}),
    Option(("--workers",), "Concurrent ECR calls.", 16, kwargs={"type": int}),
)  # fmt: skip

EXAMPLES = """\
  # Every repository of your account's registry in the configured Region, as a table:
  layercheck audit --output table
  # The newest 5 tagged images of two repositories; exit 1 in CI when one is BROKEN:
  layercheck audit --repository-names team-a/api team-b/worker --tagged-only --newest 5 --fail-on-broken
  # What is broken, one line per image:
  layercheck audit --repository-prefixes team-a/ --query "findings[?status=='BROKEN'].[repositoryName, imageDigest]" \\
      --output text
"""


def run(namespace: argparse.Namespace) -> int:
    from layercheck.integrations.ecr import EcrRegistry
    from layercheck.models.audit import AuditScope
    from layercheck_cli import audit_run
    from layercheck_cli.count_table import render_count_table
    from layercheck_cli.multi import default_registry_id, ecr_client
    from layercheck_cli.progress import ProgressBar

    if namespace.newest < 0:
        raise CliError("Bad value for --newest: it must be 0 (all images) or more")
    query = compile_query(namespace.query)
    check_endpoint_url(namespace.endpoint_url)
    options = connection_options(namespace)
    session = make_session(options)
    client = ecr_client(session, options, workers=namespace.workers)
    registry_id = namespace.registry_id or default_registry_id(session, options, client)
    if not registry_id:
        raise CliError(
            "Could not tell your account's registry (ECR DescribeRegistry and STS failed): give --registry-id"
        )
    scope = AuditScope(
        repositoryPrefixes=tuple(namespace.repository_prefixes or ()),
        taggedOnly=namespace.tagged_only,
        newestImages=namespace.newest,
    )
    progress = ProgressBar(label="repositories") if ProgressBar.wanted() else None
    try:
        audits = audit_run.audit_registry(
            EcrRegistry(client),
            scope,
            registry_id=registry_id,
            repository_names=namespace.repository_names or (),
            workers=namespace.workers,
            on_progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    document = audit_run.audit_document(audits)
    output = output_format(namespace, session)
    if output == "table" and query is None:
        rows = [
            (audit.repository_name, [len(audit.verdicts), *(audit.count(s) for s in audit_run.STATUSES)])
            for audit in audits
        ]
        render_count_table(TITLE, "repository", ["images", *audit_run.STATUSES], rows, sys.stdout,
                           width=terminal_width(sys.stdout))  # fmt: skip
        for audit in audits:
            if audit.failure_code is not None:
                sys.stdout.write(
                    f"{audit.repository_name}: not audited: {audit.failure_code}: {audit.failure_reason}\n"
                )
    else:
        render(document, output=output, command_name=TITLE, query=query, color=namespace.color)
    broken = any(audit.count("BROKEN") for audit in audits)
    return EXIT_NOT_AVAILABLE if namespace.fail_on_broken and broken else EXIT_OK


COMMAND = Command(
    name=NAME,
    summary="Audit every image of the registry (or some repositories) as the scheduled audit does; nothing is stored.",
    description=(
        "Walk every image in scope (index, platform manifests, config, layers), check every blob, and print a "
        "summary per repository (COMPLETE, BROKEN, UNCHECKED, ARCHIVED) and every image that is not COMPLETE. Uses "
        "the same scope rules, image selection and judgement as the deployed scheduled audit, against any registry "
        "your credentials can read. A progress bar shows on a terminal (stderr)."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
