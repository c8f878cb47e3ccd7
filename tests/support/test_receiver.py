"""The loopback receiver itself: records, replays its script, goes down and comes back."""

from __future__ import annotations

import errno
import socket
import time

import pytest
import requests

from tests.support.receiver import Receiver, Reply


def test_records_and_replays_script(receiver: Receiver) -> None:
    receiver.script(Reply(500, b"boom"), Reply(429, headers={"Retry-After": "7"}))
    with requests.Session() as s:
        s.trust_env = False
        first = s.post(receiver.url + "/hook", data=b"one", timeout=2)
        second = s.post(receiver.url + "/hook", data=b"two", timeout=2)
        third = s.post(receiver.url + "/hook", data=b"three", timeout=2)
    assert (first.status_code, first.content) == (500, b"boom")
    assert second.headers["Retry-After"] == "7"
    assert third.status_code == 200
    got = receiver.wait_for(3)
    assert [r.body for r in got] == [b"one", b"two", b"three"]
    assert got[0].path == "/hook"


def test_down_then_up_on_the_same_port() -> None:
    rx = Receiver(start=False)
    try:
        with requests.Session() as s:
            s.trust_env = False
            with pytest.raises(requests.ConnectionError):
                s.post(rx.url, data=b"x", timeout=1)
            rx.start()
            assert s.post(rx.url, data=b"x", timeout=1).status_code == 200
    finally:
        rx.close()


def _bind_error(port: int) -> int:
    with socket.socket() as other:
        try:
            other.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno or 0
    return 0


def test_the_port_stays_taken_while_down_and_is_let_go_on_close(receiver: Receiver) -> None:
    # Another pytest-xdist worker must never be handed the port of a receiver that is down for a moment.
    down_at_first = Receiver(start=False)
    assert _bind_error(down_at_first.port) == errno.EADDRINUSE
    down_at_first.close()
    assert _bind_error(down_at_first.port) == 0
    receiver.stop()
    assert _bind_error(receiver.port) == errno.EADDRINUSE
    receiver.start()
    with requests.Session() as s:
        s.trust_env = False
        assert s.post(receiver.url, data=b"x", timeout=1).status_code == 200


def test_stop_cuts_a_slow_reply_short(receiver: Receiver) -> None:
    receiver.script(Reply(delay=30))
    with requests.Session() as s:
        s.trust_env = False
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            s.post(receiver.url, data=b"x", timeout=0.3)
    receiver.stop()
    assert time.monotonic() - started < 2
