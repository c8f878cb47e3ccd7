"""`dev.py test` installs the Debian packages the tests drive lean, and says why when it cannot.

A fake `apt-get` first on PATH records how it was called and fails the way apt does; nothing is
installed for real.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dev

APT_ERROR = "E: Unable to locate package nginx"


@pytest.fixture
def apt_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake apt-get whose `update` works and whose `install` fails; returns the file of its calls."""
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "apt-get"
    fake.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n[ "$1" = update ] && exit 0\necho "{APT_ERROR}" >&2\nexit 100\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(dev, "SYSTEM_PACKAGES", {"nginx": tmp_path / "no-nginx-here"})
    return calls


def _said(euid: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """What `ensure_system_packages` tells the developer when run as user `euid`."""
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    dev.ensure_system_packages()
    return capsys.readouterr().err


def test_a_failed_install_shows_what_apt_said(
    apt_calls: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    said = _said(0, monkeypatch, capsys)
    assert "could not install nginx" in said
    assert APT_ERROR in said
    assert apt_calls.read_text().splitlines() == [
        "install -y -qq --no-install-recommends nginx",
        "update -qq",
        "install -y -qq --no-install-recommends nginx",
    ]


def test_without_root_it_says_what_will_skip_and_how_to_install(
    apt_calls: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    said = _said(1000, monkeypatch, capsys)
    assert "nginx not installed: the tests that drive them will be skipped" in said
    assert "apt-get install -y -qq --no-install-recommends nginx" in said
    assert not apt_calls.exists()
