"""The run's summary under pytest-xdist: what the workers measured and used reaches the controller."""

from __future__ import annotations

import execnet
import pytest

from tests.support.dbtargets import NONE_SELECTED, postgres_lines
from tests.support.figures import FIGURES, POSTGRES_LINES, hand_over, take_over

ON_CI = "PostgreSQL tests ran on postgresql+psycopg://postgres@127.0.0.1:5432/test (…)"


def test_every_workers_figures_and_postgres_line_reach_the_controller() -> None:
    controller = pytest.Stash()
    for figures, line in (
        (["fan-out: 9 ms"], ON_CI),
        (["crash: 2 s", "retry: 1 s"], ON_CI),
        ([], NONE_SELECTED),
    ):
        worker = pytest.Stash()
        worker[FIGURES] = figures
        output: dict[str, object] = {"exitstatus": 0}
        hand_over(worker, output, line)
        # What xdist does with workeroutput on the way home: execnet's serializer takes plain data only.
        take_over(controller, execnet.loads(execnet.dumps(output)))
    take_over(controller, {})  # a worker that crashed hands nothing over
    assert controller[FIGURES] == ["fan-out: 9 ms", "crash: 2 s", "retry: 1 s"]
    assert postgres_lines(controller[POSTGRES_LINES]) == [ON_CI]


@pytest.mark.parametrize(
    ("from_workers", "printed"),
    [
        ([NONE_SELECTED], [NONE_SELECTED]),
        ([NONE_SELECTED, "cluster on port 5"], ["cluster on port 5"]),
        (["cluster on port 5", "cluster on port 6"], ["cluster on port 5", "cluster on port 6"]),
    ],
)
def test_a_worker_that_ran_no_postgres_test_does_not_hide_one_that_did(
    from_workers: list[str], printed: list[str]
) -> None:
    assert postgres_lines(from_workers) == printed
