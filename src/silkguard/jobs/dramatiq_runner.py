"""The same interface on Dramatiq with a Redis broker, for deployments with worker processes.

Dramatiq delivers each message at least once: a message is acknowledged only after its
handler returns, and the messages of a worker that stops sending heartbeats are put back on
the queue. On top of that, this runner keeps two Redis keys per job id (derived from the
idempotency key when one is given):

* ``<ns>:sg:lease:<id>``, taken with ``SET NX PX`` while a handler runs, so two copies of one
  job never run at the same time (a second copy polls until the lease ends);
* ``<ns>:sg:done:<id>``, written with an expiry of the dedup window only *after* the handler
  returned; copies that find it are acknowledged without running.

Retries are ours, not Dramatiq's ``Retries`` middleware: a failed attempt enqueues the next
attempt (delayed by the backoff) before the failed message is acknowledged, so a crash between
the two leaves a duplicate (skipped or serialised by the keys above), never a loss. Failures
beyond the retry budget are stored as dead letters in ``<ns>:sg:dead``.
"""

from __future__ import annotations

import importlib
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

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

__all__ = [
    "ACTOR_NAME",
    "DEFAULT_NAMESPACE",
    "DEFAULT_REDIS_URL",
    "DramatiqRunner",
    "RedisKeyStore",
    "run_worker",
]

_log = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_NAMESPACE = "silkguard"
ACTOR_NAME = "silkguard_job"
# Dramatiq's default: a worker silent this long is presumed dead and its messages re-queued.
DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000
# Out of a million broker commands, this many also run queue maintenance (Dramatiq's default).
DEFAULT_MAINTENANCE_CHANCE = 1000
# A message whose attempt failed on Redis itself comes back after 0.5 s, doubling to a minute,
# for about a week.
_INFRA_MIN_BACKOFF_MS = 500
_INFRA_MAX_BACKOFF_MS = 60_000
_INFRA_MAX_RETRIES = 10_000
# Messages per pipelined round trip in enqueue_many.
_BATCH = 1000

# Refuse when done, else take the lease: 1 when taken, 0 when done, else the holder's ms left.
_ACQUIRE_LUA = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return -(math.max(redis.call('pttl', KEYS[2]), 50))
"""
# Mark done and drop our own lease in one step.
_FINISH_LUA = """
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('get', KEYS[2]) == ARGV[1] then redis.call('del', KEYS[2]) end
return 1
"""
_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisKeyStore:
    """Done marks, leases and dead letters in Redis, under ``<namespace>:sg:``."""

    def __init__(
        self, client: redis.Redis, namespace: str, dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S
    ) -> None:
        self.client = client
        self.prefix = f"{namespace}:sg:"
        self.dedup_window_s = int(dedup_window_s)
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._finish = client.register_script(_FINISH_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def _done(self, job_id: str) -> str:
        return f"{self.prefix}done:{job_id}"

    def _lease(self, job_id: str) -> str:
        return f"{self.prefix}lease:{job_id}"

    def is_done(self, job_id: str) -> bool:
        return bool(self.client.exists(self._done(job_id)))

    def done_among(self, job_ids: list[str]) -> set[str]:
        """The ids of ``job_ids`` that are done, in one round trip."""
        if not job_ids:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self._done(job_id))
        return {job_id for job_id, hit in zip(job_ids, pipe.execute(), strict=True) if hit}

    def acquire(self, job_id: str, token: str, lease_s: float) -> float | None:
        lease_ms = max(int(lease_s * 1000), 1)
        got = int(
            self._acquire(keys=[self._done(job_id), self._lease(job_id)], args=[token, lease_ms])
        )
        if got == 1:
            return None
        if got == 0:
            return DONE_MARK
        return -got / 1000

    def finish(self, job_id: str, token: str) -> None:
        self._finish(
            keys=[self._done(job_id), self._lease(job_id)], args=[token, self.dedup_window_s]
        )

    def release(self, job_id: str, token: str) -> None:
        self._release(keys=[self._lease(job_id)], args=[token])

    def add_dead(self, letter: DeadLetter) -> None:
        # A hash keyed by job id: recording the same failure twice (a crash before the ack)
        # keeps one letter.
        self.client.hset(f"{self.prefix}dead", letter.job_id, json.dumps(letter.to_dict()))

    def get_dead(self, job_id: str) -> DeadLetter | None:
        raw = self.client.hget(f"{self.prefix}dead", job_id)
        return None if raw is None else DeadLetter.from_dict(json.loads(raw))

    def forget_dead(self, job_id: str) -> None:
        self.client.hdel(f"{self.prefix}dead", job_id)

    def dead_letters(self) -> list[DeadLetter]:
        raw: list[bytes] = self.client.hvals(f"{self.prefix}dead")  # type: ignore[assignment]
        letters = [DeadLetter.from_dict(json.loads(item)) for item in raw]
        return sorted(letters, key=lambda d: (d.failed_at_utc, d.job_id))


class DramatiqRunner:
    """Jobs go to Redis through Dramatiq; :meth:`start_worker` (or :func:`run_worker` in a
    separate process) runs them. ``namespace`` prefixes every Redis key this runner uses."""

    def __init__(
        self,
        url: str | None = None,
        *,
        registry: TaskRegistry | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        lease_s: float = DEFAULT_LEASE_S,
        dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S,
        heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS,
        maintenance_chance: int = DEFAULT_MAINTENANCE_CHANCE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.url = url or DEFAULT_REDIS_URL
        self.registry = registry if registry is not None else default_registry
        self.namespace = namespace
        self.lease_s = lease_s
        self._clock = clock
        self.client = redis.Redis.from_url(self.url)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            msg = (
                f"cannot reach the job broker at {self.url} ({exc}); start Redis there, fix "
                "SILKGUARD_JOBS_URL, or unset it to use the in-process runner"
            )
            raise ServiceUnavailable(msg) from exc
        self.store = RedisKeyStore(self.client, namespace, dedup_window_s)
        # Handler failures are retried and dead-lettered by run_attempt. Dramatiq's Retries only
        # sees what escapes it, a Redis error on our keys: without it Dramatiq would acknowledge
        # such a message and lose the job, with it the message comes back after a backoff.
        infra_retries = Retries(
            max_retries=_INFRA_MAX_RETRIES,
            min_backoff=_INFRA_MIN_BACKOFF_MS,
            max_backoff=_INFRA_MAX_BACKOFF_MS,
        )
        self.broker = RedisBroker(  # type: ignore[no-untyped-call]
            client=self.client,
            namespace=namespace,
            middleware=[infra_retries],
            heartbeat_timeout=heartbeat_timeout_ms,
            maintenance_chance=maintenance_chance,
        )
        dramatiq.Actor(
            self._process,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name="default",
            priority=0,
            options={},
        )
        self._fired: dict[str, int] = {}
        self._lock = threading.Lock()
        self._worker: dramatiq.Worker | None = None
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    # -- the interface ---------------------------------------------------------------------

    def register(
        self, name: str, fn: TaskFn, *, queue: str = "default", retry: RetryPolicy | None = None
    ) -> TaskSpec:
        spec = self.registry.register(name, fn, queue=queue, retry=retry)
        self.broker.declare_queue(spec.queue)
        return spec

    def enqueue(
        self, name: str, *, key: str | None = None, delay_s: float = 0.0, **kwargs: Any
    ) -> str:
        spec, job = new_job(self.registry, name, key, delay_s, kwargs)
        if key is not None and self.store.is_done(job.job_id):
            return job.job_id
        self._send(spec.queue, job, delay_s)
        return job.job_id

    def enqueue_many(
        self,
        name: str,
        items: Iterable[tuple[str | None, Mapping[str, Any]]],
        *,
        delay_s: float = 0.0,
    ) -> list[str]:
        """Enqueue ``(key, kwargs)`` pairs of one task in pipelined batches (a fan-out): a few
        Redis round trips per thousand jobs instead of one per job. All pairs are validated
        before any is queued; keys already done, and repeats within the call, are not sent."""
        built = [new_job(self.registry, name, key, delay_s, kwargs) for key, kwargs in items]
        if not built:
            return []
        queue = built[0][0].queue
        self.broker.declare_queue(queue)
        ids = [job.job_id for _, job in built]
        done = self.store.done_among([job.job_id for _, job in built if job.key is not None])
        todo: dict[str, Job] = {}
        for _, job in built:
            if job.job_id not in done and job.job_id not in todo:
                todo[job.job_id] = job
        jobs = list(todo.values())
        # Dramatiq computes a Lua stack limit on its first command; do it on the real client
        # so the pipelined broker below never needs an answer before execute().
        self.broker.do_qsize(queue)
        for start in range(0, len(jobs), _BATCH):
            pipe = self.client.pipeline(transaction=False)
            batch = RedisBroker(  # type: ignore[no-untyped-call]
                client=pipe,
                namespace=self.namespace,
                middleware=[],
                heartbeat_timeout=self.broker.heartbeat_timeout,
                maintenance_chance=0,
            )
            batch.broker_id = self.broker.broker_id
            for job in jobs[start : start + _BATCH]:
                delay_ms = int(delay_s * 1000)
                batch.enqueue(self._message(queue, job), delay=delay_ms if delay_ms > 0 else None)
            pipe.execute()
        return ids

    def schedule(self, name: str, every_s: float, **kwargs: Any) -> Schedule:
        return self.registry.add_schedule(name, every_s, kwargs)

    def run_due(self, now: datetime | None = None) -> list[str]:
        now_ts = (now or self._clock()).timestamp()
        with self._lock:
            due = due_schedules(self.registry, self._fired, now_ts)
        return [self.enqueue(s.name, key=key, **s.kwargs) for s, key in due]

    def dead_letters(self) -> list[DeadLetter]:
        return self.store.dead_letters()

    def requeue_dead(self, job_id: str) -> str:
        """Run a dead job again with a fresh retry budget (after fixing what made it fail)."""
        letter = self.store.get_dead(job_id)
        if letter is None:
            raise dead_letter_not_found(job_id)
        # Send before forgetting: a crash in between leaves a letter for a job that will run,
        # never a job that vanished.
        self._send(self._queue_of(letter.name), revive(letter), 0.0)
        self.store.forget_dead(job_id)
        return job_id

    def pending(self) -> int:
        """Messages not yet acknowledged (queued, delayed or running) on this runner's queues."""
        total = 0
        for queue in self._queues():
            total += int(self.broker.do_qsize(queue))
        return total

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until no message is left on this runner's queues (delayed ones included).

        Needs a worker: :meth:`start_worker` here, or :func:`run_worker` in another process.
        """
        deadline = time.monotonic() + timeout_s
        while (left := self.pending()) > 0:
            if time.monotonic() > deadline:
                msg = (
                    f"{left} job message(s) still unfinished after {timeout_s:g} s on "
                    f"{self.url} (namespace {self.namespace!r}); is a worker running "
                    "(`silkguard jobs worker`)? look at dead_letters() and the worker logs"
                )
                raise ServiceUnavailable(msg)
            time.sleep(0.02)

    def start_worker(
        self, *, threads: int = 4, queues: Iterable[str] | None = None, poll_ms: int = 100
    ) -> dramatiq.Worker:
        """Start a Dramatiq worker on background threads of this process."""
        if self._worker is not None:
            return self._worker
        # Without a list the worker consumes every queue, including ones declared later.
        wanted = set(queues) if queues is not None else None
        for queue in wanted or self._queues():
            self.broker.declare_queue(queue)
        worker = dramatiq.Worker(
            self.broker, queues=wanted, worker_threads=threads, worker_timeout=poll_ms
        )
        worker.start()
        self._worker = worker
        return worker

    def start_scheduler(self, interval_s: float = 1.0) -> None:
        """Call :meth:`run_due` every ``interval_s`` seconds on a background thread. Several
        processes may do so: each slot's idempotency key makes the job run once."""
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
        """Stop the worker (its prefetched messages go back to Redis) and disconnect."""
        self._stop.set()
        if self._worker is not None:
            self._worker.stop(timeout=30_000)
            self._worker = None
        if self._scheduler is not None:
            self._scheduler.join(timeout=5)
        self.broker.close()
        self.client.close()

    def purge(self) -> int:
        """Delete every Redis key under this runner's namespace (tests, resets). Returns the
        number of keys deleted."""
        deleted = 0
        for key in self.client.scan_iter(match=f"{self.namespace}:*", count=500):
            deleted += int(self.client.delete(key))
        return deleted

    def __enter__(self) -> DramatiqRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _queues(self) -> set[str]:
        return self.registry.queues() | self.broker.get_declared_queues()

    @staticmethod
    def _message(queue: str, job: Job) -> dramatiq.Message[None]:
        return dramatiq.Message(
            queue_name=queue,
            actor_name=ACTOR_NAME,
            args=(),
            kwargs={"job": job.to_dict()},
            options={},
        )

    def _send(self, queue: str, job: Job, delay_s: float) -> None:
        self.broker.declare_queue(queue)
        message = self._message(queue, job)
        delay_ms = int(delay_s * 1000)
        self.broker.enqueue(message, delay=delay_ms if delay_ms > 0 else None)

    def _process(self, job: dict[str, Any]) -> None:
        current = Job.from_dict(job)
        attempt = run_attempt(
            self.registry, self.store, current, lease_s=self.lease_s, now=self._clock
        )
        if attempt.decision in (Decision.RETRY, Decision.BUSY):
            queue = self._queue_of(current.name)
            self._send(queue, attempt.next_job or current, attempt.delay_s)
        follow_up = attempt.follow_up()
        if follow_up is not None:
            name, key, kwargs = follow_up
            try:
                self.enqueue(name, key=key, **kwargs)
            except Exception:  # noqa: BLE001 - the dead letter is stored; the hook is extra
                _log.exception("could not enqueue on_dead task %r", name)

    def _queue_of(self, name: str) -> str:
        try:
            return self.registry.get(name).queue
        except Exception:  # noqa: BLE001 - unknown tasks end as dead letters, not here
            return "default"


def run_worker(
    url: str | None = None,
    queues: Iterable[str] | None = None,
    *,
    modules: Iterable[str] = (),
    threads: int = 8,
    namespace: str = DEFAULT_NAMESPACE,
    registry: TaskRegistry | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT_MS,
    maintenance_chance: int = DEFAULT_MAINTENANCE_CHANCE,
    scheduler: bool = True,
    stop: threading.Event | None = None,
) -> None:
    """Run a worker in this process until SIGINT / SIGTERM (or ``stop`` is set).

    ``modules`` are imported first so their ``@task`` registrations (and schedules) exist;
    ``queues`` limits the queues consumed (default: every queue of the registry).
    """
    for module in modules:
        importlib.import_module(module)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    runner = DramatiqRunner(
        url,
        registry=registry,
        namespace=namespace,
        lease_s=lease_s,
        heartbeat_timeout_ms=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
    )
    try:
        runner.start_worker(threads=threads, queues=queues)
        if scheduler:
            runner.start_scheduler()
        _log.info("job worker running on %s (namespace %r)", runner.url, namespace)
        stop.wait()
    finally:
        runner.close()
