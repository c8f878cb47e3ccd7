"""Run `deploy/nginx.conf` (the production edge cache) privately on loopback, for the bench and tests.

The file docker-compose mounts is rendered, not copied: only its deployment specifics are replaced by
exact text — user, pid, logs, the /var/cache/nginx/ paths, `listen 8080;`, `server web:8080;` and, when
asked, the cache validity and keepalive_requests — and rendering fails if one of them is not there, so
the config cannot drift from what is measured and tested.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = "/usr/sbin/nginx"


def validity(conf: str | None = None) -> str:
    """The `proxy_cache_valid 200` time in the config (e.g. "5s")."""
    text = conf if conf is not None else NGINX_CONF.read_text(encoding="utf-8")
    match = re.search(r"^\s*proxy_cache_valid 200 (\S+);", text, flags=re.M)
    if match is None:
        raise ValueError(f"{NGINX_CONF}: no `proxy_cache_valid 200 ...;` line")
    return match.group(1)


def render_edge_conf(
    work: Path,
    listen_port: int,
    upstream_port: int | Sequence[int],
    *,
    cache_valid: str | None = None,
    access_log: bool = True,
    keepalive_requests: int | None = None,
) -> str:
    """deploy/nginx.conf with paths under `work`, loopback ports and the given overrides.

    Several upstream ports stand for several replicas: `server web:8080;` becomes one line per port,
    as Docker's DNS answering `web` with every replica does.
    """
    text = NGINX_CONF.read_text(encoding="utf-8")
    ports = [upstream_port] if isinstance(upstream_port, int) else list(upstream_port)
    servers = "\n        ".join(f"server 127.0.0.1:{port};" for port in ports)
    # As root the workers run as root (the temp dirs may be private to us); otherwise `user` is moot.
    user = "user root;" if os.geteuid() == 0 else ""
    once = [
        ("user nginx;", user),
        ("pid /var/run/nginx.pid;", f"pid {work}/nginx.pid;"),
        ("error_log /var/log/nginx/error.log warn;", f"error_log {work}/error.log warn;"),
        (
            "access_log /var/log/nginx/access.log edge;",
            f"access_log {work}/access.log edge;" if access_log else "access_log off;",
        ),
        ("listen 8080;", f"listen 127.0.0.1:{listen_port};"),
        ("server web:8080;", servers),
    ]
    if cache_valid is not None:
        once.append((f"proxy_cache_valid 200 {validity(text)};", f"proxy_cache_valid 200 {cache_valid};"))
    if keepalive_requests is not None:
        once.append(("keepalive_requests 1000;", f"keepalive_requests {keepalive_requests};"))
    for old, new in once:
        if text.count(old) != 1:
            raise ValueError(f"{NGINX_CONF}: expected `{old}` exactly once, found {text.count(old)}")
        text = text.replace(old, new)
    if "/var/cache/nginx/" not in text:
        raise ValueError(f"{NGINX_CONF}: no /var/cache/nginx/ paths to move")
    text = text.replace("/var/cache/nginx/", f"{work}/cache/")
    leftover = re.findall(r"/var/\S*|\bweb:8080\b", _directives(text))
    if leftover:
        raise ValueError(f"{NGINX_CONF}: deployment paths left after rendering: {leftover}")
    return text


def _directives(text: str) -> str:
    """The config without comments."""
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def start_edge(
    work: Path,
    listen_port: int,
    upstream_port: int | Sequence[int],
    *,
    cache_valid: str | None = None,
    access_log: bool = True,
    keepalive_requests: int | None = None,
    nginx: str = NGINX,
    timeout: float = 10.0,
) -> subprocess.Popen[bytes]:
    """Render the config into `work`, check it (`nginx -t`), start nginx and wait until it listens."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "cache").mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    text = render_edge_conf(
        work,
        listen_port,
        upstream_port,
        cache_valid=cache_valid,
        access_log=access_log,
        keepalive_requests=keepalive_requests,
    )
    conf.write_text(text, encoding="utf-8")
    base = [nginx, "-p", str(work), "-c", str(conf), "-g", "daemon off;"]
    check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=timeout)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the rendered {conf}:\n{check.stderr}")
    process = subprocess.Popen(base)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}; see {work}/error.log")
        try:
            with socket.create_connection(("127.0.0.1", listen_port), timeout=1):
                return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    process.wait(timeout=10)
    raise RuntimeError(f"nginx did not listen on {listen_port} within {timeout:.0f} s")


def stop_edge(process: subprocess.Popen[bytes]) -> None:
    """Stop nginx (SIGTERM is its fast shutdown) and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
