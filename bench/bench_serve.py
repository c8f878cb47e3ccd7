"""Serve a generated 10,000-event calendar and load it with wrk, beside nginx and Radicale as peers.

    .venv/bin/python bench/bench_serve.py [--events 10000] [--duration 10] [--runs 3] [--skip-radicale]

Measures, in one run on loopback only:
  * the cold render time of the full feed (in process, median of 3);
  * requests/s for the cached full feed (200) and a conditional request (304, If-None-Match) under
    gunicorn (gthread, one worker per core), driven by `wrk` from another process;
  * the ceiling for that 304: a bare WSGI callable answering the same 304 headers under the same gunicorn
    flags ("bare 304"), so the note can tell gunicorn's own cost from ours. The three 304s (ours, bare,
    nginx static) run interleaved, round by round, each with the servers' CPU per request (user +
    system of the server's processes over the run / requests), which holds up on a shared machine
    better than requests/s;
  * the same .ics served as a static file by nginx (200 and 304), and by Radicale (200) as a CalDAV peer;
  * the production topology, "edge": nginx with deploy/nginx.conf (proxy_cache, revalidating against
    our ETag every few seconds) in front of the same gunicorn (200 and 304);
  * a bare Flask app under the same gunicorn flags returning the same bytes, ETag and 304 (the floor
    of any Flask answer: what is left is ours).
Prints the medians of `--runs` runs per target and the ratios; goals: 304 at least half of nginx's
rate, 200 at least 5x Radicale's — for gunicorn alone and for the edge. Needs `wrk` and `nginx`
(apt-get install wrk nginx-light); Radicale is installed into a private venv under the temp dir
(`--radicale-python` to use one you have).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.edge import start_edge, validity  # noqa: E402 - after the sys.path line
from bench.generate import generate_yaml  # noqa: E402 - after the sys.path line
from calendar_service.core.datafile import load_calendar  # noqa: E402 - after the sys.path line
from calendar_service.core.filters import EventFilter  # noqa: E402 - after the sys.path line
from calendar_service.core.publication import reconcile  # noqa: E402 - after the sys.path line
from calendar_service.render.ical import render_feed  # noqa: E402 - after the sys.path line

TODAY = dt.date(2025, 6, 10)
NOW = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
CORES = os.cpu_count() or 2


def free_port() -> int:
    """A port the OS says is free on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    url: str,
    timeout: float = 120.0,
    headers: dict[str, str] | None = None,
    process: subprocess.Popen[bytes] | None = None,
    status: int | None = None,
) -> None:
    """Poll `url` until it answers 2xx (or `status`); give up at once if the server `process` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server for {url} exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == status:
                return
            time.sleep(0.2)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {timeout:.0f} s")


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET `url`; 304 is an answer, not an error."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=120) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), b""


def wrk(url: str, duration: int, headers: dict[str, str], expect: int) -> float:
    """Requests/s wrk reaches against `url`; refuse a run with non-`expect` answers."""
    return wrk_run(url, duration, headers, expect)[0]


def wrk_run(url: str, duration: int, headers: dict[str, str], expect: int) -> tuple[float, int]:
    """Requests/s wrk reaches against `url` and how many requests it completed."""
    status, _, _ = fetch(url, headers)
    if status != expect:
        raise SystemExit(f"{url} answered {status}, expected {expect} (headers {headers})")
    command = ["wrk", "-t2", f"-c{16 * CORES}", f"-d{duration}s", "--timeout", "30s", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk saw errors against {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if not match or not count:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    return float(match.group(1)), int(count.group(1))


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its children (gunicorn's or nginx's
    workers), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The fields after the command name, which may hold spaces and brackets.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5) fields 14 and 15), in ticks
    return total / os.sysconf("SC_CLK_TCK")


def cpu_per_request(
    pid: int, url: str, duration: int, headers: dict[str, str], expect: int
) -> tuple[float, float]:
    """Requests/s of one wrk run, and the server's CPU microseconds per request in that run."""
    before = tree_cpu(pid)
    rate, count = wrk_run(url, duration, headers, expect)
    return rate, (tree_cpu(pid) - before) / max(count, 1) * 1e6


def sequential_rate(url: str, duration: int, headers: dict[str, str]) -> float:
    """Requests/s from back-to-back GETs on one connection, for a server too slow for wrk's window."""
    count, started = 0, time.perf_counter()
    while True:
        status, _, body = fetch(url, headers)
        if status != 200 or not body:
            raise SystemExit(f"{url} answered {status}")
        count += 1
        elapsed = time.perf_counter() - started
        if elapsed >= duration and count >= 3:
            return count / elapsed


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    """The median of `runs` measurements and the measurements."""
    values = [measure() for _ in range(runs)]
    return statistics.median(values), values


# --- the service ----------------------------------------------------------------------------------------


def cold_render(data: Path) -> tuple[float, int]:
    """Median seconds to render the full feed from a loaded calendar (and the feed size)."""
    calendar = load_calendar(data, today=TODAY).calendar
    published = reconcile({}, calendar, NOW, dt.timedelta(days=60))
    times, size = [], 0
    for _ in range(3):
        started = time.perf_counter()
        body = render_feed(calendar, published, EventFilter())
        times.append(time.perf_counter() - started)
        size = len(body)
    return statistics.median(times), size


# The ceiling for our 304: gunicorn calling a WSGI callable that does nothing but answer the same 304 (the
# headers our feed sends, passed in BARE_304_HEADERS as JSON). What it costs is gunicorn's alone.
BARE_304_APP = """
import json
import os

HEADERS = [(name, value) for name, value in json.loads(os.environ["BARE_304_HEADERS"])]


def app(environ, start_response):
    start_response("304 Not Modified", list(HEADERS))
    return []
"""
# What gunicorn adds to every answer itself; the rest of a 304's headers are the application's.
SERVER_HEADERS = frozenset({"server", "date", "connection"})


def app_headers(headers: dict[str, str]) -> list[tuple[str, str]]:
    """The headers an answer's application set (without gunicorn's own), in order."""
    return [(name, value) for name, value in headers.items() if name.lower() not in SERVER_HEADERS]


def start_bare_304(work: Path, port: int, headers: list[tuple[str, str]]) -> subprocess.Popen[bytes]:
    """gunicorn with the same flags as ours, serving BARE_304_APP with `headers`."""
    folder = work / "bare"
    folder.mkdir()
    (folder / "bare304.py").write_text(BARE_304_APP, encoding="utf-8")
    return start_gunicorn(
        work / "unused.yaml", work, port, app="bare304:app", pythonpath=folder,
        extra_env={"BARE_304_HEADERS": json.dumps(headers)},
    )  # fmt: skip


def start_gunicorn(
    data: Path,
    work: Path,
    port: int,
    *,
    app: str = "calendar_service.web:create_app()",
    pythonpath: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """gunicorn with one gthread worker per core, on the generated data (or `app`, another callable)."""
    env = dict(
        os.environ,
        TRADE_CALENDAR_DATA_PATH=str(data),
        TRADE_CALENDAR_STATE_DIR=str(work / "state"),
        TRADE_CALENDAR_RELOAD_INTERVAL="2",
        TRADE_CALENDAR_LOG_LEVEL="WARNING",
        **(extra_env or {}),
    )
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(CORES), "--worker-class",
               "gthread", "--threads", "4", "--keep-alive", "30", "--log-level", "warning",
               "--timeout", "120"]  # fmt: skip
    if pythonpath is not None:
        command += ["--pythonpath", str(pythonpath)]
    return subprocess.Popen([*command, app], env=env, cwd=ROOT)


# A Flask app that answers each path with bytes captured from the service, its Content-Type and ETag
# (304 to a matching If-None-Match): the reference "the same bytes from bare Flask" of issue 21.
BARE_APP = """
import json
from pathlib import Path
from flask import Flask, Response, request

def create_app():
    app = Flask("bare")
    pages = json.loads(Path(__file__).with_name("pages.json").read_text())
    bodies = {path: Path(entry[0]).read_bytes() for path, entry in pages.items()}

    @app.get("/", defaults={"rest": ""})
    @app.get("/<path:rest>")
    def serve(rest):
        path = request.full_path.rstrip("?")
        _, mimetype, *etag = pages[path]
        if etag and request.headers.get("If-None-Match") == etag[0]:
            return Response(status=304, headers={"ETag": etag[0]})
        headers = {"ETag": etag[0]} if etag else {}
        return Response(bodies[path], content_type=mimetype, headers=headers)

    return app
"""


def write_bare_app(folder: Path, pages: dict[str, list[str]]) -> None:
    """Put the bare app and its pages (path -> [body file, Content-Type, ETag?]) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bareapp.py").write_text(BARE_APP, encoding="utf-8")
    (folder / "pages.json").write_text(json.dumps(pages), encoding="utf-8")


# --- peers ----------------------------------------------------------------------------------------------


def start_nginx(ics: bytes, work: Path, port: int) -> subprocess.Popen[bytes]:
    """nginx with a private config serving the feed as a static file."""
    www = work / "www"
    www.mkdir()
    (www / "calendar.ics").write_bytes(ics)
    for path in (work, www):
        path.chmod(0o755)  # nginx workers run as an unprivileged user
    (www / "calendar.ics").chmod(0o644)
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
worker_processes {CORES};
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/calendar ics; }}
    client_body_temp_path {work}/nginx-tmp;
    proxy_temp_path {work}/nginx-tmp;
    fastcgi_temp_path {work}/nginx-tmp;
    uwsgi_temp_path {work}/nginx-tmp;
    scgi_temp_path {work}/nginx-tmp;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        charset utf-8;
        charset_types text/calendar;
    }}
}}
""",
        encoding="utf-8",
    )
    return subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work)])


def radicale_python(work: Path, given: str | None) -> Path:
    """A Python with Radicale importable: `given`, or a private venv made now with pip."""
    if given:
        return Path(given)
    venv = Path(tempfile.gettempdir()) / "trade-calendar-bench-radicale"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "radicale"], check=True)
    return python


def start_radicale(ics: bytes, work: Path, port: int, python: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Radicale on a file store holding the same calendar (uploaded with one PUT)."""
    config = work / "radicale.conf"
    config.write_text(
        f"""
[server]
hosts = 127.0.0.1:{port}
[auth]
type = none
[rights]
type = authenticated
[storage]
filesystem_folder = {work}/radicale-store
[logging]
level = warning
""",
        encoding="utf-8",
    )
    process = subprocess.Popen([str(python), "-m", "radicale", "--config", str(config)])
    auth = {"Authorization": "Basic YmVuY2g6eA=="}  # bench:x (auth type none accepts any password)
    base = f"http://127.0.0.1:{port}"
    wait_until(base + "/.web/", headers=auth, process=process)
    url = f"{base}/bench/calendar/"
    request = urllib.request.Request(
        url, data=ics, method="PUT", headers={**auth, "Content-Type": "text/calendar; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=600):
        pass
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server we started and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per target (median reported)")
    parser.add_argument("--skip-radicale", action="store_true")
    parser.add_argument("--radicale-python", help="a Python that can run `-m radicale`")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install wrk nginx-light")

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        work = Path(tmp)
        data = work / "events.yaml"
        data.write_text(generate_yaml(args.events, seed=1), encoding="utf-8")
        seconds, size = cold_render(data)
        mb = size / 1e6
        print(f"cold render of the full feed: {seconds * 1000:.0f} ms ({args.events} events, {mb:.1f} MB)")

        processes: list[subprocess.Popen[bytes]] = []
        try:
            port = free_port()
            processes.append(start_gunicorn(data, work, port))
            feed = f"http://127.0.0.1:{port}/calendar.ics"
            wait_until(f"http://127.0.0.1:{port}/readyz", timeout=300, process=processes[-1])
            for _ in range(4 * CORES):  # every worker renders once and caches
                _, headers, body = fetch(feed)
            etag = headers["ETag"]
            nginx_port = free_port()
            processes.append(start_nginx(body, work, nginx_port))
            static = f"http://127.0.0.1:{nginx_port}/calendar.ics"
            wait_until(static)
            nginx_etag = fetch(static)[1]["ETag"]
            # The edge: deploy/nginx.conf rendered for loopback, access log off and keepalive_requests as
            # the static peer above (the only differences from production besides ports and paths).
            edge_port = free_port()
            processes.append(
                start_edge(
                    work / "edge",
                    edge_port,
                    port,
                    access_log=False,
                    keepalive_requests=1_000_000,
                    nginx="nginx",
                )
            )
            edge = f"http://127.0.0.1:{edge_port}/calendar.ics"
            _, edge_headers, edge_body = fetch(edge)  # a miss: fills the cache from gunicorn's copy
            edge_etag = edge_headers["ETag"]
            # The feed's SOURCE line names the Host it was asked for, so compare with the same Host.
            _, same_host_headers, same_host_body = fetch(feed, {"Host": f"127.0.0.1:{edge_port}"})
            if edge_body != same_host_body or edge_etag != same_host_headers["ETag"]:
                raise SystemExit("the edge does not pass the feed through unchanged")
            edge_304 = fetch(edge, {"If-None-Match": edge_etag})[1]
            if edge_304.get("X-Cache-Status") != "HIT":
                raise SystemExit(f"the edge's 304 is not from its cache: {edge_304}")
            print(
                f"edge: nginx proxy_cache per deploy/nginx.conf, validity {validity()} "
                f"(revalidated with our ETag after that), in front of the same gunicorn"
            )

            ours_304 = app_headers(fetch(feed, {"If-None-Match": etag})[1])
            bare_port = free_port()
            processes.append(start_bare_304(work, bare_port, ours_304))
            bare = f"http://127.0.0.1:{bare_port}/calendar.ics"
            wait_until(bare, headers={"If-None-Match": etag}, process=processes[-1], status=304)
            if app_headers(fetch(bare, {"If-None-Match": etag})[1]) != ours_304:
                raise SystemExit(f"the bare 304 does not send our headers: {ours_304}")
            print(f"304 headers (ours and bare): {ours_304}")
            trio = [
                ("service 304", processes[0].pid, feed, etag),
                ("bare 304", processes[-1].pid, bare, etag),
                ("nginx 304", processes[1].pid, static, nginx_etag),
            ]
            rounds: list[dict[str, tuple[float, float]]] = []
            for number in range(args.runs):  # interleaved: every round sees the same machine load
                measured = {
                    name: cpu_per_request(pid, url, args.duration, {"If-None-Match": tag}, 304)
                    for name, pid, url, tag in trio
                }
                rounds.append(measured)
                print_round(number + 1, measured)
            for name, *_ in trio:
                results[name] = statistics.median(r[name][0] for r in rounds)
                results[f"{name} cpu"] = statistics.median(r[name][1] for r in rounds)
            bare_dir = work / "bare-flask"
            bare_dir.mkdir()
            (bare_dir / "feed.ics").write_bytes(body)
            captured = [str(bare_dir / "feed.ics"), headers["Content-Type"], etag]
            write_bare_app(bare_dir, {"/calendar.ics": captured})
            bare_flask_port = free_port()
            processes.append(
                start_gunicorn(data, work, bare_flask_port, app="bareapp:create_app()", pythonpath=bare_dir)
            )
            bare_flask = f"http://127.0.0.1:{bare_flask_port}/calendar.ics"
            wait_until(bare_flask, process=processes[-1])
            if fetch(bare_flask)[2] != body:
                raise SystemExit("the bare Flask app does not return the feed's bytes")

            targets: list[tuple[str, str, dict[str, str], int]] = [
                ("service 200", feed, {}, 200),
                ("nginx 200", static, {}, 200),
                ("edge 200", edge, {}, 200),
                ("edge 304", edge, {"If-None-Match": edge_etag}, 304),
                ("bare flask 200", bare_flask, {}, 200),
                ("bare flask 304", bare_flask, {"If-None-Match": etag}, 304),
            ]
            if not args.skip_radicale:
                python = radicale_python(work, args.radicale_python)
                radicale_port = free_port()
                started = time.perf_counter()
                radicale, radicale_url = start_radicale(body, work, radicale_port, python)
                processes.append(radicale)
                print(f"radicale: calendar uploaded in {time.perf_counter() - started:.1f} s")

            for name, url, headers, expect in targets:
                value, values = median_of(
                    args.runs, lambda u=url, h=headers, e=expect: wrk(u, args.duration, h, e)
                )
                results[name] = value
                print(f"{name:>14}: {value:10.1f} req/s  (runs: {', '.join(f'{v:.1f}' for v in values)})")
            if not args.skip_radicale:
                # A whole-collection GET takes Radicale seconds, longer than wrk's window allows with many
                # connections in flight; time back-to-back requests instead (it serialises them anyway).
                auth = {"Authorization": "Basic YmVuY2g6eA=="}
                value, values = median_of(
                    args.runs, lambda: sequential_rate(radicale_url, args.duration, auth)
                )
                results["radicale 200"] = value
                ours, ours_runs = median_of(args.runs, lambda: sequential_rate(feed, args.duration, {}))
                results["service 200 seq"] = ours
                edged, edge_runs = median_of(args.runs, lambda: sequential_rate(edge, args.duration, {}))
                results["edge 200 seq"] = edged
                print(
                    f"{'radicale 200':>13}: {value:10.2f} req/s  (one connection; runs: "
                    f"{', '.join(f'{v:.2f}' for v in values)})"
                )
                print(
                    f"{'service 200':>13}: {ours:10.2f} req/s  (one connection, same method; runs: "
                    f"{', '.join(f'{v:.2f}' for v in ours_runs)})"
                )
                print(
                    f"{'edge 200':>13}: {edged:10.2f} req/s  (one connection, same method; runs: "
                    f"{', '.join(f'{v:.2f}' for v in edge_runs)})"
                )
        finally:
            for process in reversed(processes):
                stop(process)

    print()
    print("304, medians of the rounds above (requests/s; server CPU per request):")
    for name in ("service 304", "bare 304", "nginx 304"):
        print(f"  {name:>11}: {results[name]:10.1f} req/s  {results[f'{name} cpu']:7.1f} us CPU/request")
    ceiling = results["bare 304"] / results["nginx 304"]
    print(
        f"  bare gunicorn / nginx static = {ceiling:.2f} (the most any app code could reach under these "
        f"flags); ours / bare = {results['service 304'] / results['bare 304']:.2f}"
    )
    print()
    print("gunicorn alone:")
    print_ratios(results, "service")
    print("edge (nginx cache -> gunicorn), the production topology in docker-compose.yml:")
    print_ratios(results, "edge")


def print_round(number: int, measured: dict[str, tuple[float, float]]) -> None:
    """One interleaved round of the three 304s: rates, CPU per request, and the ratios."""
    (ours, ours_cpu), (bare, bare_cpu), (nginx, nginx_cpu) = (
        measured[name] for name in ("service 304", "bare 304", "nginx 304")
    )
    print(
        f"  round {number}: 304 ours {ours:.0f}, bare {bare:.0f}, nginx {nginx:.0f} req/s; "
        f"CPU/request {ours_cpu:.0f}, {bare_cpu:.0f}, {nginx_cpu:.0f} us; "
        f"ours/nginx {ours / nginx:.2f}, bare/nginx {bare / nginx:.2f}, ours/bare {ours / bare:.2f}"
    )


def print_ratios(results: dict[str, float], name: str) -> None:
    """The ratios of contender `name` ("service" or "edge") to the static nginx and to Radicale."""
    ratio_304 = results[f"{name} 304"] / results["nginx 304"]
    verdict = "met" if ratio_304 >= 0.5 else "NOT met"
    print(f"  304: {name} / nginx static = {ratio_304:.2f}  (goal >= 0.5: {verdict})")
    print(f"  200: {name} / nginx static = {results[f'{name} 200'] / results['nginx 200']:.2f}")
    for status in ("200", "304"):
        ratio = results[f"{name} {status}"] / results[f"bare flask {status}"]
        print(f"  {status}: {name} / bare Flask, same bytes, same gunicorn = {ratio:.2f}")
    if "radicale 200" in results:
        ratio = results[f"{name} 200 seq"] / results["radicale 200"]
        wide = results[f"{name} 200"] / results["radicale 200"]
        verdict = "met" if min(ratio, wide) >= 5 else "NOT met"
        print(
            f"  200: {name} / radicale = {ratio:.0f} on one connection each, {wide:.0f} with wrk's "
            f"{16 * CORES} connections for ours  (goal >= 5: {verdict})"
        )


if __name__ == "__main__":
    main()
