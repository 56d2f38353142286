"""The Lambda asset is our package's Python sources and nothing else (dependencies come from the runtime and the
Powertools layer; caches, tests, virtualenvs, egg-info and cdk.out must never be shipped)."""

from __future__ import annotations

from pathlib import Path

from tests.infra.conftest import REPO_ROOT, Synthesized

MAX_ASSET_BYTES = 1024 * 1024


def _files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_asset_holds_only_the_layercheck_package(synthesized: Synthesized) -> None:
    shipped = _files(synthesized.asset_dir())
    assert shipped, "the asset is empty"
    assert {name.split("/")[0] for name in shipped} == {"layercheck"}
    assert all(name.endswith(".py") for name in shipped), sorted(n for n in shipped if not n.endswith(".py"))
    assert not [name for name in shipped if "__pycache__" in name or "/tests/" in name]


def test_asset_holds_every_python_module_of_the_package(synthesized: Synthesized) -> None:
    sources = REPO_ROOT / "lambda_src"
    expected = {name for name in _files(sources) if name.startswith("layercheck/") and name.endswith(".py")}
    expected = {name for name in expected if "__pycache__" not in name}
    assert _files(synthesized.asset_dir()) == expected
    assert "layercheck/handler.py" in expected


def test_asset_is_small(synthesized: Synthesized) -> None:
    size = sum(path.stat().st_size for path in synthesized.asset_dir().rglob("*") if path.is_file())
    assert size < MAX_ASSET_BYTES, f"asset is {size} bytes"
