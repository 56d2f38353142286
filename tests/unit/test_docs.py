"""The README and docs/*.md say what is true and can be followed as written: every link resolves (files and headings),
every ``layercheck`` command in a code block parses with the real parser, every ``make`` target and ``python -m``
module exists, the README's IAM policy names the actions the command line calls, and the README stays short with
"check my registry now" near the top. (tests/e2e/test_serve.py runs the README's local commands and docs/CLI.md's
AWS-parity transcript against ``make serve``.)"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from layercheck.logic.change_events import ImageVerdictChangedDetail
from layercheck.models.images_api import MAX_INVENTORY_IMAGES_PER_REGISTRY, MAX_INVENTORY_IMAGES_PER_SOURCE
from layercheck.models.stored import StoredImageVerdict
from layercheck.results_table_schema import GLOBAL_INDEXES, PENDING_CHANGES_ATTRIBUTE, VERSION_ATTRIBUTE
from layercheck_cli.in_use import IAM_ACTIONS
from layercheck_cli.main import parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SHELL_BLOCKS = {"bash", "sh", "console", "shell"}


def _prose(text: str) -> str:
    """The text without its fenced code blocks (a ``# comment`` in a block is not a heading, a link in one is not
    followed)."""
    return FENCE.sub("", text)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for match in re.finditer(r"^#{1,6} (.+)$", _prose(path.read_text()), flags=re.MULTILINE):
        base = _anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def _links() -> list[tuple[Path, str]]:
    return [(path, target) for path in DOCUMENTS for target in LINK.findall(_prose(path.read_text()))]


def test_docs_have_links_to_check() -> None:
    assert len(_links()) >= 20


@pytest.mark.parametrize(("document", "target"), _links(), ids=lambda value: str(value).rsplit("/", 1)[-1])
def test_every_link_resolves(document: Path, target: str) -> None:
    if target.startswith(("http://", "https://", "mailto:")):
        return  # not followed here: no network in unit tests
    file_part, _, fragment = target.partition("#")
    linked = (document.parent / file_part).resolve() if file_part else document
    assert linked.exists(), f"{document.name}: {target} names no file"
    if fragment:
        assert linked.suffix == ".md", f"{document.name}: {target}: an anchor into a file that is not Markdown"
        assert fragment in _anchors(linked), f"{document.name}: {target}: no such heading in {linked.name}"


def test_each_guide_is_linked_from_the_readme_once() -> None:
    text = _prose(README.read_text())
    for guide in ("CLI.md", "API.md", "EVENTS.md", "DEPLOY.md", "OPERATIONS.md", "ARCHITECTURE.md", "LOCAL.md"):
        assert len(re.findall(rf"\]\(docs/{guide}[)#]", text)) == 1, guide


def _command_lines(path: Path) -> list[str]:
    """Every shell line of the document's code blocks, continuations joined; in a console block only what follows
    the ``$`` prompt."""
    lines = []
    for language, body in FENCE.findall(path.read_text()):
        if language not in SHELL_BLOCKS:
            continue
        joined = re.sub(r"\\\n\s*", " ", body)
        pending = ""
        for raw in joined.splitlines():
            if language == "console" and not pending and not raw.startswith("$ "):
                continue  # output, not a command
            line = raw[2:] if language == "console" and not pending else raw
            pending = f"{pending}\n{line}" if pending else line
            if _balanced(pending):  # a quoted argument may span lines (curl -d '{...}')
                lines.append(pending.strip())
                pending = ""
    return lines


def _balanced(line: str) -> bool:
    try:
        shlex.split(line, comments=True)
    except ValueError:
        return False
    return True


def _segments(line: str) -> list[list[str]]:
    """The simple commands of a shell line (split at ``;``, ``|``, ``&&``, redirections), comments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set(";|&<>()"):
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def _commands(program: str) -> list[tuple[str, list[str]]]:
    found = []
    for path in DOCUMENTS:
        for line in _command_lines(path):
            for segment in _segments(line):
                words = segment[2:] if segment[:2] == [".venv/bin/python", "-m"] else segment
                if words and words[0] == program:
                    found.append((path.name, words[1:]))
    return found


LAYERCHECK_COMMANDS = _commands("layercheck")


def test_docs_show_layercheck_commands() -> None:
    assert len(LAYERCHECK_COMMANDS) >= 15


@pytest.mark.parametrize(("document", "argv"), LAYERCHECK_COMMANDS, ids=lambda value: str(value)[:60])
def test_every_layercheck_command_in_the_docs_parses(document: str, argv: list[str]) -> None:
    if any("<" in word or word == "..." for word in argv):
        pytest.skip("a placeholder the reader fills in")
    arguments = argv[1:] if argv[:1] == ["ecr"] else argv
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as errors:
        try:
            namespace, unknown = parser().parse_known_args(arguments)
        except SystemExit as exit_request:  # --help, --version
            assert exit_request.code in (0, None), f"{document}: layercheck {shlex.join(argv)}: {errors.getvalue()}"
            return
    assert unknown == [], f"{document}: layercheck {shlex.join(argv)}: unknown {unknown}"
    assert namespace.command, f"{document}: layercheck {shlex.join(argv)}: no command"


def test_every_make_target_in_the_docs_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.MULTILINE))
    used = {word for _, argv in _commands("make") for word in argv if not word.startswith("-") and "=" not in word}

    assert used >= {"demo", "test", "serve", "venv"}
    assert used <= targets, sorted(used - targets)


def test_every_python_module_in_the_docs_exists() -> None:
    in_blocks = {argv[1] for _, argv in _commands("python") if argv[:1] == ["-m"]}
    inline = {module for path in DOCUMENTS for module in re.findall(r"`python -m ([\w.]+)", path.read_text())}
    modules = in_blocks | inline

    assert {"local.migrate_keys", "bench.request_limit"} <= modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


def _readme_policy() -> dict[str, list[str]]:
    block = next(body for language, body in FENCE.findall(README.read_text()) if language == "json" and "Sid" in body)
    policy = json.loads(block)
    return {statement["Sid"]: statement["Action"] for statement in policy["Statement"]}


def test_readme_policy_grants_what_the_command_line_calls() -> None:
    policy = _readme_policy()
    ecr = set(policy["ReadImages"])
    who_runs = set(policy["WhoRunsThem"])

    # The ECR calls of check-image, batch-check-layer-availability and audit (integrations/ecr*.py, cli/preflight.py).
    assert ecr == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:DescribeRepositories",
        "ecr:DescribeRegistry",
        "ecr:DescribePullThroughCacheRules",
    }
    assert who_runs == {action for actions in IAM_ACTIONS.values() for action in actions}


def test_readme_is_short_and_starts_with_what_a_newcomer_needs() -> None:
    lines = README.read_text().splitlines()
    top = "\n".join(lines[:60])

    assert len(lines) <= 300
    for needed in ("make demo", "make test", "## Check my registry now", "pipx install", '"Statement"',
                   "layercheck audit", "**0**", "**1**", "**255**"):  # fmt: skip
        assert needed in top, needed


def test_docs_state_the_inventory_bounds_and_table_indexes_the_code_has() -> None:
    """The numbers and names the guides give are the code's own (models/images_api.py, results_table_schema.py)."""
    api_guide = (ROOT / "docs" / "API.md").read_text()
    deploy_guide = (ROOT / "docs" / "DEPLOY.md").read_text()

    assert f"`MAX_INVENTORY_IMAGES_PER_SOURCE` ({MAX_INVENTORY_IMAGES_PER_SOURCE:,})" in api_guide
    assert f"`MAX_INVENTORY_IMAGES_PER_REGISTRY` ({MAX_INVENTORY_IMAGES_PER_REGISTRY:,})" in api_guide
    for name, _, _ in GLOBAL_INDEXES:
        assert f"`{name}`" in api_guide and f"`{name}`" in deploy_guide, name
    assert f"`{PENDING_CHANGES_ATTRIBUTE}`" in api_guide and f"`{VERSION_ATTRIBUTE}`" in api_guide


@pytest.mark.parametrize("document", [README, ROOT / "docs" / "EVENTS.md"], ids=lambda path: path.name)
def test_sample_change_event_has_every_field_of_the_contract(document: Path) -> None:
    samples = [
        json.loads(body)
        for language, body in FENCE.findall(document.read_text())
        if language == "json" and '"detail-type": "Image Verdict Changed"' in body
    ]

    assert samples, document.name
    for sample in samples:
        assert set(sample["detail"]) == set(ImageVerdictChangedDetail.model_fields), document.name
        ImageVerdictChangedDetail.model_validate(sample["detail"])


def test_sample_stored_image_verdict_is_one_the_model_reads() -> None:
    samples = [
        json.loads(body)
        for language, body in FENCE.findall((ROOT / "docs" / "API.md").read_text())
        if language == "json" and body.startswith('{"registryId"') and '"itemType": "image"' in body
    ]

    assert len(samples) == 1
    verdict = StoredImageVerdict.model_validate(samples[0])
    assert verdict.observedAt and verdict.usedBy
