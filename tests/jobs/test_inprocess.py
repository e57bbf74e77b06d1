"""What only the in-process runner offers: the deterministic mode, closing."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from silkguard.core.errors import ServiceUnavailable
from silkguard.jobs.base import RetryPolicy, TaskRegistry
from silkguard.jobs.inprocess import InProcessRunner


def test_deterministic_mode_runs_only_in_drain_in_order() -> None:
    order: list[int] = []
    runner = InProcessRunner(TaskRegistry(), threads=0)
    runner.register("alerts.deliver", lambda **kw: order.append(kw["n"]))
    for n in range(5):
        runner.enqueue("alerts.deliver", n=n)
    runner.enqueue("alerts.deliver", n=99, delay_s=0.05)
    assert order == []
    assert runner.pending() == 6
    runner.drain(5)
    assert order == [0, 1, 2, 3, 4, 99]
    assert runner.pending() == 0
    runner.close()


def test_deterministic_mode_runs_retries_on_the_calling_thread() -> None:
    threads: set[int] = set()

    def flaky(**_: Any) -> None:
        threads.add(threading.get_ident())
        if len(threads) == 1 and not flaky.failed:  # type: ignore[attr-defined]
            flaky.failed = True  # type: ignore[attr-defined]
            raise ConnectionError("try again")

    flaky.failed = False  # type: ignore[attr-defined]
    runner = InProcessRunner(TaskRegistry(), threads=0)
    runner.register("alerts.deliver", flaky, retry=RetryPolicy(min_backoff_s=0.01))
    runner.enqueue("alerts.deliver")
    runner.drain(5)
    assert threads == {threading.get_ident()}
    assert runner.dead_letters() == []


def test_drain_in_deterministic_mode_refuses_to_wait_past_its_timeout() -> None:
    runner = InProcessRunner(TaskRegistry(), threads=0)
    runner.register("rollcall.remind", lambda **_: None)
    runner.enqueue("rollcall.remind", delay_s=60)
    with pytest.raises(ServiceUnavailable, match="1 job"):
        runner.drain(0.05)


def test_closed_runner_refuses_work() -> None:
    runner = InProcessRunner(TaskRegistry(), threads=1)
    runner.register("alerts.deliver", lambda **_: None)
    runner.enqueue("alerts.deliver", delay_s=60)
    runner.close()
    with pytest.raises(ServiceUnavailable, match="closed"):
        runner.enqueue("alerts.deliver")
