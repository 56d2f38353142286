"""``layercheck audit``: every image of the repositories in scope judged as the scheduled audit judges it, from any
machine whose credentials can read the registry, with who runs each image (ECS, Lambda). Nothing is stored."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from layercheck_cli import gates
from layercheck_cli.errors import CliError
from layercheck_cli.formatters import render
from layercheck_cli.parser import Command, Option
from layercheck_cli.resolve import check_endpoint_url, compile_query, connection_options, output_format
from layercheck_cli.session import make_session
from layercheck_cli.table import terminal_width

if TYPE_CHECKING:
    from layercheck_cli.audit_local import AuditRequest

NAME = "audit"
TITLE = "Audit"

# What a local audit covers: audit and report (without --api-url) share these.
SCOPE_OPTIONS: tuple[Option, ...] = (
    Option(("--repository-names",), "Audit exactly these repositories (default: every repository in scope).",
           kwargs={"nargs": "+", "action": "extend"}),
    Option(("--repository-prefixes",), "Audit the repositories whose name starts with one of these.",
           kwargs={"nargs": "+", "action": "extend"}),
    Option(("--tagged-only",), "Skip untagged images (images in use are audited whatever this says).", False,
           kwargs={"action": "store_true"}),
    Option(("--newest",), "Only the N most recently pushed images of each repository (0: all), and those in use.", 0,
           kwargs={"type": int, "metavar": "N"}),
    Option(("--registry-id",), "The registry (account) ID; default: your account's registry."),
    Option(("--no-in-use",), "Do not read ECS and Lambda for who runs each image (no usedBy).", True, "in_use",
           kwargs={"action": "store_false"}),
    Option(("--workers",), "Concurrent ECR calls.", 16, kwargs={"type": int}),
)  # fmt: skip
OPTIONS: tuple[Option, ...] = (
    *SCOPE_OPTIONS,
    Option(("--fail-on-broken",), "Exit 1 when an image is BROKEN, or in use and gone (MISSING) (for CI gates).", False,
           kwargs={"action": "store_true"}),
)  # fmt: skip

EXAMPLES = f"""\
  # Every repository of your account's registry in the configured Region, as tables:
  layercheck audit --output table
  # The newest 5 tagged images of two repositories (and every image in use); exit 1 in CI when one is BROKEN:
  layercheck audit --repository-names team-a/api team-b/worker --tagged-only --newest 5 --fail-on-broken
  # What is broken, one line per image:
  layercheck audit --repository-prefixes team-a/ --query "findings[?status=='BROKEN'].[repositoryName, imageDigest]" \\
      --output text

READS
  Every image's manifests are read with BatchGetImage, with your credentials: ECR records that as a pull and sets the
  image's lastRecordedPullTime, which sinceImagePulled lifecycle rules read (an audited image counts as recently
  pulled). Tags in use are resolved with DescribeImages, which records nothing. Who runs each image is read from
  ECS (ecs:ListClusters, ListServices, DescribeServices, DescribeTaskDefinition, ListTasks, DescribeTasks) and Lambda
  (lambda:ListFunctions, GetFunction, ListAliases) in the audited account and Region; without those permissions the
  audit still runs and says on stderr that who runs what is unknown.

EXIT CODES
{gates.EXIT_CODES_HELP}  For audit: 1 with --fail-on-broken when an image is BROKEN, or in use and no longer in the
  registry; 255 when a repository asked cannot be read or does not exist, a prefix matches no repository, or nothing
  is in scope. UNCHECKED images (a pull-through cache's uncached layers, a manifest layercheck cannot read) are listed
  with their reason; they are the audit's verdicts, not failures to audit.
"""


def audit_request(namespace: argparse.Namespace) -> AuditRequest:
    """The local audit the ``SCOPE_OPTIONS`` ask for."""
    from layercheck.models.audit import AuditScope
    from layercheck_cli.audit_local import AuditRequest

    if namespace.newest < 0:
        raise CliError("Bad value for --newest: it must be 0 (all images) or more")
    return AuditRequest(
        scope=AuditScope(
            repositoryPrefixes=tuple(namespace.repository_prefixes or ()),
            taggedOnly=namespace.tagged_only,
            newestImages=namespace.newest,
        ),
        repository_names=tuple(namespace.repository_names or ()),
        registry_id=namespace.registry_id,
        workers=namespace.workers,
        discover_in_use=namespace.in_use,
    )


def run(namespace: argparse.Namespace) -> int:
    from layercheck_cli import audit_run
    from layercheck_cli.audit_local import run_audit
    from layercheck_cli.audit_view import render_audit_table

    request = audit_request(namespace)
    query = compile_query(namespace.query)
    check_endpoint_url(namespace.endpoint_url)
    options = connection_options(namespace)
    session = make_session(options)
    answer = run_audit(request, session, options)
    document = audit_run.audit_document(answer)
    if output_format(namespace, session) == "table" and query is None:
        render_audit_table(TITLE, audit_run.STATUSES, document, sys.stdout, width=terminal_width(sys.stdout))
        sys.stdout.flush()
    else:
        render(document, output=output_format(namespace, session), command_name=TITLE, query=query,
               color=namespace.color)  # fmt: skip
    return gates.exit_code(request.not_checked(answer), gate_holds=namespace.fail_on_broken and answer.gate_holds())


COMMAND = Command(
    name=NAME,
    summary="Audit every image of the registry (or some repositories) as the scheduled audit does; nothing is stored.",
    description=(
        "Walk every image in scope (index, platform manifests, config, layers), check every blob, and print a "
        "summary per repository (COMPLETE, BROKEN, MISSING, UNCHECKED, ARCHIVED) and every image that is not COMPLETE "
        "with who runs it (ECS services and tasks, Lambda functions). Uses the same scope rules, image selection and "
        "judgement as the deployed scheduled audit, images in use first, against any registry your credentials can "
        "read. Reading a manifest is a pull for ECR (see READS). A progress bar shows on a terminal (stderr)."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
