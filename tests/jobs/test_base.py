"""The shared pieces: names, keys, backoff, slots, and one attempt under a lease."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from silkguard.core.errors import InvalidInput
from silkguard.jobs.base import (
    Decision,
    Job,
    RetryPolicy,
    TaskRegistry,
    due_schedules,
    job_id_for_key,
    run_attempt,
)
from silkguard.jobs.inprocess import MemoryKeyStore


def _now() -> datetime:
    return datetime(2027, 1, 1, tzinfo=UTC)


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(min_backoff_s=1.0, max_backoff_s=5.0)
    assert [policy.backoff_s(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_key_gives_a_stable_job_id() -> None:
    assert job_id_for_key("delivery:1:2:sms") == job_id_for_key("delivery:1:2:sms")
    assert job_id_for_key("delivery:1:2:sms") != job_id_for_key("delivery:1:2:email")


@pytest.mark.parametrize("name", ["", "Alerts.Deliver", "alerts deliver", "alerts/deliver"])
def test_bad_task_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="lower-case"):
        TaskRegistry().register(name, lambda: None)


def test_one_name_one_function() -> None:
    registry = TaskRegistry()
    registry.register("alerts.deliver", print)
    registry.register("alerts.deliver", print)  # the same function again is harmless
    with pytest.raises(InvalidInput, match="already registered"):
        registry.register("alerts.deliver", repr)


def test_due_schedules_fire_each_slot_once_per_process() -> None:
    registry = TaskRegistry()
    registry.register("journeys.overdue", print)
    registry.add_schedule("journeys.overdue", 60, {})
    fired: dict[str, int] = {}
    t0 = _now().timestamp()
    first = due_schedules(registry, fired, t0)
    assert [key for _, key in first] == [f"schedule:journeys.overdue:60:{int(t0) // 60}"]
    assert due_schedules(registry, fired, t0 + 30) == []
    assert due_schedules(registry, fired, t0 - 60) == []  # clocks going back fire nothing
    assert len(due_schedules(registry, fired, t0 + 60)) == 1


def test_a_copy_finds_the_lease_taken_and_then_the_job_done() -> None:
    registry = TaskRegistry()
    calls: list[int] = []
    registry.register("alerts.deliver", lambda **_: calls.append(1))
    store = MemoryKeyStore()
    job = Job(job_id=job_id_for_key("k"), name="alerts.deliver", kwargs={}, key="k")
    assert store.acquire(job.job_id, "other-worker", 10.0) is None
    busy = run_attempt(registry, store, job, lease_s=10.0, now=_now)
    assert busy.decision is Decision.BUSY
    assert 0 < busy.delay_s <= 1.0
    store.release(job.job_id, "other-worker")
    assert run_attempt(registry, store, job, lease_s=10.0, now=_now).decision is Decision.DONE
    assert run_attempt(registry, store, job, lease_s=10.0, now=_now).decision is Decision.SKIPPED
    assert calls == [1]


def test_a_crashed_attempt_leaves_no_done_mark() -> None:
    registry = TaskRegistry()

    def crash(**_: object) -> None:
        raise RuntimeError("process died half-way")

    registry.register("alerts.deliver", crash, retry=RetryPolicy(max_retries=1))
    store = MemoryKeyStore()
    job = Job(job_id="j-1", name="alerts.deliver", kwargs={})
    attempt = run_attempt(registry, store, job, lease_s=10.0, now=_now)
    assert attempt.decision is Decision.RETRY
    assert attempt.next_job is not None
    assert attempt.next_job.failures == 1
    assert not store.is_done("j-1")
    assert store.acquire("j-1", "next", 1.0) is None  # the lease was released
    store.release("j-1", "next")
    assert run_attempt(registry, store, attempt.next_job, lease_s=10.0, now=_now).decision is (
        Decision.DEAD
    )


def test_unknown_task_in_a_message_becomes_a_dead_letter() -> None:
    store = MemoryKeyStore()
    job = Job(job_id="j-2", name="gone.task", kwargs={"a": 1})
    assert run_attempt(TaskRegistry(), store, job, lease_s=1.0, now=_now).decision is (
        Decision.DEAD
    )
    [letter] = store.dead_letters()
    assert "gone.task" in letter.error
    assert letter.attempts == 1
