"""Fixtures of the browser tests: one Debian chromium per module, and axe-core's browser build."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import AXE, CHROMIUM, NODE_DIR


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium from Debian, never a downloaded one (one per module: starting it is the slow part)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's browser build, installed with npm from tests/integration/package.json on first use."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: cannot install axe-core (apt-get install npm)")
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if result.returncode != 0 or not AXE.exists():
            pytest.skip(f"npm install axe-core failed (offline?): {result.stderr.strip()[-300:]}")
    return AXE
