"""The jobs interface shared by both runners: task registry, job envelope, retry policy,
dead-letter records and the one attempt procedure both runners call.

A *task* is a named function taking JSON-able keyword arguments. A *job* is one request to
run a task. Every job has an id; a job enqueued with an idempotency ``key`` gets an id derived
from that key, so enqueueing the same key again names the same job and it completes once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from silkguard.core.errors import InvalidInput, NotFound

__all__ = [
    "DEFAULT_DEDUP_WINDOW_S",
    "DEFAULT_LEASE_S",
    "DONE_MARK",
    "MAX_DELAY_S",
    "Attempt",
    "DeadLetter",
    "Decision",
    "Job",
    "JobRunner",
    "RetryPolicy",
    "Schedule",
    "TaskFn",
    "TaskRegistry",
    "TaskSpec",
    "dead_letter_not_found",
    "default_registry",
    "due_schedules",
    "job_id_for_key",
    "json_roundtrip",
    "new_job",
    "revive",
    "run_attempt",
    "task",
]

_log = logging.getLogger(__name__)

TaskFn = Callable[..., object]
F = TypeVar("F", bound=TaskFn)

# A finished key is remembered this long: enqueueing it again within the window is a no-op.
DEFAULT_DEDUP_WINDOW_S = 7 * 86_400
# A running job holds its key this long; a second copy of the job waits until the lease ends.
# It must exceed the longest handler run, or a slow handler may be run twice at once.
DEFAULT_LEASE_S = 300.0
# What KeyStore.acquire returns for a job already done.
DONE_MARK = -1.0
# A copy of a job that finds its key leased looks again this often.
BUSY_POLL_S = 1.0
# Dramatiq refuses delays of 7 days or more; both runners share the limit.
MAX_DELAY_S = 7 * 86_400 - 60
# Name of tasks and queues: dotted lower-case words ("alerts.deliver").
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry a failing handler ``max_retries`` times, waiting ``min_backoff_s * 2**n`` (capped
    at ``max_backoff_s``) before retry n+1; errors of a ``give_up_on`` type are not retried.

    ``on_dead`` names a task enqueued once when a job of this task fails for good, with one
    argument ``failed`` (the dead letter as a dict): the hook for escalation to another channel.
    """

    max_retries: int = 5
    min_backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    give_up_on: tuple[type[BaseException], ...] = (InvalidInput, NotFound)
    on_dead: str | None = None

    def backoff_s(self, failures: int) -> float:
        """Wait before the next attempt after ``failures`` failed attempts (1, 2, ...)."""
        return min(self.max_backoff_s, self.min_backoff_s * 2.0 ** max(failures - 1, 0))


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    fn: TaskFn
    queue: str = "default"
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Periodic work: ``name`` is enqueued once per ``every_s`` slot of the Unix epoch."""

    name: str
    every_s: float
    kwargs: dict[str, Any]

    def slot(self, now_ts: float) -> int:
        return math.floor(now_ts / self.every_s)

    def key(self, slot: int) -> str:
        return f"schedule:{self.name}:{self.every_s:g}:{slot}"


def _check_name(name: str, what: str) -> None:
    if not name or not set(name) <= _NAME_CHARS:
        msg = (
            f"{what} name {name!r} is not accepted; use lower-case letters, digits, '.', '_' "
            "and '-' (for example 'alerts.deliver')"
        )
        raise InvalidInput(msg)


class TaskRegistry:
    """Task names mapped to functions, plus periodic schedules. A worker process imports the
    modules that fill the registry, so producers and workers agree on names."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskSpec] = {}
        self._schedules: dict[str, Schedule] = {}

    def register(
        self,
        name: str,
        fn: TaskFn,
        *,
        queue: str = "default",
        retry: RetryPolicy | None = None,
    ) -> TaskSpec:
        _check_name(name, "task")
        _check_name(queue, "queue")
        known = self._tasks.get(name)
        if known is not None and known.fn is not fn:
            msg = (
                f"task {name!r} is already registered to {known.fn!r}; each task name maps "
                "to one function, pick another name"
            )
            raise InvalidInput(msg)
        spec = TaskSpec(name=name, fn=fn, queue=queue, retry=retry or RetryPolicy())
        self._tasks[name] = spec
        return spec

    def task(
        self, name: str, *, queue: str = "default", retry: RetryPolicy | None = None
    ) -> Callable[[F], F]:
        """Decorator form of :meth:`register`."""

        def wrap(fn: F) -> F:
            self.register(name, fn, queue=queue, retry=retry)
            return fn

        return wrap

    def get(self, name: str) -> TaskSpec:
        spec = self._tasks.get(name)
        if spec is None:
            known = ", ".join(sorted(self._tasks)) or "none"
            msg = (
                f"no task named {name!r} is registered (known: {known}); register it with "
                "@task(name) in a module the producer and the worker both import"
            )
            raise NotFound(msg)
        return spec

    def names(self) -> list[str]:
        return sorted(self._tasks)

    def queues(self) -> set[str]:
        return {spec.queue for spec in self._tasks.values()} | {"default"}

    def add_schedule(self, name: str, every_s: float, kwargs: Mapping[str, Any]) -> Schedule:
        self.get(name)
        if not (math.isfinite(every_s) and every_s >= 1.0):
            msg = f"schedule for {name!r}: every_s={every_s!r} must be a number of seconds >= 1"
            raise InvalidInput(msg)
        sched = Schedule(name=name, every_s=float(every_s), kwargs=json_roundtrip(kwargs))
        self._schedules[name] = sched
        return sched

    def schedules(self) -> list[Schedule]:
        return [self._schedules[k] for k in sorted(self._schedules)]


default_registry = TaskRegistry()


def task(
    name: str, *, queue: str = "default", retry: RetryPolicy | None = None
) -> Callable[[F], F]:
    """Register a task on the process-wide :data:`default_registry`."""
    return default_registry.task(name, queue=queue, retry=retry)


def json_roundtrip(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` as the handler will see them after a trip through JSON (tuples become lists),
    so both runners hand handlers identical values; refuses what JSON cannot carry."""
    try:
        out = json.loads(json.dumps(dict(kwargs), allow_nan=False))
    except (TypeError, ValueError) as exc:
        msg = (
            f"job arguments must be JSON values (str, int, float, bool, None, lists, dicts with "
            f"str keys): {exc}; pass ids and ISO timestamps instead of objects"
        )
        raise InvalidInput(msg) from exc
    if not isinstance(out, dict):  # pragma: no cover - dict in, dict out
        raise InvalidInput("job arguments must be keyword arguments")
    return out


def job_id_for_key(key: str) -> str:
    """The stable job id for an idempotency key."""
    return "k-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Job:
    """One request to run a task, as carried by a queue. ``failures`` counts failed attempts."""

    job_id: str
    name: str
    kwargs: dict[str, Any]
    key: str | None = None
    failures: int = 0
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            job_id=str(data["job_id"]),
            name=str(data["name"]),
            kwargs=dict(data["kwargs"]),
            key=None if data.get("key") is None else str(data["key"]),
            failures=int(data.get("failures", 0)),
            last_error=str(data.get("last_error", "")),
        )


def new_job(
    registry: TaskRegistry, name: str, key: str | None, delay_s: float, kwargs: Mapping[str, Any]
) -> tuple[TaskSpec, Job]:
    """Validate an enqueue request and build its job."""
    spec = registry.get(name)
    if not (math.isfinite(delay_s) and 0.0 <= delay_s <= MAX_DELAY_S):
        msg = f"delay_s={delay_s!r} for task {name!r} must be between 0 and {MAX_DELAY_S} seconds"
        raise InvalidInput(msg)
    if key is not None and not key:
        raise InvalidInput(f"idempotency key for task {name!r} is empty; pass None or a key")
    job_id = job_id_for_key(key) if key is not None else "j-" + uuid.uuid4().hex
    return spec, Job(job_id=job_id, name=name, kwargs=json_roundtrip(kwargs), key=key)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed for good: what it was, why, and after how many attempts."""

    job_id: str
    name: str
    kwargs: dict[str, Any]
    key: str | None
    error: str
    attempts: int
    failed_at_utc: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the argument ``failed`` of an ``on_dead`` task)."""
        out = asdict(self)
        out["failed_at_utc"] = self.failed_at_utc.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeadLetter:
        return cls(
            job_id=str(data["job_id"]),
            name=str(data["name"]),
            kwargs=dict(data["kwargs"]),
            key=None if data.get("key") is None else str(data["key"]),
            error=str(data["error"]),
            attempts=int(data["attempts"]),
            failed_at_utc=datetime.fromisoformat(str(data["failed_at_utc"])),
        )


class Decision(StrEnum):
    DONE = "done"  # handler returned
    SKIPPED = "skipped"  # the key was already done
    BUSY = "busy"  # another copy holds the lease: try again after ``delay_s``
    RETRY = "retry"  # handler failed: try again after ``delay_s``
    DEAD = "dead"  # handler failed for good: a dead letter was recorded


@dataclass(frozen=True, slots=True)
class Attempt:
    decision: Decision
    delay_s: float = 0.0
    next_job: Job | None = None
    dead: DeadLetter | None = None
    on_dead: str | None = None

    def follow_up(self) -> tuple[str, str, dict[str, Any]] | None:
        """The ``on_dead`` job to enqueue (task, idempotency key, kwargs), if any."""
        if self.dead is None or self.on_dead is None:
            return None
        return self.on_dead, f"dead:{self.dead.job_id}", {"failed": self.dead.to_dict()}


class KeyStore(Protocol):
    """Where idempotency marks and dead letters live (memory or Redis)."""

    def is_done(self, job_id: str) -> bool: ...
    def acquire(self, job_id: str, token: str, lease_s: float) -> float | None:
        """In one atomic step: if the job is done return ``DONE_MARK``; else take the lease and
        return None, or return the seconds another holder keeps it."""
        ...

    def finish(self, job_id: str, token: str) -> None:
        """Mark done (for the dedup window) and release the lease."""
        ...

    def release(self, job_id: str, token: str) -> None: ...
    def add_dead(self, letter: DeadLetter) -> None: ...


def dead_letter_not_found(job_id: str) -> NotFound:
    msg = f"no dead letter for job {job_id!r}; dead_letters() lists the ones there are"
    return NotFound(msg)


def revive(letter: DeadLetter) -> Job:
    """The job of a dead letter, with a fresh retry budget."""
    return Job(job_id=letter.job_id, name=letter.name, kwargs=letter.kwargs, key=letter.key)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:2000]


def run_attempt(
    registry: TaskRegistry,
    store: KeyStore,
    job: Job,
    *,
    lease_s: float,
    now: Callable[[], datetime],
) -> Attempt:
    """Run one attempt of ``job`` under its lease, and decide what happens next.

    The done mark is written only after the handler returns, so a handler that crashed (or whose
    process was killed) half-way is run again; a copy of a job that already finished is skipped.
    """
    token = uuid.uuid4().hex
    held_s = store.acquire(job.job_id, token, lease_s)
    if held_s == DONE_MARK:
        return Attempt(Decision.SKIPPED)
    if held_s is not None:
        # Poll rather than wait out the whole lease: the holder usually finishes soon.
        return Attempt(Decision.BUSY, delay_s=min(max(held_s, 0.05), BUSY_POLL_S))
    try:
        spec = registry.get(job.name)
        spec.fn(**job.kwargs)
    except Exception as exc:  # noqa: BLE001 - any handler error becomes a retry or a dead letter
        store.release(job.job_id, token)
        failures = job.failures + 1
        policy = registry.get(job.name).retry if job.name in registry.names() else RetryPolicy()
        final = isinstance(exc, policy.give_up_on) or failures > policy.max_retries
        if final:
            letter = DeadLetter(
                job_id=job.job_id,
                name=job.name,
                kwargs=job.kwargs,
                key=job.key,
                error=_describe(exc),
                attempts=failures,
                failed_at_utc=now(),
            )
            store.add_dead(letter)
            _log.warning(
                "job %s of task %r failed for good after %d attempt(s): %s",
                job.job_id,
                job.name,
                failures,
                letter.error,
            )
            return Attempt(Decision.DEAD, dead=letter, on_dead=policy.on_dead)
        nxt = Job(job.job_id, job.name, job.kwargs, job.key, failures, _describe(exc))
        return Attempt(Decision.RETRY, delay_s=policy.backoff_s(failures), next_job=nxt)
    store.finish(job.job_id, token)
    return Attempt(Decision.DONE)


def due_schedules(
    registry: TaskRegistry, fired: dict[str, int], now_ts: float
) -> list[tuple[Schedule, str]]:
    """Schedules whose current slot has not been fired by this process yet, with the slot's
    idempotency key (which stops other processes firing the same slot twice)."""
    out: list[tuple[Schedule, str]] = []
    for sched in registry.schedules():
        slot = sched.slot(now_ts)
        last = fired.get(sched.name)
        if last is None or slot > last:
            fired[sched.name] = slot
            out.append((sched, sched.key(slot)))
    return out


class JobRunner(Protocol):
    """What the rest of silkguard sees: both runners implement it."""

    registry: TaskRegistry

    def register(
        self, name: str, fn: TaskFn, *, queue: str = "default", retry: RetryPolicy | None = None
    ) -> TaskSpec: ...
    def enqueue(
        self, name: str, *, key: str | None = None, delay_s: float = 0.0, **kwargs: Any
    ) -> str: ...
    def enqueue_many(
        self,
        name: str,
        items: Iterable[tuple[str | None, Mapping[str, Any]]],
        *,
        delay_s: float = 0.0,
    ) -> list[str]: ...
    def schedule(self, name: str, every_s: float, **kwargs: Any) -> Schedule: ...
    def run_due(self, now: datetime | None = None) -> list[str]: ...
    def start_scheduler(self, interval_s: float = 1.0) -> None: ...
    def dead_letters(self) -> list[DeadLetter]: ...
    def requeue_dead(self, job_id: str) -> str: ...
    def pending(self) -> int: ...
    def drain(self, timeout_s: float = 30.0) -> None: ...
    def close(self) -> None: ...
