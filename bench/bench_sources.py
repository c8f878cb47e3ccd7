"""Benchmark the source watch (issue 22): 2,000 source URLs across 50 loopback hosts, per-host cap 2.

    .venv/bin/python bench/bench_sources.py                      # the defaults: 2,000 URLs, 50 hosts
    .venv/bin/python bench/bench_sources.py --urls 500 --hosts 10 --runs 3

The hosts are 50 aiohttp sites on 127.0.0.1 in their own process (one event loop). Page i changes in
round 1 when i % 10 == 0 (10%: a new ETag and new text), is dead when i % 20 == 5 (5%: 404), and
otherwise answers 304 to a matching If-None-Match. Each run:
1. prime: the watch reads every URL once (round 0) into a fresh SQLite database;
2. round 1, side by side (order swapped every other run): the real `SourceWatch.check_sources` (polite
   fetcher with robots.txt, address policy, text extraction of changed pages, database read and write)
   and a bare aiohttp loop making the same conditional GETs (one session, limit_per_host=2, the ETags
   from priming), each timed from first request to last answer; goal: bare / watch >= 0.7;
3. round 2, nothing changed: the watch's requests are counted by the server: every page request must
   carry a validator and be answered 304 (or 404), and no text is extracted.
Peak RSS is this process's (the watch and the bare loop both run here; the sites do not).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.db import create_schema, make_engine
from calendar_service.adapters.webhooks.security import AddressPolicy
from calendar_service.worker.sourcewatch import SourceWatch

CONTROL_PORT_OFFSET = 0


def page_kind(i: int) -> str:
    if i % 20 == 5:
        return "dead"
    return "changing" if i % 10 == 0 else "stable"


def serve(ports: list[int], control: Any, ready: Any) -> None:
    """The sites: every port serves /p/<i>; `control` holds the round; counts what arrives."""

    async def main() -> None:
        state = {"round": 0, "requests": 0, "conditional": 0, "not_modified": 0, "full": 0}

        async def page(request: web.Request) -> web.StreamResponse:
            state["round"] = control.value
            i = int(request.match_info["i"])
            kind = page_kind(i)
            state["requests"] += 1
            if kind == "dead":
                return web.Response(status=404, text="gone")
            version = min(state["round"], 1) if kind == "changing" else 0
            etag = f'"{i}-{version}"'
            if request.headers.get("If-None-Match"):
                state["conditional"] += 1
            if request.headers.get("If-None-Match") == etag:
                state["not_modified"] += 1
                return web.Response(status=304, headers={"ETag": etag})
            state["full"] += 1
            body = (
                f"<html><body><nav>Home | News | Contact</nav><main><article><h1>Notice {i}</h1>"
                f"<p>Version {version} of notice {i}: comments are due on the date set out here.</p>"
                f"<p>{'Further detail. ' * 40}</p></article></main><footer>Privacy</footer></body></html>"
            )
            return web.Response(text=body, content_type="text/html", headers={"ETag": etag})

        async def stats(request: web.Request) -> web.Response:
            return web.json_response(state)

        async def reset(request: web.Request) -> web.Response:
            for key in ("requests", "conditional", "not_modified", "full"):
                state[key] = 0
            return web.json_response(state)

        app = web.Application()
        app.router.add_get("/p/{i}", page)
        app.router.add_get("/stats", stats)
        app.router.add_get("/reset", reset)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for port in ports:
            await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def urls_for(ports: list[int], count: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/p/{i}" for i in range(count)]


async def bare_loop(urls: list[str], etags: dict[str, str]) -> float:
    """The same conditional GETs with nothing else: one session, at most 2 per host."""
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=2)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            async with session.get(url, headers=headers) as r:
                await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(url) for url in urls))
        return time.perf_counter() - started


async def collect_etags(urls: list[str]) -> dict[str, str]:
    connector = aiohttp.TCPConnector(limit=100, limit_per_host=2)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> tuple[str, str | None]:
            async with session.get(url) as r:
                await r.read()
                return url, r.headers.get("ETag")

        return {url: tag for url, tag in await asyncio.gather(*(one(u) for u in urls)) if tag}


def site_stats(port: int, path: str = "/stats") -> dict[str, int]:
    async def get() -> dict[str, int]:
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}") as r:
            data: dict[str, int] = await r.json()
            return data

    return asyncio.run(get())


def one_run(urls: list[str], ports: list[int], control: Any, watch_first: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    engine = make_engine(f"sqlite:///{folder / 'watch.sqlite3'}")
    create_schema(engine)
    (folder / "watch.yaml").write_text("settings:\n  per_host: 2\n  min_delay: 0\n  timeout: 30\n")
    clock = SettableClock(dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC))
    watch = SourceWatch(engine, clock, AddressPolicy(allow_private=True), lambda: None, folder / "watch.yaml")
    control.value = 0
    watch.check_sources(urls)  # prime: round 0
    etags = asyncio.run(collect_etags(urls))
    control.value = 1
    figures: dict[str, float] = {}

    def run_watch() -> None:
        clock.advance(dt.timedelta(hours=6))
        started = time.perf_counter()
        report = watch.check_sources(urls)
        figures["watch_s"] = time.perf_counter() - started
        figures["changed"] = report.changed
        figures["gone"] = report.gone
        figures["not_modified"] = report.not_modified

    def run_bare() -> None:
        figures["bare_s"] = asyncio.run(bare_loop(urls, etags))

    for step in (run_watch, run_bare) if watch_first else (run_bare, run_watch):
        step()
    # Round 2: nothing changed since round 1.
    site_stats(ports[0], "/reset")
    clock.advance(dt.timedelta(hours=6))
    report = watch.check_sources(urls)
    seen = site_stats(ports[0])
    figures.update(
        rerun_requests=seen["requests"],
        rerun_conditional=seen["conditional"],
        rerun_304=seen["not_modified"],
        rerun_full=seen["full"],
        rerun_changed=report.changed,
    )
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not 1 <= args.hosts <= 200 or not 1 <= args.urls <= 20_000 or not 1 <= args.runs <= 9:
        parser.error("--hosts 1..200, --urls 1..20000, --runs 1..9 (loopback, a few hundred connections)")
    ports = free_ports(args.hosts)
    context = multiprocessing.get_context("spawn")
    control = context.Value("i", 0)
    ready = context.Event()
    server = context.Process(target=serve, args=(ports, control, ready), daemon=True)
    server.start()
    if not ready.wait(30):
        raise SystemExit("the sites did not start")
    urls = urls_for(ports, args.urls)
    try:
        runs = [one_run(urls, ports, control, watch_first=(n % 2 == 0)) for n in range(args.runs)]
    finally:
        server.terminate()
        server.join(5)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.urls} URLs on {args.hosts} loopback hosts, per-host cap 2, {args.runs} run(s)")
    for n, r in enumerate(runs, 1):
        print(
            f"run {n}: watch {r['watch_s']:.2f} s ({int(r['changed'])} changed, {int(r['gone'])} gone, "
            f"{int(r['not_modified'])} not modified) | bare aiohttp {r['bare_s']:.2f} s | "
            f"bare/watch {r['bare_s'] / r['watch_s']:.2f}"
        )
    ratio = statistics.median(r["bare_s"] / r["watch_s"] for r in runs)
    last = runs[-1]
    print(f"median bare/watch: {ratio:.2f} (goal >= 0.70: {'met' if ratio >= 0.7 else 'NOT met'})")
    print(
        f"re-run, nothing changed: {last['rerun_requests']} page requests, {last['rerun_conditional']} "
        f"conditional, {last['rerun_304']} answered 304, {last['rerun_full']} full bodies, "
        f"{int(last['rerun_changed'])} changed"
    )
    print(f"peak RSS of this process (watch and bare loop): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
