"""Headless Chromium on a page the local API serves: the rendered DOM and a screenshot, for tests and docs.

Debian's ``chromium`` package, started with the flags that keep it off every network but loopback (no background
services, no component updates, no sync) and a fresh profile each time.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
# Swagger UI renders in script after load; virtual time lets the page settle before the DOM or pixels are taken.
RENDER_BUDGET_MS = 20_000


def find_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def _run(chromium: str, *arguments: str, timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="layercheck-chromium-") as profile:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={RENDER_BUDGET_MS}", *arguments],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


def rendered_dom(chromium: str, url: str, *, timeout: float = 90) -> str:
    return _run(chromium, "--dump-dom", url, timeout=timeout).stdout


def screenshot(
    chromium: str, url: str, path: Path, *, width: int = 1280, height: int = 1100, timeout: float = 90
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(chromium, f"--screenshot={path}", f"--window-size={width},{height}", url, timeout=timeout)
    if not path.exists() or path.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot to {path}")
    return path
