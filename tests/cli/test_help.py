"""``--help`` reads as documentation: an EXAMPLES section per command, required options
marked, no Markdown backticks, and the exit-code difference between the single and the multi-repository forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layercheck_cli.commands import COMMANDS
from layercheck_cli.main import EXIT_ERROR, EXIT_OK, main
from tests.cli.conftest import Registry


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse wraps help to $COLUMNS; a wide one keeps each option's help on one line for the assertions."""
    monkeypatch.setenv("COLUMNS", "240")


def _user_docs() -> str:
    """The README and the command line's guide, whitespace folded (a phrase may wrap anywhere)."""
    root = Path(__file__).resolve().parents[2]
    return " ".join(" ".join((root / name).read_text().split()) for name in ("README.md", "docs/CLI.md"))


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--help"]) == EXIT_OK
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.name)
def test_help_of_each_command_has_examples_and_marks_required_options(
    command: object, capsys: pytest.CaptureFixture[str]
) -> None:
    name = command.name  # type: ignore[attr-defined]

    text = _help(capsys, name)

    examples = text.split("\nEXAMPLES\n", 1)[1]
    assert f"layercheck {name}" in examples
    for option in command.options:  # type: ignore[attr-defined]
        if option.required:
            assert f"[required] {option.help}" in text
    assert "`" not in text


def test_top_level_help_has_no_backticks_and_lists_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)

    assert "`" not in text
    assert "EXIT CODES" in text and "255" in text and "EXAMPLES" in text
    assert all(command.name in text for command in COMMANDS)


def test_check_image_help_says_what_the_readme_says_about_its_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-on-missing fails on BROKEN, MISSING and ARCHIVED, and an image not judged (UNCHECKED) is 255 with or
    without it (tests/cli/test_check_image.py proves the behaviour); the help and the docs say the same words."""
    text = " ".join(_help(capsys, "check-image").split())
    readme = _user_docs()
    gate = "xit 1 when an image is BROKEN, MISSING or ARCHIVED"
    unchecked = "255 when an image could not be judged (UNCHECKED"

    assert gate in text and gate in readme
    assert unchecked in text and unchecked in readme
    assert "unless the image is COMPLETE" not in text


@pytest.mark.usefixtures("env")
def test_single_repository_keeps_aws_parity_and_several_keep_going_as_documented(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """One --repository-name: ECR's error, exit 255 (as the AWS CLI). --repository-names: a failure per digest, the
    answer printed, and exit 255 too (something asked was not checked). The help states both, with an example each."""
    d1, _ = registry.digests
    base = ["batch-check-layer-availability", "--endpoint-url", registry.endpoint_url, "--layer-digests", d1]

    single = main([*base, "--repository-name", "nope"])
    single_err = capsys.readouterr().err
    several = main([*base, "--repository-names", "nope", "app"])
    several_out = capsys.readouterr()
    answer = json.loads(several_out.out)
    text = _help(capsys, "batch-check-layer-availability")

    assert (single, several) == (EXIT_ERROR, EXIT_ERROR)
    assert "RepositoryNotFoundException" in single_err
    assert answer["results"][0]["failures"][0]["failureCode"] == "RepositoryNotFoundException"
    assert answer["results"][1]["layers"][0]["layerAvailability"] == "AVAILABLE"
    assert several_out.err.startswith("layercheck: not checked: nope: RepositoryNotFoundException: ")
    assert "--repository-name nope --layer-digests sha256:...\n      -> exit 255, ECR's" in text
    assert "--repository-names nope app --layer-digests sha256:...\n      -> exit 255 too, after the answer" in text


@pytest.mark.parametrize("command", ["audit", "check-image"])
def test_help_says_that_reading_a_manifest_is_a_pull_as_the_readme_does(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """BatchGetImage with the caller's credentials sets lastRecordedPullTime, which sinceImagePulled lifecycle rules
    read: a user auditing a registry should know it (DESIGN.md, facts to build on)."""
    text = " ".join(_help(capsys, command).split())
    readme = _user_docs()

    for words in ("BatchGetImage", "lastRecordedPullTime", "sinceImagePulled"):
        assert words in text
    assert readme.count("which `sinceImagePulled` lifecycle rules read") >= 3  # README, audit and check-image
