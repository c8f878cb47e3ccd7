"""The scaled-out topology as a whole, with faults: a PostgreSQL cluster the test owns, two web replicas
under gunicorn behind the nginx edge (deploy/nginx.conf), two `trade-calendar worker`s and a loopback
webhook receiver, all real processes (what docker-compose.yml runs, without Docker).

Fifty subscriptions, made through the edge, are owed 500 reminders, all due when the workers start:
the burst. Mid-burst (the receiver holds requests after the first `KILL_AFTER` until then, so the
burst is always mid-way) one worker and one replica are SIGKILLed and PostgreSQL stops as if it
crashed; what was still owed then must go out after the outage, late, not lost. During the outage the
data file is edited and a subscription write is tried; then PostgreSQL starts again. Pollers ask the
edge for the feed (plain and conditional) and for the read API all along.

Event times and lead times are whole minutes (the data format and the lead-time syntax have no
seconds), and the workers run on the real clock, so due times cannot be put "a few seconds ahead";
instead they are the current minute and the one before: always already due, and at most two minutes
old, far inside the ten-minute late window, wherever the minute boundary falls. The deadline is four
minutes after the current minute, longer than the run. Every wait is bounded.

The run happens once (a module fixture); each promise is its own test, so a failure names the promise
broken (and a known defect can be marked xfail on exactly its own test).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pytest
import requests

from bench.edge import NGINX
from calendar_service.adapters.clock import SystemClock
from calendar_service.adapters.db import ledger, make_engine
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.reminders.planning import reminder_id
from tests.support.figures import report_figures
from tests.support.pgcluster import PgCluster, requires_pg_cluster
from tests.support.polling import wait_until as _wait
from tests.support.processes import free_port
from tests.support.receiver import Receiver, Recorded, Reply
from tests.support.reminders import event, write_calendar
from tests.support.stack import AUTH, RELOAD_INTERVAL, Stack

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.postgres,
    pytest.mark.skipif(
        shutil.which(NGINX) is None, reason=f"needs nginx at {NGINX} (apt-get install nginx-light)"
    ),
    requires_pg_cluster,
]

SUBSCRIPTIONS = 50
EVENTS = 5
CONCURRENCY = 4  # per worker
LEASE = 3.0  # seconds before another worker resends what a dead one had claimed
KILL_AFTER = 60  # reminders answered before the receiver holds the rest until the fault
OUTAGE = 5.0  # seconds PostgreSQL stays down: longer than the lease, so claims run out during it
LEADS = ("PT4M", "PT5M")  # before the deadline four minutes after the current minute: due now
RECOVERY = 20.0  # bound on waiting for every reminder and the edit after PostgreSQL is back
TITLE = "Deadline topo-0"
EDITED = "Deadline topo-0 edited in the outage"


@dataclass
class Poller:
    """A thread asking the edge for one path again and again, counting the answers by status."""

    url: str
    conditional: bool = False  # send If-None-Match with the last ETag (a calendar client's poll)
    answers: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, status or error)
    stop: threading.Event = field(default_factory=threading.Event)
    turn: threading.Lock = field(default_factory=threading.Lock)  # held while asking; `paused` takes it

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"poll {self.url}", daemon=True)

    def _run(self) -> None:
        etag = ""
        with requests.Session() as session:
            while not self.stop.wait(0.02):
                headers = {"If-None-Match": etag} if self.conditional and etag else {}
                with self.turn:
                    try:
                        response = session.get(self.url, headers=headers, timeout=10)
                        status = str(response.status_code)
                        etag = response.headers.get("ETag", etag)
                    except requests.RequestException as exc:
                        status = f"{type(exc).__name__}: {exc}"[:200]
                    self.answers.append((time.monotonic(), status))

    def bad(self) -> list[tuple[float, str]]:
        """Answers other than 200 or 304 (errors included)."""
        return [(at, status) for at, status in self.answers if status not in ("200", "304")]

    def between(self, start: float, end: float) -> int:
        return sum(1 for at, _ in self.answers if start <= at <= end)


@dataclass
class Run:
    """What the run saw; the tests below each check one promise against it."""

    expected: set[str]
    owed_at_fault: set[str]  # planned reminders not yet sent when PostgreSQL went down
    arrived: Counter[str]
    in_flight: set[str]  # sent before the fault, outcome not recorded by then
    pollers: dict[str, Poller]
    fault_at: float
    restart_at: float
    write_in_outage: tuple[int, dict[str, str], float]  # status, headers, seconds taken
    reload_in_outage: int  # status of the request on which a replica looked at the edit in the outage
    edit_served_after: float | None  # seconds after the restart, None if never (within RECOVERY)
    all_arrived_after: float | None  # seconds after the restart, None if never (within RECOVERY)
    states: dict[str, int]
    wall: float

    def since_fault(self, answers: list[tuple[float, str]]) -> list[str]:
        """Answers with their time relative to the fault (and the restart), for failure messages."""
        fault, restart = self.fault_at, self.restart_at
        return [f"fault{at - fault:+.2f}s restart{at - restart:+.2f}s {s}" for at, s in answers]

    @property
    def duplicates(self) -> int:
        return sum(self.arrived.values()) - len(self.arrived)

    def figures(self) -> str:
        feed = [p for name, p in self.pollers.items() if name.startswith("feed")]
        feed_total = sum(len(p.answers) for p in feed)
        feed_outage = sum(p.between(self.fault_at, self.restart_at) for p in feed)
        feed_bad = sum(len(p.bad()) for p in feed)
        api = self.pollers["api"]
        edit = "never" if self.edit_served_after is None else f"{self.edit_served_after:.1f} s after restart"
        done = "never" if self.all_arrived_after is None else f"{self.all_arrived_after:.1f} s after restart"
        return (
            f"topology: {len(self.expected)} webhook-ids planned, {len(set(self.arrived) & self.expected)} "
            f"arrived, the last {done} ({len(self.owed_at_fault)} still owed at the fault); "
            f"{self.duplicates} duplicate request(s) ({len(self.in_flight)} in flight at the fault); "
            f"edge feed "
            f"{feed_total} answers ({feed_outage} during the outage), {feed_bad} not 2xx/304; read API "
            f"{len(api.answers)} answers, {len(api.bad())} not 2xx; subscription write in the outage: "
            f"{self.write_in_outage[0]} in {self.write_in_outage[2]:.1f} s; request that saw the edit in "
            f"the outage: {self.reload_in_outage}; edit served {edit}; "
            f"outage {self.restart_at - self.fault_at:.1f} s; wall {self.wall:.1f} s"
        )


@contextlib.contextmanager
def _paused(pollers: Iterable[Poller]) -> Iterator[float]:
    """Hold every poller between two requests; yields when the last answer came (monotonic)."""
    held = list(pollers)
    for poller in held:
        poller.turn.acquire()
    try:
        yield max((p.answers[-1][0] for p in held if p.answers), default=time.monotonic())
    finally:
        for poller in held:
            poller.turn.release()


def _delivered_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {row["id"] for row in ledger.list_rows(engine, state=ledger.DELIVERED)}
    finally:
        engine.dispose()


def _edge_serves(edge: str, text: str) -> bool:
    try:
        response = requests.get(edge + "/calendar.ics", timeout=5)
    except requests.RequestException:
        return False
    return response.status_code == 200 and text in response.text


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Run:
    """Bring the topology up, play the faults, bring it down; keep what was seen."""
    started = time.monotonic()
    work = tmp_path_factory.mktemp("topology")
    cluster = PgCluster()
    released = threading.Event()

    def hold_after_kill_point(recorded: Recorded) -> Reply:
        if len(rx.requests) > KILL_AFTER:
            released.wait(timeout=60)  # until the fault; a dead worker's reply then goes nowhere
        return Reply(200)

    rx = Receiver()
    rx.respond_with(hold_after_kill_point)
    clock = SystemClock()
    deadline = clock.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=4)
    data = write_calendar(work / "events.yaml", *[event(f"topo-{i}", deadline) for i in range(EVENTS)])
    stack = Stack(work, cluster.url, data)
    pollers: dict[str, Poller] = {}
    try:
        ports = [free_port(), free_port()]
        replicas = [stack.start_replica(f"web{i}", port) for i, port in enumerate(ports)]
        for replica, port in zip(replicas, ports, strict=True):
            stack.wait_ready(replica, f"http://127.0.0.1:{port}/readyz", timeout=60)
        edge = stack.start_edge(ports, cache_valid="1s")
        assert _edge_serves(edge, TITLE)

        expected: set[str] = set()
        with requests.Session() as session:
            for n in range(SUBSCRIPTIONS):
                created = session.post(
                    f"{edge}/api/v1/subscriptions", headers=AUTH, timeout=10,
                    json={"url": f"{rx.url}/s{n}", "lead_times": list(LEADS)},
                )  # fmt: skip
                assert created.status_code == 201, created.text
                sub_id = created.json()["id"]
                expected |= {reminder_id(sub_id, f"topo-{i}", deadline, LeadTime.parse(lead))
                             for i in range(EVENTS) for lead in LEADS}  # fmt: skip
        assert len(expected) == SUBSCRIPTIONS * EVENTS * 2

        workers = [
            stack.start_worker(f"worker{i}", concurrency=CONCURRENCY, lease=LEASE, webhook_timeout=20)
            for i in range(2)
        ]
        pollers = {
            "feed": Poller(edge + "/calendar.ics"),
            "feed-conditional": Poller(edge + "/calendar.ics", conditional=True),
            "api": Poller(edge + "/api/v1/events"),
        }
        for poller in pollers.values():
            poller.thread.start()

        # Mid-burst: at least one worker's every send is held at the receiver (both, if both claimed).
        _wait(lambda: len(rx.requests) >= KILL_AFTER + CONCURRENCY, 60, "the burst to reach the kill point")
        with contextlib.suppress(AssertionError):  # one worker may hold every claim: it is mid-send then
            _wait(lambda: len(rx.requests) >= KILL_AFTER + 2 * CONCURRENCY, 2, "both workers")
        for proc in (*workers, *replicas):
            assert proc.alive(), proc.output()
        fault_at = time.monotonic()
        workers[0].kill()
        replicas[0].kill()
        sent_before = {r.headers["webhook-id"] for r in list(rx.requests)}
        in_flight = sent_before - _delivered_ids(cluster.url)
        cluster.stop(mode="immediate")
        released.set()

        # The outage: an edit to the data file, and a subscription write that must be refused politely.
        # The surviving replica first looks at the edit on a request of ours: the pollers are held and
        # no request has reached it for longer than its reload interval, so this one makes it look.
        with _paused(pollers.values()) as last_answer:
            data.write_text(data.read_text(encoding="utf-8").replace(TITLE, EDITED), encoding="utf-8")
            time.sleep(max(0.0, last_answer + 2 * RELOAD_INTERVAL - time.monotonic()))
            reload_in_outage = requests.get(f"http://127.0.0.1:{ports[1]}/healthz", timeout=10).status_code
        asked = time.monotonic()
        try:
            write = requests.post(
                f"{edge}/api/v1/subscriptions", headers=AUTH, timeout=20,
                json={"url": f"{rx.url}/during-outage", "lead_times": ["PT1H"]},
            )  # fmt: skip
            write_in_outage = (write.status_code, dict(write.headers), time.monotonic() - asked)
        except requests.RequestException as exc:
            write_in_outage = (0, {"error": type(exc).__name__}, time.monotonic() - asked)
        time.sleep(max(0.0, fault_at + OUTAGE - time.monotonic()))
        restart_at = time.monotonic()
        cluster.start()

        # Recovery, bounded: every reminder out, the edit served through the edge.
        edit_served_after: float | None = None
        all_arrived_after: float | None = None
        until = time.monotonic() + RECOVERY
        while time.monotonic() < until and None in (edit_served_after, all_arrived_after):
            if edit_served_after is None and _edge_serves(edge, EDITED):
                edit_served_after = time.monotonic() - restart_at
            if all_arrived_after is None and {r.headers["webhook-id"] for r in rx.requests} >= expected:
                all_arrived_after = time.monotonic() - restart_at
            time.sleep(0.1)
        for poller in pollers.values():
            poller.stop.set()
            poller.thread.join(timeout=15)
        # SIGTERM lets sends in flight finish and be recorded; nothing is sent after the exit.
        assert workers[1].terminate() == 0, workers[1].output()
        arrived = Counter(r.headers["webhook-id"] for r in rx.requests)
        engine = make_engine(cluster.url)
        try:
            states = ledger.count_by_state(engine)
        finally:
            engine.dispose()
        result = Run(
            expected=expected, owed_at_fault=expected - sent_before, arrived=arrived, in_flight=in_flight,
            pollers=pollers, fault_at=fault_at, restart_at=restart_at, write_in_outage=write_in_outage,
            reload_in_outage=reload_in_outage, all_arrived_after=all_arrived_after,
            edit_served_after=edit_served_after, states=states, wall=time.monotonic() - started,
        )  # fmt: skip
        report_figures(pytestconfig, result.figures())
        (work / "figures.txt").write_text(result.figures() + "\n", encoding="utf-8")
    finally:
        released.set()
        for poller in pollers.values():
            poller.stop.set()
        stack.close()
        rx.stop()
        cluster.close()
    return result


def test_every_planned_webhook_id_arrived_and_was_recorded(run: Run) -> None:
    missing = run.expected - set(run.arrived)
    assert not missing, f"{len(missing)} of {len(run.expected)} reminders never arrived"
    assert set(run.arrived) == run.expected  # nothing unplanned either
    assert run.states == {ledger.DELIVERED: len(run.expected)}


def test_reminders_owed_during_the_outage_went_out_after_it(run: Run) -> None:
    assert run.owed_at_fault, "the burst was over before the fault"
    assert run.owed_at_fault <= set(run.arrived)


def test_duplicates_only_for_attempts_in_flight_at_the_fault(run: Run) -> None:
    repeated = {rid for rid, n in run.arrived.items() if n > 1}
    assert repeated <= run.in_flight, f"{len(repeated - run.in_flight)} sent twice that were not in flight"
    assert max(run.arrived.values()) <= 2


def test_the_edge_answered_the_feed_throughout(run: Run) -> None:
    feed = [run.pollers["feed"], run.pollers["feed-conditional"]]
    assert all(p.between(run.fault_at, run.restart_at) > 0 for p in feed), "no poll during the outage"
    bad = [answer for p in feed for answer in p.bad()]
    assert bad == [], f"{len(bad)} feed answers not 200/304, e.g. {run.since_fault(bad[:5])}"


def test_the_read_api_answered_throughout(run: Run) -> None:
    api = run.pollers["api"]
    assert api.between(run.fault_at, run.restart_at) > 0
    assert api.bad() == [], f"{len(api.bad())} API answers not 200, e.g. {run.since_fault(api.bad()[:5])}"


def test_a_replica_that_sees_an_edit_during_the_outage_answers_the_request(run: Run) -> None:
    assert run.reload_in_outage == 200


def test_an_edit_made_during_the_outage_is_served_after_it(run: Run) -> None:
    assert run.edit_served_after is not None, f"the edge never served the edit in {RECOVERY:.0f} s"


def test_a_subscription_write_during_the_outage_is_a_prompt_503_with_retry_after(run: Run) -> None:
    status, headers, took = run.write_in_outage
    assert status == 503, (status, headers)
    assert "Retry-After" in headers
    assert headers.get("Content-Type", "").startswith("application/problem+json")
    assert took < 10
