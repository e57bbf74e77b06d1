"""Jobs and schedules of one deployment. :func:`start` builds a runner whose tasks are bound to
that deployment's settings, database and channels (the API process does this for the
embedded default; ``silkguard jobs worker`` does it for Dramatiq), so two deployments in one
process never run each other's jobs.

Every job is safe to run twice: deliveries are keyed by (alert, person, channel, purpose) in
the database and only a queued delivery is sent; the periodic checks act on state (overdue
once, reminders counted per person, timers fired once, purge by age)."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from silkguard.alerts import service as alerts
from silkguard.alerts.dispatch import as_sender, build_channels
from silkguard.alerts.overdue import install as install_overdue_alerts
from silkguard.alerts.service import Sender, SendResult
from silkguard.core.clock import utcnow
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.errors import SilkguardError
from silkguard.core.settings import Settings
from silkguard.jobs import JobRunner, RetryPolicy, TaskRegistry, make_runner
from silkguard.journeys import service as movements
from silkguard.people.positions import purge_positions
from silkguard.sharing import pull as taxii_pull

__all__ = ["SCHEDULES", "Deployment", "registry_for", "start"]

#: (task, every seconds): the periodic work of a deployment
SCHEDULES: tuple[tuple[str, float], ...] = (
    ("movements.overdue", 60.0),
    ("movements.check_ins", 60.0),
    ("alerts.remind", 60.0),
    ("alerts.escorts", 30.0),
    ("positions.purge", 86_400.0),
    ("sharing.pull", 60.0),
)
OVERDUE_GRACE = timedelta(minutes=30)
#: Deliveries per job: one transaction and a few queries per batch instead of per delivery.
DELIVERY_BATCH = 100
#: Messages of one batch sent at the same time (each thread keeps its connections alive).
SEND_THREADS = 16
_log = logging.getLogger(__name__)


@dataclass
class Deployment:
    """What the jobs of one deployment work with."""

    settings: Settings
    factory: sessionmaker[Session]
    senders: dict[str, Sender]
    runner: JobRunner | None = None
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def jobs(self) -> JobRunner:
        """The runner (set by :func:`start`)."""
        if self.runner is None:
            msg = "this deployment has no job runner yet; build it with worker.tasks.start"
            raise RuntimeError(msg)
        return self.runner

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        """Queue the deliveries in jobs of DELIVERY_BATCH, each keyed by its deliveries' own
        keys (so the same batch runs once; a delivery in two batches is still sent once, as
        only a queued delivery is sent)."""
        if not delivery_ids or self.runner is None:
            return
        with self.factory() as session:
            keys = alerts.delivery_keys(session, delivery_ids)
        known = sorted(d for d in set(delivery_ids) if d in keys)
        batches = [known[i : i + DELIVERY_BATCH] for i in range(0, len(known), DELIVERY_BATCH)]
        self.runner.enqueue_many(
            "alerts.deliver_batch",
            [(_batch_key(keys, batch), {"delivery_ids": batch}) for batch in batches],
        )

    def _send_many(self, work: Sequence[tuple[Sender, alerts.Outbound]]) -> list[SendResult]:
        """Send a batch's messages on the deployment's sender threads. A sender that raises
        counts as a failed send (the person's next channel is tried), so one broken message
        cannot make the batch's other, already sent, messages go out again."""
        if len(work) <= 1:
            return [_send_one(item) for item in work]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="silkguard-send")
            pool = self._pool
        return list(pool.map(_send_one, work))

    def close(self) -> None:
        """Stop the runner and the sender threads."""
        if self.runner is not None:
            self.runner.close()
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    # -- the jobs ------------------------------------------------------------------------------

    def deliver(self, *, delivery_id: int) -> None:
        """One delivery (jobs queued by earlier versions, one per delivery)."""
        self.deliver_batch(delivery_ids=[delivery_id])

    def deliver_batch(self, *, delivery_ids: list[int]) -> None:
        with session_scope(self.factory) as session:
            follow = alerts.deliver_many(
                session,
                delivery_ids=delivery_ids,
                senders=self.senders,
                secret=self.settings.secret_key,
                base_url=self.settings.public_base_url,
                send_many=self._send_many,
            )
        self.enqueue_deliveries(follow)

    def dispatch(self, *, alert_id: str | None = None) -> None:
        """Queue every delivery still waiting (of one alert, or all)."""
        with self.factory() as session:
            ids = alerts.queued_deliveries(
                session, alert_id=None if alert_id is None else uuid.UUID(alert_id)
            )
        self.enqueue_deliveries(ids)

    def remind(self) -> None:
        with session_scope(self.factory) as session:
            made = alerts.remind(session, now=utcnow())
        self.enqueue_deliveries(made)

    def escorts(self) -> None:
        with session_scope(self.factory) as session:
            alerts.fire_due_escorts(session, secret=self.settings.secret_key, now=utcnow())
        self.dispatch()

    def overdue(self) -> None:
        with session_scope(self.factory) as session:
            movements.detect_overdue(session, now=utcnow(), grace=OVERDUE_GRACE)
        self.dispatch()

    def check_ins(self) -> None:
        with session_scope(self.factory) as session:
            movements.auto_check_ins(session, now=utcnow())

    def purge(self) -> None:
        with session_scope(self.factory) as session:
            purge_positions(session, now=utcnow())

    def pull_feeds(self) -> None:
        """Pull every TAXII subscription that is due, each in its own unit of work; one
        partner's failing server does not hold up the others."""
        with self.factory() as session:
            due = taxii_pull.due_subscriptions(session, now=utcnow())
        for subscription_id in due:
            try:
                taxii_pull.pull_and_record(
                    self.factory,
                    subscription_id,
                    secret_key=self.settings.secret_key,
                    now=utcnow(),
                )
            except SilkguardError as exc:
                _log.warning("TAXII pull %s failed: %s", subscription_id, exc.msg)


def _batch_key(keys: dict[int, str], batch: Sequence[int]) -> str:
    digest = hashlib.sha256("\n".join(keys[d] for d in batch).encode()).hexdigest()[:32]
    return f"deliveries:{digest}"


def _send_one(item: tuple[Sender, alerts.Outbound]) -> SendResult:
    sender, message = item
    try:
        return sender(message)
    except Exception as exc:  # noqa: BLE001 - recorded on the delivery, never lost
        _log.exception("sending %s failed", message.key)
        return SendResult(state="failed", error=f"{type(exc).__name__}: {exc}"[:500])


def registry_for(deployment: Deployment) -> TaskRegistry:
    """The deployment's tasks and schedules, bound to it."""
    registry = TaskRegistry()
    registry.register("alerts.deliver", deployment.deliver, retry=RetryPolicy(max_retries=3))
    registry.register(
        "alerts.deliver_batch", deployment.deliver_batch, retry=RetryPolicy(max_retries=3)
    )
    registry.register("alerts.dispatch", deployment.dispatch)
    registry.register("alerts.remind", deployment.remind)
    registry.register("alerts.escorts", deployment.escorts)
    registry.register("movements.overdue", deployment.overdue)
    registry.register("movements.check_ins", deployment.check_ins)
    registry.register("positions.purge", deployment.purge)
    registry.register("sharing.pull", deployment.pull_feeds)
    for name, every in SCHEDULES:
        registry.add_schedule(name, every, {})
    return registry


def start(
    settings: Settings,
    *,
    factory: sessionmaker[Session] | None = None,
    senders: dict[str, Sender] | None = None,
    **runner_options: Any,
) -> Deployment:
    """Build the deployment's runner (in-process, or Dramatiq when ``settings.jobs_url`` is
    set) with its tasks; overdue movements raise alerts from now on."""
    deployment = Deployment(
        settings=settings,
        factory=factory or make_session_factory(make_engine(settings.database_url)),
        senders=senders
        if senders is not None
        else {k: as_sender(c) for k, c in build_channels(settings).items()},
    )
    deployment.runner = make_runner(settings, registry=registry_for(deployment), **runner_options)
    install_overdue_alerts(settings.secret_key)
    return deployment
