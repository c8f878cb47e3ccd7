"""WebhookClient against a real loopback receiver: signatures, faults, limits, and address checks."""

from __future__ import annotations

import datetime as dt
import logging
import random
import socket
import threading
import time
from collections.abc import Sequence

import pytest
from standardwebhooks import Webhook

from calendar_service.adapters.clock import SettableClock
from calendar_service.adapters.webhooks.client import WebhookClient
from calendar_service.adapters.webhooks.security import AddressPolicy
from calendar_service.adapters.webhooks.signing import new_secret
from calendar_service.core.errors import UnsafeWebhookURL
from calendar_service.core.messages import Message
from calendar_service.core.reminders.retry import RetryPolicy
from tests.support.receiver import Receiver, Reply

NOW = dt.datetime.now(dt.UTC)  # standardwebhooks.verify checks the timestamp against the real clock


def message(mid: str = "rem_1") -> Message:
    return Message(id=mid, type="test", timestamp=NOW, data={"title": "Truce ends"})


def client(timeout: float = 2.0, **kwargs: object) -> WebhookClient:
    return WebhookClient(AddressPolicy(allow_private=True), timeout=timeout, **kwargs)  # type: ignore[arg-type]


def test_delivered_with_a_signature_the_reference_library_verifies(receiver: Receiver) -> None:
    secret = new_secret()
    attempt = client().send(receiver.url + "/hook", secret, message(), "standard")
    assert attempt.outcome == "delivered"
    assert attempt.status == 200
    assert attempt.error is None
    got = receiver.wait_for(1)[0]
    assert Webhook(secret).verify(got.body, got.headers) == {
        "type": "test",
        "timestamp": NOW.isoformat().replace("+00:00", "Z"),
        "data": {"title": "Truce ends"},
    }
    assert got.headers["webhook-id"] == "rem_1"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"


def test_retry_keeps_the_webhook_id_and_signs_the_attempt_time(receiver: Receiver) -> None:
    secret = new_secret()
    clock = SettableClock(NOW)
    sender = client(clock=clock)
    receiver.script(Reply(500))
    assert sender.send(receiver.url, secret, message(), "standard").outcome == "retry"
    clock.advance(dt.timedelta(seconds=90))
    assert sender.send(receiver.url, secret, message(), "standard").outcome == "delivered"
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "rem_1"
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 90


def test_slow_receiver_is_a_retry_within_the_timeout(receiver: Receiver) -> None:
    receiver.script(Reply(delay=10))
    started = time.monotonic()
    attempt = client(timeout=0.5).send(receiver.url, new_secret(), message(), "standard")
    elapsed = time.monotonic() - started
    assert attempt.outcome == "retry"
    assert attempt.error == "timed out after 0.5 s"
    # Well short of the 10 s the receiver would hold it, with room for a busy machine.
    assert 0.45 < elapsed < 3


@pytest.mark.parametrize(("status", "outcome"), [(200, "delivered"), (500, "retry")])
def test_trickled_body_cannot_hold_an_attempt_past_the_timeout(
    receiver: Receiver, status: int, outcome: str
) -> None:
    # every byte arrives well within the per-read timeout; only the total-time watchdog stops it
    receiver.script(Reply(status, body=b"x" * 200, trickle=(200, 0.05)))  # 10 s in all
    started = time.monotonic()
    attempt = client(timeout=0.5).send(receiver.url, new_secret(), message(), "standard")
    elapsed = time.monotonic() - started
    assert (attempt.outcome, attempt.status) == (outcome, status)
    assert attempt.error == f"HTTP {status}; response cut off: timed out after 0.5 s"
    assert elapsed < 3


def test_trickled_headers_cannot_hold_an_attempt_past_the_timeout() -> None:
    """A raw server that sends its status line and headers one byte every 50 ms."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 200:
                if stop.wait(0.05):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        started = time.monotonic()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        attempt = client(timeout=0.5).send(url, new_secret(), message(), "standard")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        server.join(2)
        listener.close()
    assert (attempt.outcome, attempt.status, attempt.error) == ("retry", None, "timed out after 0.5 s")
    assert elapsed < 3  # the headers alone would take over 10 s


def test_response_body_read_is_capped(receiver: Receiver) -> None:
    # the server claims 100 MB and sends 1 MB; we read 1 KiB and hang up
    receiver.script(Reply(400, body=b"E" * 1_000_000, content_length=100_000_000))
    started = time.monotonic()
    # Reading on would wait the whole 10 s timeout for the 99 MB that never come.
    sender = client(timeout=10, max_response_bytes=1024)
    attempt = sender.send(receiver.url, new_secret(), message(), "standard")
    assert attempt.outcome == "failed"
    assert attempt.error is not None
    assert attempt.error.startswith("HTTP 400: EEEE")
    assert len(attempt.error) < 250
    assert time.monotonic() - started < 3


def test_an_accepting_answer_is_drained_capped_too(receiver: Receiver) -> None:
    # A 2xx body is not kept, but it is read to free the connection: at most max_response_bytes of it,
    # then the connection is dropped (not reused with 99 MB still to come) and the next send goes.
    receiver.script(Reply(200, body=b"K" * 1_000_000, content_length=100_000_000))
    started = time.monotonic()
    sender = client(timeout=10, max_response_bytes=1024)
    first = sender.send(receiver.url, new_secret(), message(), "standard")
    assert (first.outcome, first.status, first.error) == ("delivered", 200, None)
    assert time.monotonic() - started < 3
    assert sender.send(receiver.url, new_secret(), message(), "standard").outcome == "delivered"
    assert len({r.peer for r in receiver.requests}) == 2


def test_connection_refused_is_a_retry() -> None:
    rx = Receiver(start=False)
    attempt = client().send(rx.url, new_secret(), message(), "standard")
    assert attempt.outcome == "retry"
    assert attempt.status is None
    assert "Connection refused" in (attempt.error or "")


def test_down_at_first_then_up(receiver: Receiver) -> None:
    receiver.stop()
    sender = client()
    assert sender.send(receiver.url, new_secret(), message(), "standard").outcome == "retry"
    receiver.start()
    assert sender.send(receiver.url, new_secret(), message(), "standard").outcome == "delivered"


def test_500_then_200(receiver: Receiver) -> None:
    receiver.script(Reply(500, b"database down"))
    sender = client()
    first = sender.send(receiver.url, new_secret(), message(), "standard")
    assert (first.outcome, first.status, first.error) == ("retry", 500, "HTTP 500: database down")
    assert sender.send(receiver.url, new_secret(), message(), "standard").outcome == "delivered"


def test_429_retry_after_is_honoured_by_the_policy(receiver: Receiver) -> None:
    receiver.script(Reply(429, headers={"Retry-After": "120"}))
    attempt = client().send(receiver.url, new_secret(), message(), "standard")
    assert (attempt.outcome, attempt.retry_after) == ("retry", 120.0)
    policy = RetryPolicy(base=dt.timedelta(seconds=1), max_delay=dt.timedelta(hours=1))
    delay = policy.next_delay(1, attempt, random.Random(1))
    assert delay == dt.timedelta(seconds=120)


def test_retry_after_as_http_date(receiver: Receiver) -> None:
    clock = SettableClock(dt.datetime(2025, 7, 8, 12, 0, tzinfo=dt.UTC))
    receiver.script(Reply(503, headers={"Retry-After": "Tue, 08 Jul 2025 12:05:00 GMT"}))
    attempt = client(clock=clock).send(receiver.url, new_secret(), message(), "standard")
    assert (attempt.outcome, attempt.retry_after) == ("retry", 300.0)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_4xx_fail_without_retry(receiver: Receiver, status: int) -> None:
    receiver.script(Reply(status))
    attempt = client().send(receiver.url, new_secret(), message(), "standard")
    assert (attempt.outcome, attempt.status) == ("failed", status)
    assert RetryPolicy().next_delay(1, attempt, random.Random(0)) is None


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_not_followed(status: int) -> None:
    with Receiver() as target, Receiver() as origin:
        origin.script(Reply(status, headers={"Location": target.url + "/elsewhere"}))
        attempt = client().send(origin.url, new_secret(), message(), "standard")
        assert (attempt.outcome, attempt.status) == ("failed", status)
        assert "not followed" in (attempt.error or "")
        time.sleep(0.05)
        assert target.requests == []


def test_proxy_settings_in_the_environment_are_ignored(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    attempt = client().send(receiver.url, new_secret(), message(), "standard")
    assert attempt.outcome == "delivered"
    assert receiver.wait_for(1)[0].path == "/"


def test_private_target_refused_at_send_when_not_allowed(receiver: Receiver) -> None:
    sender = WebhookClient(AddressPolicy(allow_private=False), timeout=1)
    attempt = sender.send(receiver.url, new_secret(), message(), "standard")
    assert attempt.outcome == "failed"
    assert "loopback" in (attempt.error or "")
    assert receiver.requests == []


def test_dns_rebinding_is_caught_at_connect(receiver: Receiver) -> None:
    """The name resolves to a public address when registered, to 127.0.0.1 when we connect."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    policy = AddressPolicy(allow_private=False, resolver=rebinding)
    url = f"http://hooks.example.com:{receiver.port}/x"
    policy.check_url(url)  # registration: fine
    attempt = WebhookClient(policy, timeout=1).send(url, new_secret(), message(), "standard")
    assert attempt.outcome == "failed"
    assert "127.0.0.1 is a loopback address" in (attempt.error or "")
    assert receiver.requests == []


@pytest.mark.parametrize("answer", ["::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"])
def test_v4_in_v6_answers_are_refused_at_connect(receiver: Receiver, answer: str) -> None:
    policy = AddressPolicy(allow_private=False, resolver=lambda host, port: [answer])
    attempt = WebhookClient(policy, timeout=1).send(
        f"http://hooks.example.com:{receiver.port}/", new_secret(), message(), "standard"
    )
    assert attempt.outcome == "failed"
    assert "embeds 127.0.0.1" in (attempt.error or "")


def test_resolver_used_at_connect_pins_the_address(receiver: Receiver) -> None:
    """A name our resolver maps to the receiver reaches it, with the original Host header."""
    policy = AddressPolicy(allow_private=True, resolver=lambda host, port: ["127.0.0.1"])
    url = f"http://hooks.example.test:{receiver.port}/x"
    assert WebhookClient(policy, timeout=1).send(url, new_secret(), message(), "slack").outcome == "delivered"
    assert receiver.wait_for(1)[0].headers["host"] == f"hooks.example.test:{receiver.port}"


def test_bad_scheme_fails_without_a_request() -> None:
    attempt = client().send("file:///etc/passwd", new_secret(), message(), "standard")
    assert attempt.outcome == "failed"
    with pytest.raises(UnsafeWebhookURL):
        AddressPolicy(allow_private=True).check_url("file:///etc/passwd")


def test_secret_never_reaches_the_logs(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    secret = new_secret()
    receiver.script(Reply(500, b"nope"))
    sender = client()
    with caplog.at_level(logging.DEBUG):
        sender.send(receiver.url + "/services/T0/B0/tok", secret, message(), "standard")
        Receiver(start=False).stop()
        sender.send("http://127.0.0.1:9/services/T0/B0/tok", secret, message(), "standard")
    text = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    assert caplog.records
    assert secret not in text
    assert secret.removeprefix("whsec_") not in text
    assert secret not in repr(sender)
    sender.close()


def test_a_request_signed_ahead_goes_as_signed_and_is_signed_again_when_it_waited_too_long(
    receiver: Receiver,
) -> None:
    secret = new_secret()
    clock = SettableClock(NOW)
    sender = client(clock=clock)
    due = NOW + dt.timedelta(seconds=5)
    prepared = sender.prepare(receiver.url, secret, message("rem_ahead"), "standard", at=due)
    clock.set(due)
    assert sender.io.run(sender.post(prepared)).outcome == "delivered"
    clock.set(due + dt.timedelta(seconds=90))  # queued behind a slow host: a stale timestamp is refused
    assert sender.io.run(sender.post(prepared)).outcome == "delivered"
    on_time, late = receiver.wait_for(2)
    assert int(on_time.headers["webhook-timestamp"]) == int(due.timestamp())
    assert int(late.headers["webhook-timestamp"]) == int(due.timestamp()) + 90
    assert on_time.body == late.body  # the same message; only the signature is new
    assert late.headers["webhook-signature"] != on_time.headers["webhook-signature"]
    assert Webhook(secret).verify(late.body, late.headers)["data"] == {"title": "Truce ends"}
