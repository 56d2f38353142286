"""``layercheck report``: one self-contained HTML page of the images to act on (broken, missing, archived or
unchecked, at risk), with who runs them, per account and Region; from the deployed API or a local audit."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from layercheck_cli import gates
from layercheck_cli.commands.audit import SCOPE_OPTIONS, audit_request
from layercheck_cli.commands.listing import API_URL_HELP
from layercheck_cli.errors import CliError
from layercheck_cli.parser import Command, Option
from layercheck_cli.preflight import require_credentials
from layercheck_cli.report_html import CATEGORIES, Report, render_report
from layercheck_cli.resolve import check_endpoint_url, connection_options
from layercheck_cli.session import make_session

NAME = "report"
DEFAULT_FILE = "layercheck-report.html"
STDOUT = "-"

OPTIONS: tuple[Option, ...] = (
    Option(("--api-url",), f"Read the deployed service's verdicts (GET /images) instead of auditing here. "
           f"{API_URL_HELP}"),
    Option(("--output-file",), f"Where to write the page (default {DEFAULT_FILE}; - for stdout).", DEFAULT_FILE,
           kwargs={"metavar": "FILE"}),
    Option(("--image-region",), "With --api-url: only images in this Region (the API's region filter)."),
    *SCOPE_OPTIONS,
)  # fmt: skip

EXAMPLES = f"""\
  # Audit your account's registry in the configured Region here, and write the page:
  layercheck report --output-file report.html && xdg-open report.html    # open report.html on macOS
  # What the deployed service knows, across its accounts and Regions:
  layercheck report --api-url https://abc123.execute-api.eu-west-1.amazonaws.com/v1 --output-file report.html

PAGE
  Counts at the top, then per account and Region the broken, missing, archived or unchecked and at-risk images,
  each with its tags, digest, what is wrong, who runs it and when it was observed. The page loads nothing and runs
  no script when opened. Without --api-url the audit reads manifests as audit does (see layercheck audit help, READS).

EXIT CODES
{gates.EXIT_CODES_HELP}  For report (no --fail-on-*): 255 when the local audit could not audit something asked (the page
  is still written and names it), or when the API listed nothing at all. A deployment that does not list one kind
  (an older one, without MISSING or risk=lifecycle) is said on the page, exit 0.
"""


def _write(page: str, output_file: str) -> str:
    if output_file == STDOUT:
        sys.stdout.write(page)
        sys.stdout.flush()
        return "stdout"
    try:
        Path(output_file).write_text(page, encoding="utf-8")
    except OSError as error:
        raise CliError(f"Bad value for --output-file: {error}") from error
    return output_file


def run(namespace: argparse.Namespace) -> int:
    from layercheck_cli import report_sources

    options = connection_options(namespace)
    session = make_session(options)
    generated_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    not_checked: list[str] = []
    if namespace.api_url is not None:
        require_credentials(session, options)
        listed = report_sources.from_api(
            namespace.api_url, session, options, registry_id=namespace.registry_id, region=namespace.image_region
        )
        source = f"The layercheck API at {namespace.api_url}"
        if not listed.selectors_read:
            not_checked.append(f"the API at {namespace.api_url} listed none of the images a report shows")
    else:
        from layercheck_cli.audit_local import run_audit

        request = audit_request(namespace)
        check_endpoint_url(namespace.endpoint_url)
        answer = run_audit(request, session, options)
        not_checked = request.not_checked(answer)
        listed = report_sources.from_audit(answer, not_checked)
        where = f"registry {answer.registry_id}" + (f" in {answer.region}" if answer.region else "")
        source = f"A local audit of {where} ({len(answer.repositories)} repositories)"
    report = Report(source, generated_at, listed.verdicts, listed.at_risk, listed.notes)
    written = _write(render_report(report), namespace.output_file)
    counts = report.by_category()
    summary = ", ".join(f"{len(counts[key])} {heading.lower()}" for key, heading, _ in CATEGORIES)
    sys.stderr.write(f"layercheck: wrote {written}: {summary}\n")
    return gates.exit_code(not_checked, gate_holds=False)


COMMAND = Command(
    name=NAME,
    summary="Write one HTML page of the images to act on, with who runs them, per account and Region.",
    description=(
        "Write a self-contained HTML page (inline CSS, no script, nothing fetched when it is opened) naming every "
        "broken, missing, archived or unchecked image and every image in use at risk from a lifecycle rule, with who "
        "runs it, grouped per account and Region, with counts at the top and the time it was generated. From the "
        "deployed API (--api-url: GET /images by status and risk) or from a local audit (the options of audit)."
    ),
    examples=EXAMPLES,
    options=OPTIONS,
    run=run,
)
