"""Shell completion scripts for bash, zsh and fish, generated from the parser's option tables (so they cannot drift).

Generated once, sourced by the shell: a TAB costs no Python start-up (argcomplete would start the interpreter on every
TAB, ~0.3 s here, and add a runtime dependency, for completions this static table covers). zsh uses the same function
through its bash compatibility layer (``bashcompinit``); fish gets its own ``complete`` lines, with each option's
help as the description fish shows beside it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from layercheck_cli.parser import GLOBAL_OPTIONS, PROG, Command, Option

SHELLS = ("bash", "zsh", "fish")
# Options whose value is a path: the shell completes file names there.
PATH_OPTIONS = frozenset({"--ca-bundle", "--images-file", "--output-file"})
FISH_DESCRIPTION_LENGTH = 70
VALUE_ACTIONS = frozenset({"store", "append", "extend", None})


def _takes_value(option: Option) -> bool:
    return option.flags[0].startswith("-") and option.kwargs.get("action") in VALUE_ACTIONS


def _flags(options: Iterable[Option]) -> list[str]:
    return [flag for option in options if option.flags[0].startswith("-") for flag in option.flags]


def _positional_choices(options: Iterable[Option]) -> list[str]:
    return [
        str(choice)
        for option in options
        if not option.flags[0].startswith("-")
        for choice in option.kwargs.get("choices") or ()
    ]


def _has_positional(options: Iterable[Option]) -> bool:
    return any(not option.flags[0].startswith("-") for option in options)


def _words(words: Iterable[str]) -> str:
    return shlex.quote(" ".join(words))


def bash_script(commands: Sequence[Command]) -> str:
    names = [command.name for command in commands] + ["help"]
    every = [*GLOBAL_OPTIONS, *(option for command in commands for option in command.options)]
    value_cases: list[str] = []
    seen: set[str] = set()
    for option in every:
        flag = option.flags[0]
        if not _takes_value(option) or flag in seen:
            continue
        seen.add(flag)
        choices = option.kwargs.get("choices")
        if choices:
            value_cases.append(f'        {flag}) COMPREPLY=($(compgen -W {_words(choices)} -- "$cur")); return ;;')
        elif flag in PATH_OPTIONS:
            value_cases.append(f'        {flag}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
        else:
            value_cases.append(f"        {flag}) return ;;")  # a free value: nothing to offer
    command_cases = [
        f"        {command.name}) options={_words(_flags(command.options))}"
        f" values={_words(_positional_choices(command.options))} positional={int(_has_positional(command.options))} ;;"
        for command in commands
    ]
    lines = [
        f"# {PROG} completion for bash: add this line to ~/.bashrc",
        f'#   eval "$({PROG} completion bash)"',
        f"_{PROG}() {{",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        f"    local commands={_words(names)}",
        f"    local global_options={_words(_flags(GLOBAL_OPTIONS))}",
        '    local command="" options="" values="" positional=0 i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case " $commands " in *" ${COMP_WORDS[i]} "*) command="${COMP_WORDS[i]}"; break ;; esac',
        "    done",
        '    case "$prev" in',
        *value_cases,
        "    esac",
        '    case "$command" in',
        '        "") options="" values="$commands" positional=1 ;;',
        *command_cases,
        "    esac",
        # "-..." completes options; a word completes the command's values (commands, choices); with neither, an empty
        # word offers the options, and a command's free argument (an image) falls back to the shell's default.
        '    if [[ "$cur" == -* ]] || (( ! positional )); then',
        '        COMPREPLY=($(compgen -W "$options $global_options" -- "$cur"))',
        '    elif [[ -n "$values" ]]; then',
        '        COMPREPLY=($(compgen -W "$values" -- "$cur"))',
        "    fi",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_description(text: str) -> str:
    first = text.replace("[required] ", "").split(". ")[0].rstrip(".")
    return first if len(first) <= FISH_DESCRIPTION_LENGTH else first[: FISH_DESCRIPTION_LENGTH - 1] + "…"


def _fish_option(option: Option, condition: str) -> list[str]:
    """One ``complete`` line per flag: ``-x`` (a value, no file names) with its choices, ``-r -F`` for a path."""
    lines = []
    for flag in option.flags:
        parts = ["complete -c", PROG, *([f"-n {_fish_quote(condition)}"] if condition else []), f"-l {flag[2:]}"]
        choices = option.kwargs.get("choices")
        if _takes_value(option):
            parts.append("-r -F" if flag in PATH_OPTIONS else "-x")
            if choices:
                parts.append(f"-a {_fish_quote(' '.join(map(str, choices)))}")
        parts.append(f"-d {_fish_quote(_fish_description(option.help))}")
        lines.append(" ".join(parts))
    return lines


def fish_script(commands: Sequence[Command]) -> str:
    names = " ".join([command.name for command in commands] + ["help"])
    lines = [
        f"# {PROG} completion for fish: add this line to ~/.config/fish/config.fish",
        f"#   {PROG} completion fish | source",
        f"complete -c {PROG} -e",
        f"complete -c {PROG} -f",
        f"complete -c {PROG} -l help -d 'Show the help'",
    ]
    for command in commands:
        lines.append(
            f"complete -c {PROG} -n {_fish_quote(f'not __fish_seen_subcommand_from {names}')} -a {command.name}"
            f" -d {_fish_quote(_fish_description(command.summary))}"
        )
    lines.append(f"complete -c {PROG} -n {_fish_quote(f'not __fish_seen_subcommand_from {names}')} -a help"
                 " -d 'Show the help'")  # fmt: skip
    for option in GLOBAL_OPTIONS:
        lines.extend(_fish_option(option, ""))
    for command in commands:
        seen = f"__fish_seen_subcommand_from {command.name}"
        for option in command.options:
            if option.flags[0].startswith("-"):
                lines.extend(_fish_option(option, seen))
            elif option.kwargs.get("choices"):
                choices = " ".join(map(str, option.kwargs["choices"]))
                lines.append(f"complete -c {PROG} -n {_fish_quote(seen)} -a {_fish_quote(choices)}")
    return "\n".join(lines) + "\n"


def script(shell: str, commands: Sequence[Command]) -> str:
    if shell == "fish":
        return fish_script(commands)
    body = bash_script(commands)
    if shell == "bash":
        return body + f"complete -o default -F _{PROG} {PROG}\n"
    header = (
        f"# {PROG} completion for zsh: add this line to ~/.zshrc, after compinit\n"
        f'#   eval "$({PROG} completion zsh)"\n'
        "autoload -U +X bashcompinit && bashcompinit\n"
    )
    return header + body.split("\n", 2)[2] + f"complete -F _{PROG} {PROG}\n"
