"""What only the Dramatiq runner has to get right: a Redis error on its own keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from silkguard.jobs.base import TaskRegistry
from silkguard.jobs.dramatiq_runner import DramatiqRunner
from tests.jobs.conftest import REDIS_URL, redis_available, unique_namespace


@pytest.fixture
def dq() -> Iterator[DramatiqRunner]:
    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL} (set SILKGUARD_TEST_REDIS_URL)")
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
