"""``make serve`` as a new user meets it: the banner's exports, pasted into a shell,
point ``layercheck`` at the local stack; the demo's images are there to check; each request is one access line; a
taken port is one line naming LAYERCHECK_PORT."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from local.adapter import json_request
from local.scenario import demo_request

ROOT = Path(__file__).resolve().parents[2]
LAYERCHECK = str(Path(sys.executable).parent / "layercheck")
BANNER_END = "One line per request:"
EXPORT = re.compile(r"^export ([A-Z_]+)=(\S+)$")


@dataclass
class Served:
    process: subprocess.Popen[str]
    banner: list[str]
    exports: dict[str, str] = field(default_factory=dict)
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def read_line(self, timeout: float = 90) -> str:
        return self.lines.get(timeout=timeout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell with nothing of AWS in it, and no ~/.aws."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "LAYERCHECK_"))}
    env["HOME"] = str(tmp_path)
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = _clean_env(tmp_path_factory.mktemp("home")) | {"LAYERCHECK_PORT": str(_free_port())}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    served = Served(process, [])
    threading.Thread(target=served.pump, daemon=True).start()
    try:
        while not served.banner or not served.banner[-1].endswith(BANNER_END):
            served.banner.append(served.read_line())
        served.exports = dict(match.groups() for line in served.banner if (match := EXPORT.match(line)))
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _shell_with_exports(served: Served, tmp_path: Path) -> dict[str, str]:
    """The environment a shell has after the banner's lines (``$PATH`` expanded as the shell expands it)."""
    env = _clean_env(tmp_path)
    return env | {name: value.replace("$PATH", env.get("PATH", "")) for name, value in served.exports.items()}


def test_serve_banner_prints_one_export_per_line(served: Served) -> None:
    assert list(served.exports) == [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "LAYERCHECK_API_URL",
        "PATH",
    ]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", served.exports["AWS_ENDPOINT_URL"])
    assert served.exports["PATH"] == f"{Path(LAYERCHECK).parent}:$PATH"


def test_serve_banner_lines_alone_put_layercheck_on_the_path_and_point_it_at_the_stack(
    served: Served, tmp_path: Path
) -> None:
    """A fresh shell (no venv activated, nothing of AWS) that runs only the banner's export lines, as pasted."""
    pasted = "\n".join(line for line in served.banner if line.startswith("export "))
    script = f"{pasted}\nlayercheck --version\nlayercheck check-image team-a/api:2.0 --query status --output text\n"
    shell = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"}

    completed = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script], env=shell, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    version, status = completed.stdout.splitlines()
    assert (completed.returncode, completed.stderr) == (0, "")
    assert version.startswith("layercheck/") and status == "COMPLETE"


def test_serve_exports_drive_the_cli_against_the_seeded_images(served: Served, tmp_path: Path) -> None:
    env = _shell_with_exports(served, tmp_path)
    examples = [line.strip().split("  #")[0].split() for line in served.banner if "layercheck check-image" in line]

    verdicts = [
        subprocess.run(
            [LAYERCHECK, *example[1:], "--query", "status", "--output", "text"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for example in examples
    ]

    assert [(v.returncode, v.stdout, v.stderr) for v in verdicts] == [(0, "COMPLETE\n", ""), (1, "BROKEN\n", "")]


def test_serve_exports_drive_batch_check_and_the_api(served: Served, tmp_path: Path) -> None:
    env = _shell_with_exports(served, tmp_path)
    digest = demo_request().layer_digests[0]
    common = ["--layer-digests", digest, "--query", "summary.available", "--output", "text"]

    local = subprocess.run(
        [LAYERCHECK, "batch-check-layer-availability", "--repository-names", "platform/base", "team-a/api", *common],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    through_api = subprocess.run(
        [LAYERCHECK, "batch-check-layer-availability", "--api-url", env["LAYERCHECK_API_URL"],
         "--repository-names", "platform/base", "team-a/api", *common],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    listed = subprocess.run(
        [LAYERCHECK, "list-results", "--api-url", env["LAYERCHECK_API_URL"], "--repository-name", "platform/base",
         "--query", "items[].[layerDigest, status]", "--output", "text"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert (local.returncode, local.stdout, local.stderr) == (0, "2\n", "")
    assert (through_api.returncode, through_api.stdout, through_api.stderr) == (0, "2\n", "")
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, f"{digest}\tAVAILABLE\n", "")


def test_serve_prints_one_access_line_per_request_and_no_emf(served: Served) -> None:
    while not served.lines.empty():  # the lines of earlier tests' requests
        served.lines.get_nowait()
    api_url = served.exports["LAYERCHECK_API_URL"]
    request = {"repositoryNames": ["platform/base"], "layerDigests": demo_request().layer_digests[:2]}
    status, _ = json_request(f"{api_url}/checks", "POST", request)
    missing, _ = json_request(f"{api_url}/nothing-here")

    first, second = served.read_line(), served.read_line()

    assert (status, missing) == (200, 404)
    assert re.fullmatch(r"127\.0\.0\.1 POST /checks 200 \d+B \d+ms", first)
    assert re.fullmatch(r"127\.0\.0\.1 GET /nothing-here 404 \d+B \d+ms", second)


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [sys.executable, "-m", "local.serve"],
            cwd=ROOT,
            env=_clean_env(tmp_path) | {"LAYERCHECK_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is already in use; set LAYERCHECK_PORT" in completed.stderr


def _subprocess_run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_serve_exports_drive_check_image_and_list_images_through_the_api(served: Served, tmp_path: Path) -> None:
    """The README's "Run it locally" lines: the broken seeded image checked and stored by the API, then listed."""
    env = _shell_with_exports(served, tmp_path)
    api = ["--api-url", env["LAYERCHECK_API_URL"]]

    checked = _subprocess_run([LAYERCHECK, "check-image", "team-a/api:2.1-rc", *api, "--query", "status"], env)
    gated = _subprocess_run([LAYERCHECK, "check-image", "team-a/api:2.1-rc", *api, "--fail-on-missing"], env)
    listed = _subprocess_run(
        [LAYERCHECK, "list-images", *api, "--status", "BROKEN", "--output", "text",
         "--query", "items[].[repositoryName, imageTags[0], status]"], env,
    )  # fmt: skip

    assert (checked.returncode, checked.stdout, checked.stderr) == (0, '"BROKEN"\n', "")
    assert gated.returncode == 1
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "team-a/api\t2.1-rc\tBROKEN\n", "")


README = ROOT / "README.md"
CLI_GUIDE = ROOT / "docs" / "CLI.md"
README_CONSOLE_INTRO = "Measured against the local moto server of `make serve`"


def _readme_console_block() -> list[tuple[str, str]]:
    """docs/CLI.md's transcripts against make serve, in order, as (command, expected output) pairs: every console block
    from the AWS-parity one on (indented ones inside a list too), but the audit's, which needs its own scenario
    (tests/e2e/test_docs_audit.py). A command continued with a backslash is one command."""
    text = CLI_GUIDE.read_text()
    text = text[text.index(README_CONSOLE_INTRO) :]
    pairs: list[tuple[str, str]] = []
    for indent, body in re.findall(r"^( *)```console\n(.*?)^ *```", text, flags=re.MULTILINE | re.DOTALL):
        lines = [line[len(indent) :] for line in body.splitlines()]
        if lines[0].startswith("$ layercheck audit"):
            continue
        for line in lines:
            if line.startswith("$ "):
                pairs.append((line[2:], ""))
            elif pairs[-1][0].endswith("\\") and not pairs[-1][1]:
                command, _ = pairs[-1]
                pairs[-1] = (command[:-1].rstrip() + " " + line.strip(), "")
            else:
                command, output = pairs[-1]
                pairs[-1] = (command, output + line + "\n")
    return pairs


def test_serve_readme_aws_parity_transcript_runs_as_written(served: Served, tmp_path: Path) -> None:
    """Every line of docs/CLI.md's transcript can be pasted (no "…" in a digest) and prints what the guide shows, the
    AWS CLI v1 and layercheck byte for byte the same, against the stack make serve seeds."""
    env = _shell_with_exports(served, tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # aws and layercheck of the venv
    pairs = _readme_console_block()
    separator = "---- next command ----"
    script = "".join(f"echo '{separator}'\n{{ {command}; }} 2>&1\n" for command, _ in pairs)

    completed = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    outputs = completed.stdout.split(f"{separator}\n")[1:]
    assert completed.stderr == ""
    assert "…" not in "".join(command for command, _ in pairs)
    assert [output.rstrip("\n") for output in outputs] == [expected.rstrip("\n") for _, expected in pairs]


def test_serve_readme_defines_d1_as_the_seeded_layer_everywhere() -> None:
    texts = [README.read_text(), *(path.read_text() for path in sorted((ROOT / "docs").glob("*.md")))]
    definitions = {digest for text in texts for digest in re.findall(r"\bD1=(\S+)", text)}

    assert definitions == {demo_request().layer_digests[0]}  # base-0 of platform/base, seeded by make serve


README_LOCAL_INTRO = "Then, in the shell with those exports:"


@pytest.mark.parametrize("document", [README, ROOT / "docs" / "LOCAL.md"], ids=lambda path: path.name)
def test_serve_readme_local_commands_run_as_written(served: Served, document: Path, tmp_path: Path) -> None:
    """The "Run it locally" block (README, docs/LOCAL.md), pasted line by line into a shell holding only the banner's
    exports: every command runs, and exits as its comment says (1 only for the BROKEN image under --fail-on-missing)."""
    text = document.read_text()
    block = text[text.index(README_LOCAL_INTRO) :].split("```bash\n", 1)[1].split("\n```", 1)[0]
    commands = re.sub(r"\\\n\s*", " ", block).splitlines()  # a line continued with a backslash is one command
    script = "".join(f'{command}\necho "exit $?" >&2\n' for command in commands)

    completed = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=_shell_with_exports(served, tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    codes = [int(code) for code in re.findall(r"^exit (\d+)$", completed.stderr, flags=re.MULTILINE)]
    expected = [1 if "--fail-on-missing" in command else 0 for command in commands]
    assert codes == expected, completed.stderr
    assert '"status": "BROKEN"' in completed.stdout
    assert (tmp_path / "report.html").is_file()
