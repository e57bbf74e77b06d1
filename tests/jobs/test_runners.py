"""One suite, run against the in-process runner and the Dramatiq runner alike."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from silkguard.core.errors import InvalidInput, NotFound, ServiceUnavailable
from silkguard.jobs.base import DeadLetter, JobRunner, RetryPolicy, job_id_for_key

FAST_RETRY = RetryPolicy(max_retries=2, min_backoff_s=0.05, max_backoff_s=0.2)


class Recorder:
    """Thread-safe list of the calls a handler received."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.times: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append(kwargs)
            self.times.append(time.monotonic())


def test_enqueue_runs_the_job(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("alerts.deliver", rec)
    ids = [runner.enqueue("alerts.deliver", person=i) for i in range(5)]
    runner.drain(10)
    assert sorted(c["person"] for c in rec.calls) == [0, 1, 2, 3, 4]
    assert len(set(ids)) == 5


def test_kwargs_survive_the_trip(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("alerts.deliver", rec)
    sent = {
        "message": {"en": "Stay indoors", "zh": "请留在室内", "ur": "گھر کے اندر رہیں"},
        "people": (3, 5),
        "radius_m": 2500.5,
        "drill": False,
        "escalate_to": None,
    }
    runner.enqueue("alerts.deliver", **sent)
    runner.drain(10)
    assert rec.calls == [{**sent, "people": [3, 5]}]


def test_bad_enqueue_is_refused(runner: JobRunner) -> None:
    runner.register("alerts.deliver", Recorder())
    with pytest.raises(InvalidInput, match="JSON"):
        runner.enqueue("alerts.deliver", at=datetime.now(UTC))
    with pytest.raises(NotFound, match=r"alerts\.unknown"):
        runner.enqueue("alerts.unknown")
    with pytest.raises(InvalidInput, match="delay_s"):
        runner.enqueue("alerts.deliver", delay_s=-1)


def test_same_key_runs_once(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("alerts.deliver", rec)
    first = runner.enqueue("alerts.deliver", key="a1:p7:sms", person=7)
    second = runner.enqueue("alerts.deliver", key="a1:p7:sms", person=7)
    other = runner.enqueue("alerts.deliver", key="a1:p7:email", person=7)
    runner.drain(10)
    again = runner.enqueue("alerts.deliver", key="a1:p7:sms", person=7)
    runner.drain(10)
    assert first == second == again == job_id_for_key("a1:p7:sms")
    assert other != first
    assert len(rec.calls) == 2


def test_failures_are_retried_until_success(runner: JobRunner) -> None:
    attempts: list[float] = []

    def flaky(**_: Any) -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("gateway timed out")

    runner.register("alerts.deliver", flaky, retry=FAST_RETRY)
    runner.enqueue("alerts.deliver", key="k1")
    runner.drain(10)
    assert len(attempts) == 3
    # exponential backoff: the second wait is about twice the first
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05
    assert gaps[1] >= 0.1
    assert runner.dead_letters() == []


def test_exhausted_retries_leave_a_dead_letter(runner: JobRunner) -> None:
    calls: list[int] = []

    def broken(**kwargs: Any) -> None:
        calls.append(kwargs["person"])
        raise RuntimeError("smtp server refused the connection")

    runner.register("alerts.deliver", broken, retry=FAST_RETRY)
    job_id = runner.enqueue("alerts.deliver", person=9, channel="email")
    runner.drain(10)
    assert calls == [9, 9, 9]
    [letter] = runner.dead_letters()
    assert letter.job_id == job_id
    assert letter.name == "alerts.deliver"
    assert letter.kwargs == {"person": 9, "channel": "email"}
    assert letter.attempts == 3
    assert "RuntimeError: smtp server refused the connection" in letter.error


def test_invalid_input_is_not_retried(runner: JobRunner) -> None:
    calls: list[int] = []

    def picky(**_: Any) -> None:
        calls.append(1)
        raise InvalidInput("person 12 has no phone number")

    runner.register("alerts.deliver", picky, retry=FAST_RETRY)
    runner.enqueue("alerts.deliver")
    runner.drain(10)
    assert calls == [1]
    [letter] = runner.dead_letters()
    assert letter.attempts == 1
    assert "no phone number" in letter.error


def test_delayed_job_waits_for_its_time(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("rollcall.remind", rec)
    start = time.monotonic()
    runner.enqueue("rollcall.remind", delay_s=0.6, rollcall=1)
    runner.enqueue_many("rollcall.remind", [(None, {"rollcall": 3})], delay_s=0.6)
    runner.enqueue("rollcall.remind", rollcall=2)
    runner.drain(10)
    ran_at = {c["rollcall"]: t - start for c, t in zip(rec.calls, rec.times, strict=True)}
    assert sorted(ran_at) == [1, 2, 3]
    assert ran_at[1] >= 0.6
    assert ran_at[3] >= 0.6
    assert ran_at[2] < ran_at[1]


def test_periodic_work_runs_once_per_slot(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("positions.purge", rec)
    runner.register("journeys.overdue", rec)
    runner.schedule("positions.purge", 86_400, days=30)
    runner.schedule("journeys.overdue", 60)
    t0 = datetime(2027, 1, 1, tzinfo=UTC)  # a whole day: both slots start here
    assert len(runner.run_due(t0)) == 2
    runner.drain(10)
    assert len(runner.run_due(t0 + timedelta(seconds=59))) == 0
    assert len(runner.run_due(t0 + timedelta(seconds=60))) == 1
    assert len(runner.run_due(t0 + timedelta(seconds=61))) == 0
    runner.drain(10)
    assert sorted(map(str, rec.calls)) == sorted(["{'days': 30}", "{}", "{}"])


def test_schedule_needs_a_registered_task(runner: JobRunner) -> None:
    with pytest.raises(NotFound):
        runner.schedule("forecast.refresh", 3600)
    runner.register("forecast.refresh", Recorder())
    with pytest.raises(InvalidInput, match="every_s"):
        runner.schedule("forecast.refresh", 0)


def test_drain_reports_unfinished_work(runner: JobRunner) -> None:
    release = threading.Event()

    def slow(**_: Any) -> None:
        release.wait(10)

    runner.register("alerts.deliver", slow)
    runner.enqueue("alerts.deliver")
    with pytest.raises(ServiceUnavailable, match="unfinished"):
        runner.drain(0.3)
    release.set()
    runner.drain(10)


def test_tasks_on_their_own_queue_run(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("forecast.refresh", rec, queue="bulk")
    runner.enqueue("forecast.refresh", region="gwadar")
    runner.drain(10)
    assert rec.calls == [{"region": "gwadar"}]
    assert runner.pending() == 0


def test_scheduler_thread_fires_due_work(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("journeys.overdue", rec)
    runner.schedule("journeys.overdue", 1)
    start = time.monotonic()
    runner.start_scheduler(interval_s=0.05)
    while not rec.calls:
        assert time.monotonic() - start < 5, "the scheduler fired nothing within 5 s"
        time.sleep(0.02)
    time.sleep(1.2)  # some twenty more ticks: a scheduler firing per tick would show
    runner.drain(10)
    elapsed_s = time.monotonic() - start
    # one call per one-second slot that started while the scheduler ran, never more
    assert 1 <= len(rec.calls) <= int(elapsed_s) + 2
    assert all(c == {} for c in rec.calls)


def test_a_dead_job_triggers_its_escalation_once(runner: JobRunner) -> None:
    escalations = Recorder()

    def sms_down(**_: Any) -> None:
        raise ConnectionError("SMS gateway unreachable")

    policy = RetryPolicy(max_retries=1, min_backoff_s=0.02, on_dead="alerts.escalate")
    runner.register("alerts.deliver_sms", sms_down, retry=policy)
    runner.register("alerts.escalate", escalations)
    job_id = runner.enqueue("alerts.deliver_sms", key="a1:p3:sms", person=3)
    runner.drain(10)
    [call] = escalations.calls
    failed = DeadLetter.from_dict(call["failed"])
    assert failed.job_id == job_id
    assert failed.kwargs == {"person": 3}
    assert failed.attempts == 2
    assert "SMS gateway unreachable" in failed.error


def test_a_missing_escalation_task_still_leaves_the_dead_letter(runner: JobRunner) -> None:
    def down(**_: Any) -> None:
        raise ConnectionError("down")

    policy = RetryPolicy(max_retries=0, on_dead="alerts.nowhere")
    runner.register("alerts.deliver", down, retry=policy)
    runner.enqueue("alerts.deliver")
    runner.drain(10)
    [letter] = runner.dead_letters()
    assert letter.attempts == 1


def test_enqueue_many_fans_out_once_per_key(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("alerts.deliver", rec)
    runner.enqueue("alerts.deliver", key="a2:p0:sms", person=0, channel="sms")
    runner.drain(10)
    items: list[tuple[str | None, dict[str, Any]]] = [
        (f"a2:p{p}:{c}", {"person": p, "channel": c}) for p in range(30) for c in ("sms", "email")
    ]
    items.append(("a2:p1:sms", {"person": 1, "channel": "sms"}))  # a repeat within the batch
    items.append((None, {"person": 99, "channel": "mqtt"}))
    ids = runner.enqueue_many("alerts.deliver", items)
    runner.drain(10)
    assert len(ids) == len(items)
    assert ids[0] == job_id_for_key("a2:p0:sms")
    got = sorted((c["person"], c["channel"]) for c in rec.calls)
    want = sorted([(p, c) for p in range(30) for c in ("sms", "email")] + [(99, "mqtt")])
    assert got == want


def test_enqueue_many_validates_everything_first(runner: JobRunner) -> None:
    rec = Recorder()
    runner.register("alerts.deliver", rec)
    with pytest.raises(InvalidInput):
        runner.enqueue_many("alerts.deliver", [("ok", {"n": 1}), ("bad", {"at": object()})])
    runner.drain(10)
    assert rec.calls == []
    assert runner.enqueue_many("alerts.deliver", []) == []


def test_a_dead_job_can_be_run_again(runner: JobRunner) -> None:
    gateway_up = threading.Event()
    calls: list[bool] = []

    def deliver(**_: Any) -> None:
        calls.append(gateway_up.is_set())
        if not gateway_up.is_set():
            raise ConnectionError("gateway down")

    runner.register("alerts.deliver", deliver, retry=RetryPolicy(max_retries=0))
    job_id = runner.enqueue("alerts.deliver", key="a3:p1:sms", person=1)
    runner.drain(10)
    assert [d.job_id for d in runner.dead_letters()] == [job_id]
    gateway_up.set()
    assert runner.requeue_dead(job_id) == job_id
    runner.drain(10)
    assert calls == [False, True]
    assert runner.dead_letters() == []
    with pytest.raises(NotFound, match="no dead letter"):
        runner.requeue_dead(job_id)
