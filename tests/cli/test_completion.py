"""Shell completion: the script ``layercheck completion bash|zsh|fish`` prints, sourced by a real bash (and fish where
it is installed), completes commands, each command's options and the options' choices, all from the parser's tables."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from layercheck_cli.commands import COMMANDS
from tests.cli.conftest import LAYERCHECK


@pytest.fixture(scope="module")
def scripts(cli_env: dict[str, str]) -> dict[str, str]:
    generated = {}
    for shell in ("bash", "zsh", "fish"):
        completed = subprocess.run(
            [LAYERCHECK, "completion", shell], env=cli_env, capture_output=True, text=True, timeout=60, check=True
        )
        generated[shell] = completed.stdout
    return generated


def _complete(script: str, words: list[str]) -> list[str]:
    """Run bash's completion function as bash does on TAB (COMP_WORDS / COMP_CWORD) and return COMPREPLY."""
    program = script + (
        "COMP_WORDS=(" + " ".join(f"'{word}'" for word in words) + f"); COMP_CWORD={len(words) - 1}\n"
        '_layercheck; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    completed = subprocess.run(
        ["bash", "--norc", "-c", program], capture_output=True, text=True, timeout=30, check=True
    )
    return [line for line in completed.stdout.splitlines() if line]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["layercheck", ""], [command.name for command in COMMANDS] + ["help"]),
        (["layercheck", "check-"], ["check-image"]),
        (
            ["layercheck", "batch-check-layer-availability", "--repository-n"],
            ["--repository-name", "--repository-names"],
        ),
        (["layercheck", "list-images", "--status", ""], ["BROKEN", "MISSING", "UNCHECKED", "ARCHIVED"]),
        (["layercheck", "--output", "t"], ["text", "table"]),
        (["layercheck", "audit", "--fail"], ["--fail-on-broken"]),
        (["layercheck", "audit", "--re"], ["--repository-names", "--repository-prefixes", "--registry-id", "--region"]),
        (["layercheck", "completion", ""], ["bash", "zsh", "fish"]),
        (["layercheck", "preview-lifecycle", "--l"], ["--lifecycle-policy-text"]),
        (["layercheck", "list-results", "--api-url", ""], []),
    ],
)
def test_bash_completion_completes_commands_options_and_choices(
    scripts: dict[str, str], words: list[str], expected: list[str]
) -> None:
    assert _complete(scripts["bash"], words) == expected


def test_bash_completion_registers_the_function(scripts: dict[str, str]) -> None:
    completed = subprocess.run(
        ["bash", "--norc", "-c", scripts["bash"] + "complete -p layercheck"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip

    assert completed.stdout.strip() == "complete -o default -F _layercheck layercheck"


def test_zsh_completion_is_the_same_function_through_bashcompinit(scripts: dict[str, str]) -> None:
    zsh = scripts["zsh"]
    function = scripts["bash"][scripts["bash"].index("_layercheck() {") : scripts["bash"].index("\ncomplete ")]

    assert "autoload -U +X bashcompinit && bashcompinit\n" in zsh
    assert function in zsh
    assert zsh.rstrip().endswith("complete -F _layercheck layercheck")
    if shutil.which("zsh"):  # not installed on every machine (nor on this project's CI image): syntax check if it is
        subprocess.run(["zsh", "-n", "-c", zsh], check=True, timeout=30)


FISH = shutil.which("fish")


def _fish_complete(script: str, line: str) -> list[str]:
    """What fish offers on TAB after ``line`` (``complete -C``), without descriptions, sorted as fish sorts them."""
    completed = subprocess.run(
        ["fish", "--no-config", "-c", f"{script}\ncomplete -C {shlex.quote(line)}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return [entry.split("\t", 1)[0] for entry in completed.stdout.splitlines()]


@pytest.mark.skipif(FISH is None, reason="fish is not installed (apt-get install fish; .ci/run does it)")
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("layercheck check-", ["check-image"]),
        ("layercheck batch-check-layer-availability --repository-n", ["--repository-name", "--repository-names"]),
        ("layercheck list-images --status ", ["ARCHIVED", "BROKEN", "MISSING", "UNCHECKED"]),
        ("layercheck --output t", ["table", "text"]),
        ("layercheck audit --fail", ["--fail-on-broken"]),
        ("layercheck completion ", ["bash", "fish", "zsh"]),
    ],
)
def test_fish_completion_completes_commands_options_and_choices(
    scripts: dict[str, str], line: str, expected: list[str]
) -> None:
    assert _fish_complete(scripts["fish"], line) == expected


def test_fish_completion_lists_every_command_with_its_summary(scripts: dict[str, str]) -> None:
    for command in COMMANDS:
        assert f" -a {command.name} -d " in scripts["fish"]
    assert scripts["fish"].startswith("# layercheck completion for fish")
    if FISH:
        subprocess.run(["fish", "--no-config", "-n", "-c", scripts["fish"]], check=True, timeout=30)
