"""Installing the command line alone (``pip install .`` / ``pipx install .``): the wheel builds offline from the
working tree, holds the CLI and the check engine and nothing else, and its ``layercheck`` runs from a fresh venv.

Offline, as on a clean clone after ``make venv``: the wheel is built without build isolation (setuptools from
requirements-dev.txt) and installed with ``--no-index --no-deps``. Its runtime dependencies come from the project's
.venv through a ``.pth`` line in the fresh venv (the base interpreter's site-packages, which ``--system-site-packages``
would add, do not hold them); that line adds .venv's packages but not its editable install of layercheck, whose
``.pth`` hook only runs for a site directory, so every ``layercheck`` module the test imports comes from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "lambda_src/layercheck", "cli/layercheck_cli")


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True, cwd=cwd)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of exactly the files the wheel needs, so the working tree gets no build/ or egg-info."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)])  # fmt: skip
    [built] = wheels.glob("layercheck-*.whl")
    return built


def test_wheel_holds_the_cli_and_the_check_engine_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))

    assert {name for name in top if not name.endswith(".dist-info")} == {"layercheck", "layercheck_cli"}
    for module in (
        "layercheck_cli/main.py",
        "layercheck_cli/commands/audit.py",
        "layercheck/logic/check.py",
        "layercheck/integrations/ecr.py",
        "layercheck/models/verdicts.py",
        "layercheck/contracts/routes.py",
    ):
        assert module in names
    assert not [name for name in names if name.startswith("layercheck/doors/")]
    assert not top & {"infra", "local", "tests", "bench", "app.py"}
    assert "layercheck = layercheck_cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_installs_in_a_fresh_venv_and_runs_offline(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
          "--disable-pip-version-check", "-q", str(wheel)])  # fmt: skip
    fresh_site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    )
    (fresh_site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    version = _run([str(venv / "bin" / "layercheck"), "--version"], cwd=tmp_path)
    origin = _run(
        [str(python), "-c",
         "import sys, layercheck_cli.main, layercheck_cli.image_check, layercheck_cli.multi, layercheck.logic.check\n"
         "import layercheck_cli.audit_run\n"
         "print(layercheck_cli.main.__file__); print(layercheck.logic.check.__file__)\n"
         "print('aws_lambda_powertools' in sys.modules)"],
        cwd=tmp_path,
    )  # fmt: skip

    assert version.stdout.startswith("layercheck/0.1.0 Python/")
    cli_file, engine_file, powertools_loaded = origin.stdout.split()
    assert Path(cli_file).is_relative_to(venv) and Path(engine_file).is_relative_to(venv)
    # Checking layers and images, and auditing, need no Powertools (the audit's models are plain Pydantic): the
    # wheel does not depend on it.
    assert powertools_loaded == "False"
    audit_help = _run([str(venv / "bin" / "layercheck"), "audit", "--help"], cwd=tmp_path)
    assert "EXAMPLES" in audit_help.stdout
