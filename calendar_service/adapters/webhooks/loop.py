"""One asyncio event loop on a daemon thread, for code that is otherwise threaded (Flask, APScheduler).

The webhook client keeps its connection pool on this loop, and the reminder engine runs its sends here:
thousands of requests in flight cost coroutines, not threads. Callers on other threads hand it
coroutines and get `concurrent.futures.Future`s back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop started on first use; after a fork (gunicorn) the child starts a loop of its own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, started now if need be."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()
        self._loop, self._pid = loop, os.getpid()

    def in_loop(self) -> bool:
        """Whether the caller runs on this loop's thread (where blocking on a future would deadlock)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> cf.Future[T]:
        """Run `coro` on the loop; its result (or exception) arrives in the returned future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (from any thread but the loop's own)."""
        if self.in_loop():
            coro.close()
            raise RuntimeError(f"{self.name}: run() called on the loop's own thread; await instead")
        return self.submit(coro).result()

    def stop(self, cleanup: Coroutine[Any, Any, Any] | None = None, timeout: float = 10.0) -> None:
        """Run `cleanup` (closing sessions), then stop the loop and its thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None or self._pid != os.getpid():
            if cleanup is not None:
                cleanup.close()
            return
        if cleanup is not None:
            with contextlib.suppress(Exception):  # stopping anyway; the sockets go with the loop
                asyncio.run_coroutine_threadsafe(cleanup, loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()
