"""Jobs and schedules of one deployment. :func:`start` builds a runner whose tasks are bound to
that deployment's settings, database and channels (the API process does this for the
embedded default; ``silkguard jobs worker`` does it for Dramatiq), so two deployments in one
process never run each other's jobs.

Every job is safe to run twice: deliveries are keyed by (alert, person, channel, purpose) in
the database and only a queued delivery is sent; the periodic checks act on state (overdue
once, reminders counted per person, timers fired once, purge by age)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from silkguard.alerts import service as alerts
from silkguard.alerts.dispatch import as_sender, build_channels
from silkguard.alerts.overdue import install as install_overdue_alerts
from silkguard.alerts.service import Sender
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
_log = logging.getLogger(__name__)


@dataclass
class Deployment:
    """What the jobs of one deployment work with."""

    settings: Settings
    factory: sessionmaker[Session]
    senders: dict[str, Sender]
    runner: JobRunner | None = None

    @property
    def jobs(self) -> JobRunner:
        """The runner (set by :func:`start`)."""
        if self.runner is None:
            msg = "this deployment has no job runner yet; build it with worker.tasks.start"
            raise RuntimeError(msg)
        return self.runner

    def enqueue_deliveries(self, delivery_ids: Sequence[int]) -> None:
        """Queue one job per delivery, keyed by the delivery's own key (so it runs once)."""
        if not delivery_ids or self.runner is None:
            return
        with self.factory() as session:
            keys = alerts.delivery_keys(session, delivery_ids)
        self.runner.enqueue_many(
            "alerts.deliver",
            [(f"delivery:{keys[d]}", {"delivery_id": d}) for d in delivery_ids if d in keys],
        )

    # -- the jobs ------------------------------------------------------------------------------

    def deliver(self, *, delivery_id: int) -> None:
        with session_scope(self.factory) as session:
            follow = alerts.deliver(
                session,
                delivery_id=delivery_id,
                senders=self.senders,
                secret=self.settings.secret_key,
                base_url=self.settings.public_base_url,
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


def registry_for(deployment: Deployment) -> TaskRegistry:
    """The deployment's tasks and schedules, bound to it."""
    registry = TaskRegistry()
    registry.register("alerts.deliver", deployment.deliver, retry=RetryPolicy(max_retries=3))
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
