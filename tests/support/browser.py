"""Where the browser tests find Debian's chromium and axe-core (npm installs it here), and save shots."""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import ROOT

CHROMIUM = Path("/usr/bin/chromium")
NODE_DIR = ROOT / "tests" / "integration"  # package.json: axe-core
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "build" / "screenshots"
