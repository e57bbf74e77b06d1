"""The embedded default: a small thread pool over a delay heap, all in memory.

Nothing is persisted: jobs still queued when the process ends are gone. That is the contract
of the embedded (single-process, SQLite) deployment; work that must survive a crash keeps its
state in the database (the delivery layer stores each delivery as queued / sent / failed and
re-enqueues the queued ones at start-up, with the same idempotency keys). Deployments that
need queued work to survive a worker crash set ``SILKGUARD_JOBS_URL`` and use Dramatiq.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from silkguard.core.clock import utcnow
from silkguard.core.errors import ServiceUnavailable
from silkguard.jobs.base import (
    DEFAULT_DEDUP_WINDOW_S,
    DEFAULT_LEASE_S,
    DONE_MARK,
    DeadLetter,
    Decision,
    Job,
    RetryPolicy,
    Schedule,
    TaskFn,
    TaskRegistry,
    TaskSpec,
    dead_letter_not_found,
    default_registry,
    due_schedules,
    new_job,
    revive,
    run_attempt,
)

__all__ = ["InProcessRunner", "MemoryKeyStore"]

_log = logging.getLogger(__name__)


class MemoryKeyStore:
    """Done marks, leases and dead letters in this process's memory."""

    _SWEEP_EVERY = 1024

    def __init__(self, dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S) -> None:
        self.dedup_window_s = dedup_window_s
        self._lock = threading.Lock()
        self._done: dict[str, float] = {}  # job id -> monotonic expiry
        self._leases: dict[str, tuple[str, float]] = {}  # job id -> (token, monotonic expiry)
        self._dead: dict[str, DeadLetter] = {}
        self._marks = 0

    def is_done(self, job_id: str) -> bool:
        with self._lock:
            expiry = self._done.get(job_id)
            return expiry is not None and expiry > time.monotonic()

    def acquire(self, job_id: str, token: str, lease_s: float) -> float | None:
        now = time.monotonic()
        with self._lock:
            done = self._done.get(job_id)
            if done is not None and done > now:
                return DONE_MARK
            held = self._leases.get(job_id)
            if held is not None and held[1] > now:
                return held[1] - now
            self._leases[job_id] = (token, now + lease_s)
            return None

    def finish(self, job_id: str, token: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._done[job_id] = now + self.dedup_window_s
            self._release_locked(job_id, token)
            self._marks += 1
            if self._marks % self._SWEEP_EVERY == 0:
                self._done = {k: v for k, v in self._done.items() if v > now}

    def release(self, job_id: str, token: str) -> None:
        with self._lock:
            self._release_locked(job_id, token)

    def _release_locked(self, job_id: str, token: str) -> None:
        held = self._leases.get(job_id)
        if held is not None and held[0] == token:
            del self._leases[job_id]

    def add_dead(self, letter: DeadLetter) -> None:
        with self._lock:
            self._dead[letter.job_id] = letter

    def dead_letters(self) -> list[DeadLetter]:
        with self._lock:
            return sorted(self._dead.values(), key=lambda d: (d.failed_at_utc, d.job_id))

    def pop_dead(self, job_id: str) -> DeadLetter | None:
        with self._lock:
            return self._dead.pop(job_id, None)


class InProcessRunner:
    """Jobs run on ``threads`` threads of this process.

    ``threads=0`` is the deterministic mode for tests: nothing runs until :meth:`drain`, which
    runs every due job on the calling thread, in order of due time then enqueue order.
    """

    def __init__(
        self,
        registry: TaskRegistry | None = None,
        *,
        threads: int = 2,
        lease_s: float = DEFAULT_LEASE_S,
        dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.registry = registry if registry is not None else default_registry
        self.store = MemoryKeyStore(dedup_window_s)
        self.lease_s = lease_s
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._queued: set[str] = set()  # job ids in the heap or running
        self._running = 0
        self._closed = False
        self._fired: dict[str, int] = {}
        self._threads = [
            threading.Thread(target=self._work, name=f"silkguard-job-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()
        self._scheduler: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the interface ---------------------------------------------------------------------

    def register(
        self, name: str, fn: TaskFn, *, queue: str = "default", retry: RetryPolicy | None = None
    ) -> TaskSpec:
        return self.registry.register(name, fn, queue=queue, retry=retry)

    def enqueue(
        self, name: str, *, key: str | None = None, delay_s: float = 0.0, **kwargs: Any
    ) -> str:
        _, job = new_job(self.registry, name, key, delay_s, kwargs)
        with self._cond:
            self._check_open()
            if job.job_id in self._queued or self.store.is_done(job.job_id):
                return job.job_id
            self._push_locked(job, delay_s)
        return job.job_id

    def enqueue_many(
        self,
        name: str,
        items: Iterable[tuple[str | None, Mapping[str, Any]]],
        *,
        delay_s: float = 0.0,
    ) -> list[str]:
        """Enqueue ``(key, kwargs)`` pairs of one task; all are validated before any is queued."""
        jobs = [new_job(self.registry, name, key, delay_s, kwargs)[1] for key, kwargs in items]
        with self._cond:
            self._check_open()
            for job in jobs:
                if job.job_id not in self._queued and not self.store.is_done(job.job_id):
                    self._push_locked(job, delay_s)
        return [job.job_id for job in jobs]

    def schedule(self, name: str, every_s: float, **kwargs: Any) -> Schedule:
        return self.registry.add_schedule(name, every_s, kwargs)

    def run_due(self, now: datetime | None = None) -> list[str]:
        now_ts = (now or self._clock()).timestamp()
        with self._cond:
            due = due_schedules(self.registry, self._fired, now_ts)
        return [self.enqueue(s.name, key=key, **s.kwargs) for s, key in due]

    def dead_letters(self) -> list[DeadLetter]:
        return self.store.dead_letters()

    def requeue_dead(self, job_id: str) -> str:
        """Run a dead job again with a fresh retry budget (after fixing what made it fail)."""
        with self._cond:
            self._check_open()
            letter = self.store.pop_dead(job_id)
            if letter is None:
                raise dead_letter_not_found(job_id)
            self._push_locked(revive(letter), 0.0)
        return job_id

    def pending(self) -> int:
        """Jobs queued, waiting for a retry, or running."""
        with self._cond:
            return len(self._queued)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued job (retries and delayed jobs included) has finished."""
        deadline = time.monotonic() + timeout_s
        if not self._threads:
            self._drain_here(deadline, timeout_s)
            return
        with self._cond:
            while self._queued:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout(timeout_s)
                self._cond.wait(min(left, 0.1))

    def start_scheduler(self, interval_s: float = 1.0) -> None:
        """Call :meth:`run_due` every ``interval_s`` seconds on a background thread."""
        if self._scheduler is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.run_due()
                except Exception:  # noqa: BLE001 - a failed tick must not end the loop
                    _log.exception("scheduler tick failed")

        self._scheduler = threading.Thread(target=loop, name="silkguard-job-scheduler", daemon=True)
        self._scheduler.start()

    def close(self) -> None:
        """Stop the threads after their current job; jobs still queued are dropped."""
        self._stop.set()
        with self._cond:
            self._closed = True
            dropped = len(self._heap)
            self._heap.clear()
            self._cond.notify_all()
        for thread in [*self._threads, *([self._scheduler] if self._scheduler else [])]:
            thread.join(timeout=30)
        if dropped:
            _log.warning("closed the in-process job runner with %d jobs still queued", dropped)

    def __enter__(self) -> InProcessRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            msg = "the in-process job runner is closed; build a new runner with make_runner()"
            raise ServiceUnavailable(msg)

    def _timeout(self, timeout_s: float) -> ServiceUnavailable:
        msg = (
            f"{len(self._queued)} job(s) still unfinished after {timeout_s:g} s; a handler may "
            "be stuck or waiting for a retry; look at dead_letters() and the handler logs"
        )
        return ServiceUnavailable(msg)

    def _push_locked(self, job: Job, delay_s: float) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._seq), job))
        self._queued.add(job.job_id)
        self._cond.notify()

    def _run_one(self, job: Job) -> None:
        attempt = run_attempt(self.registry, self.store, job, lease_s=self.lease_s, now=self._clock)
        follow_up = attempt.follow_up()
        if follow_up is not None and not self._closed:
            # enqueued before this job leaves the queue, so drain() never sees a gap
            name, key, kwargs = follow_up
            try:
                self.enqueue(name, key=key, **kwargs)
            except Exception:  # noqa: BLE001 - the dead letter is stored; the hook is extra
                _log.exception("could not enqueue on_dead task %r", name)
        with self._cond:
            if attempt.decision in (Decision.RETRY, Decision.BUSY) and not self._closed:
                self._push_locked(attempt.next_job or job, attempt.delay_s)
            else:
                self._queued.discard(job.job_id)
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._next_due_locked()
                if job is None:
                    return
                self._running += 1
            try:
                self._run_one(job)
            except Exception:  # noqa: BLE001 - a runner fault must not kill the thread
                _log.exception("job %s of task %r failed outside its handler", job.job_id, job.name)
                with self._cond:
                    self._queued.discard(job.job_id)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def _next_due_locked(self) -> Job | None:
        """Block until a job is due (then pop it) or the runner closes (then None)."""
        while not self._closed:
            if self._heap:
                wait_s = self._heap[0][0] - time.monotonic()
                if wait_s <= 0:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(wait_s)
            else:
                self._cond.wait()
        return None

    def _drain_here(self, deadline: float, timeout_s: float) -> None:
        while True:
            with self._cond:
                if not self._heap:
                    return
                wait_s = self._heap[0][0] - time.monotonic()
                if wait_s > 0:
                    if time.monotonic() + wait_s > deadline:
                        raise self._timeout(timeout_s)
                    job = None
                else:
                    job = heapq.heappop(self._heap)[2]
            if job is None:
                time.sleep(wait_s)
            else:
                self._run_one(job)
