"""What only the Dramatiq runner has: a Redis error on its own keys, the worker entry point."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from silkguard.jobs.base import TaskRegistry
from silkguard.jobs.dramatiq_runner import DramatiqRunner, run_worker
from tests.jobs.conftest import REDIS_URL, redis_available, unique_namespace


@pytest.fixture
def dq() -> Iterator[DramatiqRunner]:
    if not redis_available():
        pytest.fail(
            f"no Redis at {REDIS_URL}: start it (redis-server) or set SILKGUARD_TEST_REDIS_URL"
        )
    runner = DramatiqRunner(REDIS_URL, registry=TaskRegistry(), namespace=unique_namespace())
    try:
        yield runner
    finally:
        runner.close()
        cleanup = DramatiqRunner(REDIS_URL, registry=TaskRegistry(), namespace=runner.namespace)
        cleanup.purge()
        cleanup.close()


def test_a_redis_error_on_the_lease_loses_no_job(
    dq: DramatiqRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    dq.register("alerts.deliver", lambda **kw: calls.append(kw["person"]))
    real_acquire = dq.store.acquire
    failures = [redis.ConnectionError("connection reset by peer")]

    def flaky_acquire(*args: Any) -> float | None:
        if failures:
            raise failures.pop()
        return real_acquire(*args)

    monkeypatch.setattr(dq.store, "acquire", flaky_acquire)
    dq.enqueue("alerts.deliver", key="a9:p1:sms", person=1)
    dq.start_worker(threads=1, poll_ms=50)
    dq.drain(15)
    assert calls == [1]
    assert failures == []
    assert dq.dead_letters() == []


def test_run_worker_runs_jobs_and_schedules_until_stopped(dq: DramatiqRunner) -> None:
    calls: list[str] = []
    registry = TaskRegistry()
    registry.register("alerts.deliver", lambda **kw: calls.append(kw["channel"]))
    registry.register("journeys.overdue", lambda **_: calls.append("overdue"))
    registry.add_schedule("journeys.overdue", 3600, {})
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(REDIS_URL,),
        kwargs={
            "modules": ["json"],
            "threads": 2,
            "namespace": dq.namespace,
            "registry": registry,
            "stop": stop,
        },
    )
    worker.start()
    try:
        producer = DramatiqRunner(REDIS_URL, registry=registry, namespace=dq.namespace)
        producer.enqueue("alerts.deliver", key="a5:p1:sms", channel="sms")
        deadline = time.monotonic() + 10
        while sorted(calls) != ["overdue", "sms"]:
            assert time.monotonic() < deadline, f"only {calls} ran within 10 s"
            time.sleep(0.05)
        producer.drain(10)
        producer.close()
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    assert sorted(calls) == ["overdue", "sms"]
