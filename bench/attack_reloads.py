"""Attack the reloads of a real `trade-calendar serve` on loopback and print tried/held/broken per kind.

    .venv/bin/python bench/attack_reloads.py [--kinds alias-bomb-9,fifo] [--postgres]
                                             [--code DIR] [--memory-mb 1500] [--budget 30]

Each kind writes something hostile into (or in place of) the data file, then watches `/healthz`, the
feed and the server's RSS (VmRSS sampled, VmHWM at the end) until the reload is reported, and puts the
good file back and waits for "ok" again. A kind *held* when the server answered every request (no 5xx),
reported the refused reload with a message naming the file, kept serving the last good feed (same
ETag), grew its peak RSS by less than 100 MB, reported within `--budget` seconds, and came back to
"ok" with `trade_calendar_reload_failing 0` once the file was good again. `--postgres` adds the
database-outage kind on a private PostgreSQL cluster (tests/support/pgcluster.py): an edit made while it is
stopped must be served once it is back. `--code DIR` runs another checkout's package (e.g. a `git
archive` of main before the fixes) to get the "before" figures; `--memory-mb` caps the server's address
space so a bomb cannot take the machine down. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.webapp import sample_yaml  # noqa: E402 - after the path is set

HEAD = "calendar: {name: T, timezone: UTC, reviewed: 2025-06-01, contact: c@example.org}\nevents:\n"
GROWTH_LIMIT_MB = 100


def alias_bomb(levels: int) -> bytes:
    """`levels` anchors of nine aliases each: 9**levels values from a few hundred bytes."""
    names = "abcdefghij"
    lines = [f"a: &a [{', '.join(['lol'] * 9)}]"]
    lines += [f"{names[i]}: &{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)]
    return ("\n".join(lines) + "\n").encode()


def _event(event_id: str, extra: str) -> str:
    return (
        f"  - {{id: {event_id}, title: T {event_id}, kind: talks, countries: [US], {extra}, "
        "sources: [{title: x}]}\n"
    )


def after_chain(n: int) -> bytes:
    events = [_event(f"e{i}", f"after: {{event: e{i - 1}, offset: P1D}}") for i in range(n - 1, 0, -1)]
    return (HEAD + "".join(events) + _event("e0", "date: 2025-07-01")).encode()


def dangling(n: int) -> bytes:
    events = [_event(f"e{i}", f"date: 2025-07-01, related: [nothing-like-this-{i}]") for i in range(n)]
    return (HEAD + "".join(events)).encode()


@dataclass
class Kind:
    """One attack: `apply(path)` does it and returns what puts the good file back."""

    name: str
    apply: Callable[[Path], Callable[[], None]]
    expect: str = ""  # a phrase the /healthz message must hold


def _content(raw: bytes | Callable[[], bytes]) -> Callable[[Path], Callable[[], None]]:
    def apply(path: Path) -> Callable[[], None]:
        good = path.read_bytes()
        path.write_bytes(raw() if callable(raw) else raw)
        return lambda: path.write_bytes(good)

    return apply


def _replace(make: Callable[[Path], None]) -> Callable[[Path], Callable[[], None]]:
    """Move the file aside, put something else at its path; undo puts the file back."""

    def apply(path: Path) -> Callable[[], None]:
        aside = path.with_name("aside.yaml")
        path.rename(aside)
        make(path)

        def back() -> None:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            elif path.exists() or path.is_symlink():
                path.unlink()
            aside.rename(path)

        return back

    return apply


def _moved_away(path: Path) -> Callable[[], None]:
    aside = path.with_name("aside.yaml")
    path.rename(aside)
    return lambda: aside.rename(path)


def _recreated(path: Path) -> Callable[[], None]:
    good = path.read_bytes()
    path.unlink()
    return lambda: path.write_bytes(good)


def _chmod(path: Path) -> Callable[[], None]:
    # Edit and make unreadable: as root reads still succeed (and the edit, a comment, is served).
    good = path.read_bytes()
    path.write_bytes(good + b"# edited while unreadable\n")
    path.chmod(0)

    def back() -> None:
        path.chmod(0o644)
        path.write_bytes(good)

    return back


KINDS = [
    Kind("alias-bomb-9", _content(alias_bomb(9)), "alias"),
    Kind("alias-bomb-8", _content(alias_bomb(8)), "alias"),
    Kind("alias-loop", _content(b"a: &a [x, *a]\n"), "alias"),
    Kind("nesting-flow-600", _content(b"a: " + b"[" * 600 + b"]" * 600 + b"\n"), "nested"),
    Kind("nesting-flow-999", _content(b"a: " + b"[" * 999 + b"]" * 999 + b"\n"), "nested"),
    Kind("nesting-flow-100000", _content(b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"), "nesting"),
    Kind("nesting-block-600", _content("a:\n".join("  " * i for i in range(600)).encode() + b"b\n"), ""),
    Kind("after-chain-1500", _content(lambda: after_chain(1500)), "chain"),
    Kind("dangling-4000", _content(lambda: dangling(4000)), "no event with id"),
    Kind("oversize-3MB", _content(lambda: b"# padding\n" * 300_000), "more than the limit"),
    Kind("unclosed-quote", _content((HEAD + '  - {id: a, title: "open\n' + "# x\n" * 50).encode()), "quote"),
    Kind("not-utf8", _content(b"calendar: \xff\xfe\n"), "UTF-8"),
    Kind("moved-away-and-back", _moved_away, "No such file"),
    Kind("deleted-recreated-same-bytes", _recreated, "No such file"),
    Kind("directory-in-place", _replace(lambda p: p.mkdir()), "directory"),
    Kind("symlink-loop", _replace(lambda p: p.symlink_to(p.name)), "symbolic links"),
    Kind("fifo-in-place", _replace(lambda p: os.mkfifo(p)), "not a regular file"),
    Kind("dev-zero-symlink", _replace(lambda p: p.symlink_to("/dev/zero")), "not a regular file"),
    Kind("chmod-000-after-edit", _chmod, ""),
]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (an HTTP error is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        return 0, {}, str(exc).encode()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of process `pid` from /proc, in MB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(rf"^{field}:\s+(\d+) kB", status, flags=re.M)
    return int(match.group(1)) / 1024 if match else 0.0


@contextlib.contextmanager
def server(data: Path, state: Path, code: Path | None, memory_mb: int, database_url: str) -> Iterator[str]:
    """`trade-calendar serve` on a free loopback port; yields its base URL and stops it after."""
    port = free_port()
    env = {
        **os.environ,
        "TRADE_CALENDAR_DATA_PATH": str(data),
        "TRADE_CALENDAR_STATE_DIR": str(state),
        "TRADE_CALENDAR_RELOAD_INTERVAL": "0.2",
        "TRADE_CALENDAR_MAX_DATA_BYTES": str(2 * 1024 * 1024),
        "TRADE_CALENDAR_DATABASE_URL": database_url,
        "TRADE_CALENDAR_LOG_LEVEL": os.environ.get("TRADE_CALENDAR_LOG_LEVEL", "CRITICAL"),
    }
    if code is not None:
        env["PYTHONPATH"] = str(code)

    def cap() -> None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    # The editable install's finder would win over PYTHONPATH: drop it when another checkout is asked for.
    unhook = "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]; "
    command = [sys.executable, "-c", f"{unhook if code else ''}from calendar_service.cli import main; main()"]
    command += ["serve", "--port", str(port)]
    log_path = os.environ.get("ATTACK_SERVE_LOG")  # keep the server's log there (set the level too)
    log = open(log_path, "wb") if log_path else tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log, preexec_fn=cap, cwd=code or ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while get(url + "/readyz", timeout=2)[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"serve did not start:\n{log.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.2)
        server.pid = process.pid  # type: ignore[attr-defined]
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def failing_gauge(url: str) -> str:
    status, _, body = get(url + "/metrics")
    match = re.search(rb"^trade_calendar_reload_failing (\S+)$", body, flags=re.M)
    return match.group(1).decode() if status == 200 and match else f"no gauge ({status})"


def attack(url: str, pid: int, data: Path, kind: Kind, budget: float) -> dict[str, object]:
    """Run one kind; return what was seen."""
    _, feed_headers, _ = get(url + "/calendar.ics")
    etag = feed_headers.get("ETag")
    hwm_before = rss_mb(pid, "VmHWM")
    restore = kind.apply(data)
    started = time.monotonic()
    statuses: set[int] = set()
    reported, message, peak, errors = None, "", 0.0, []
    while time.monotonic() - started < budget:
        status, _, body = get(url + "/healthz", timeout=budget)
        statuses.add(status)
        peak = max(peak, rss_mb(pid))
        if status == 200:
            health = json.loads(body)
            failure = health.get("last_failed_reload")
            if health["status"] != "ok" and failure:
                reported = time.monotonic() - started
                errors = failure["errors"]
                message = next((e for e in errors if kind.expect.lower() in e.lower()), errors[0])
                break
        if status == 0 and rss_mb(pid) == 0:
            break  # the server died
        time.sleep(0.1)
    feed_status, headers, _ = get(url + "/calendar.ics")
    statuses.add(feed_status)
    gauge_during = failing_gauge(url)
    hwm_after = rss_mb(pid, "VmHWM")
    restore()
    recovered = None
    back = time.monotonic()
    while time.monotonic() - back < budget:
        status, _, body = get(url + "/healthz", timeout=budget)
        statuses.add(status)
        if status == 200 and json.loads(body)["status"] == "ok":
            recovered = time.monotonic() - back
            break
        time.sleep(0.1)
    gauge_after = failing_gauge(url)
    result: dict[str, object] = {
        "kind": kind.name,
        "reported_s": None if reported is None else round(reported, 2),
        "message": message[:160],
        "statuses": sorted(statuses),
        "feed_kept": feed_status == 200 and headers.get("ETag") == etag,
        "peak_rss_mb": round(max(peak, hwm_after), 1),
        "hwm_growth_mb": round(hwm_after - hwm_before, 1),
        "failing_gauge": f"{gauge_during}->{gauge_after}",
        "recovered_s": None if recovered is None else round(recovered, 2),
    }
    expected = kind.expect.lower() in " ".join(errors).lower()
    chmod_as_root = kind.name.startswith("chmod") and os.geteuid() == 0
    result["held"] = (
        all(200 <= s < 500 for s in statuses)
        and recovered is not None
        and gauge_after == "0.0"
        and hwm_after - hwm_before < GROWTH_LIMIT_MB
        and (
            chmod_as_root
            or (reported is not None and expected and str(data) in message and bool(result["feed_kept"]))
        )
    )
    return result


def database_outage(url: str, data: Path, cluster: object, budget: float) -> dict[str, object]:
    """Stop PostgreSQL, edit the file, start it again: the edit must be served without another touch."""
    before = json.loads(get(url + "/healthz")[2])["data_version"]
    cluster.stop("immediate")  # type: ignore[attr-defined]
    text = data.read_text(encoding="utf-8")
    marker = "# edited during the outage\n"
    data.write_text(text + marker, encoding="utf-8")
    started = time.monotonic()
    statuses: set[int] = set()
    message = ""
    while time.monotonic() - started < budget:
        status, _, body = get(url + "/healthz")
        statuses.add(status)
        failure = json.loads(body).get("last_failed_reload") if status == 200 else None
        if failure:
            message = failure["errors"][0]
            break
        time.sleep(0.2)
    reported = time.monotonic() - started if message else None
    cluster.start()  # type: ignore[attr-defined]
    back = time.monotonic()
    served = None
    while time.monotonic() - back < budget:
        status, _, body = get(url + "/healthz")
        statuses.add(status)
        health = json.loads(body) if status == 200 else {}
        if health.get("data_version") not in (None, before) and health.get("last_failed_reload") is None:
            served = time.monotonic() - back
            break
        time.sleep(0.2)
    _, _, body = get(url + "/healthz")
    health = json.loads(body)
    return {
        "kind": "database-outage-edit",
        "reported_s": None if reported is None else round(reported, 2),
        "message": message[:160],
        "statuses": sorted(statuses),
        "edit_served_after_s": None if served is None else round(served, 2),
        "versions": f"{before}->{health['data_version']}",
        "health_after": {"status": health["status"], "down": health.get("down")},
        "held": bool(message) and served is not None and all(200 <= s < 500 for s in statuses),
    }


def main() -> None:
    """Run the chosen kinds against one server and print a line per kind and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", help="comma-separated kind names (default: all)")
    parser.add_argument(
        "--postgres", action="store_true", help="add the database outage on a private cluster"
    )
    parser.add_argument("--code", type=Path, help="run the package from this directory instead")
    parser.add_argument("--memory-mb", type=int, default=1500, help="the server's address-space cap")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds to wait for each report")
    args = parser.parse_args()
    chosen = [k for k in KINDS if not args.kinds or k.name in args.kinds.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "events.yaml"
        data.write_text(sample_yaml(), encoding="utf-8")
        cluster = None
        if args.postgres:
            from tests.support.pgcluster import PgCluster

            cluster = PgCluster()
        try:
            url_db = cluster.url if cluster is not None else ""
            with server(data, Path(tmp) / "state", args.code, args.memory_mb, url_db) as url:
                pid = server.pid  # type: ignore[attr-defined]
                print(f"serve pid {pid} on {url}; RSS at start {rss_mb(pid):.1f} MB", flush=True)
                for kind in chosen:
                    result = attack(url, pid, data, kind, args.budget)
                    results.append(result)
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                    if rss_mb(pid) == 0:
                        print("the server died; stopping", flush=True)
                        break
                if cluster is not None:
                    result = database_outage(url, data, cluster, args.budget)
                    results.append(result)
                    print(json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            if cluster is not None:
                cluster.close()
    held = sum(1 for r in results if r["held"])
    print(f"tried {len(results)}, held {held}, broken {len(results) - held}")
    for r in results:
        if not r["held"]:
            print(f"  broken: {r['kind']}: {r}")


if __name__ == "__main__":
    main()
