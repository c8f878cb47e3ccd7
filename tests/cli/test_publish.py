"""`trade-calendar publish [--confirm]`: what a curator runs to let the servers publish a held edit."""

from __future__ import annotations

import hashlib
from pathlib import Path

from calendar_service.adapters.db import confirmations
from tests.support.subscriptions_cli import engine_of, run


def test_publish_names_the_content_and_confirm_records_it_once(env: dict[str, str]) -> None:
    digest = hashlib.sha256(Path(env["TRADE_CALENDAR_DATA_PATH"]).read_bytes()).hexdigest()
    code, out, err = run(env, "publish")
    assert code == 0, err
    assert f"sha256 {digest}" in out
    assert "not confirmed" in out
    assert not confirmations.is_confirmed(engine_of(env), digest)

    code, out, err = run(env, "publish", "--confirm")
    assert code == 0, err
    assert "confirmed: every server publishes this content" in out
    assert confirmations.is_confirmed(engine_of(env), digest)
    code, out, _ = run(env, "publish", "--confirm")  # again: nothing new, no error
    assert code == 0
    code, out, _ = run(env, "publish")
    assert "already confirmed" in out


def test_an_invalid_or_missing_file_is_never_confirmed(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "events.yaml"
    broken.write_text("calendar: {}\nevents: [{id: x}]\n", encoding="utf-8")
    code, _, err = run({**env, "TRADE_CALENDAR_DATA_PATH": str(broken)}, "publish", "--confirm")
    assert code == 1
    assert "error" in err
    digest = hashlib.sha256(broken.read_bytes()).hexdigest()
    assert not confirmations.is_confirmed(engine_of(env), digest)
    code, _, err = run(env, "publish", "--data", str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "cannot read the event file" in err
