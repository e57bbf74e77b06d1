"""From raising an alert to the last webhook delivered, for 10,000 affected people (issue 7).

The issue's goal: "Time from alert creation to the last webhook delivered for 10,000 affected
people with the local receiver: under 10 s."

Setup (not timed): a fresh database (a SQLite file, and PostgreSQL when ``--postgres`` is
given) with one organisation, 10,000 people inside a 25 km circle (location consent, a
webhook as their only channel, a latest position inside the circle) and 5,000 outside it,
written with bulk inserts; the verifying receiver of :mod:`benchmarks.webhook_delivery` in
its own process.

Timed, from ``t0`` to the wall-clock time of the last verified request the receiver counted:
the production path of ``POST /api/v1/alerts``: :func:`silkguard.alerts.service.raise_alert`
(fan-out, roll-call rows, queued deliveries) and its commit, then the ``alerts.dispatch`` job
on the deployment's runner (:func:`silkguard.worker.tasks.start` with the settings' webhook
channel), which queues one ``alerts.deliver`` job per delivery. Runners: the in-process
runner (the embedded default) and Dramatiq on the local Redis with a worker in this process.

Checked after each run: every person's key arrived verified exactly once (duplicates and bad
signatures are counted and reported), every delivery row is ``delivered``, the roll-call has
10,000 recipients. Peer in the same run: the raw delivery figure (``WebhookChannel`` from
threads, the same 10,000 signed bodies, no database). Results go to
``benchmarks/results/alert_end_to_end.json``.
"""

from __future__ import annotations

import json
import math
import platform
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from benchmarks import webhook_delivery
from silkguard.alerts import service as alerts
from silkguard.alerts.models import AlertRecipient, Delivery
from silkguard.auth import service as auth_service
from silkguard.core.clock import utcnow
from silkguard.core.db import analyze, make_engine, make_session_factory
from silkguard.core.settings import Settings
from silkguard.geo.cells import cells_for_arrays
from silkguard.migrations import upgrade
from silkguard.people.models import LatestPosition, Person
from silkguard.worker import tasks as worker_tasks

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
GOAL_S = 10.0
PEOPLE = 10_000
OUTSIDE = 5_000
CENTRE = (24.8607, 67.0011)  # Karachi (lat, lon)
RADIUS_KM = 25.0
KM_PER_DEGREE = 111.32
REDIS_URL = "redis://127.0.0.1:6379/0"
WAIT_S = 300.0
DRAMATIQ_THREADS = 8


@dataclass
class World:
    engine: Engine
    factory: sessionmaker[Session]
    org_id: uuid.UUID
    url: str


def _points(rng: np.random.Generator, n: int, low_km: float, high_km: float) -> np.ndarray:
    """``n`` (lat, lon) points between ``low_km`` and ``high_km`` of the centre (flat-earth
    offsets; well inside or outside the circle, never near its edge)."""
    r = np.sqrt(rng.uniform(low_km**2, high_km**2, n))
    bearing = rng.uniform(0, 2 * math.pi, n)
    lat = CENTRE[0] + r * np.cos(bearing) / KM_PER_DEGREE
    lon = CENTRE[1] + r * np.sin(bearing) / (KM_PER_DEGREE * math.cos(math.radians(CENTRE[0])))
    return np.column_stack([lat, lon])


def seed(url: str, hook_url: str) -> World:
    """One organisation, PEOPLE inside the circle and OUTSIDE beyond it (bulk inserts)."""
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    rng = np.random.default_rng(7)
    points = np.vstack([_points(rng, PEOPLE, 0, 20), _points(rng, OUTSIDE, 40, 120)])
    cells = cells_for_arrays(points[:, 0], points[:, 1], 7)
    now = utcnow()
    with factory() as session:
        org = auth_service.create_org(session, slug=f"e2e-{secrets.token_hex(3)}", name="E2E")
        session.flush()
        ids = [uuid.uuid4() for _ in range(len(points))]
        people = [
            {
                "id": pid,
                "org_id": org.id,
                "ref": f"p{k}",
                "name": f"Person {k}",
                "function": "",
                "webhook_url": hook_url,
                "languages": ["zh", "en"] if k % 2 else ["en"],
                "channels": ["webhook"],
                "location_consent": True,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for k, pid in enumerate(ids)
        ]
        latest = [
            {
                "person_id": pid,
                "org_id": org.id,
                "at": now,
                "latitude": float(lat),
                "longitude": float(lon),
                "accuracy_m": 10.0,
                "h3_r7": int(cell),
            }
            for pid, (lat, lon), cell in zip(ids, points, cells, strict=True)
        ]
        for start in range(0, len(people), 5_000):
            session.execute(insert(Person), people[start : start + 5_000])
            session.execute(insert(LatestPosition), latest[start : start + 5_000])
        session.commit()
    # Planner statistics of the people, as autovacuum keeps them on a database in service; the
    # alert's own tables start empty, as on the first alert of a deployment.
    analyze(engine)
    return World(engine=engine, factory=factory, org_id=org.id, url=url)


def _wait_for(base: str, expected: int, deadline: float) -> dict[str, Any]:
    while True:
        counts = webhook_delivery._control(base, "GET", "/count")
        if counts["distinct"] >= expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.02)


def end_to_end(world: World, base: str, runner: str) -> dict[str, Any]:
    """Raise one alert over the circle the way the API does and time it to the last webhook."""
    webhook_delivery._control(base, "POST", "/reset")
    settings = Settings(
        database_url=world.url,
        webhook_secret=webhook_delivery.SECRET,
        jobs_url=REDIS_URL if runner == "dramatiq" else "",
    )
    options: dict[str, Any] = (
        {"namespace": f"silkguard-bench-{secrets.token_hex(4)}"} if runner == "dramatiq" else {}
    )
    deployment = worker_tasks.start(settings, factory=world.factory, **options)
    jobs = deployment.jobs
    if runner == "dramatiq":
        jobs.start_worker(threads=DRAMATIQ_THREADS)  # type: ignore[attr-defined]
    try:
        t0 = time.time()
        start = time.monotonic()
        with world.factory() as session:
            alert = alerts.raise_alert(
                session,
                principal=None,
                org_id=world.org_id,
                area={"type": "Circle", "center": [CENTRE[1], CENTRE[0]], "radius_km": RADIUS_KM},
                severity="high",
                category="security",
                messages={
                    "en": {
                        "headline": "Shelter in place",
                        "body": "Stay indoors, away from windows.",
                    },
                    "zh": {"headline": "就地避险", "body": "请留在室内，远离窗户。"},  # noqa: RUF001
                },
                secret=settings.secret_key,
                valid_for=timedelta(hours=1),
            )
            session.commit()
            alert_id = alert.id
        committed = time.monotonic() - start
        jobs.enqueue("alerts.dispatch", alert_id=str(alert_id))
        counts = _wait_for(base, PEOPLE, start + WAIT_S)
        jobs.drain(WAIT_S)
    finally:
        jobs.close()
    seconds = counts["last"] - t0 if counts["last"] else math.inf
    with world.factory() as session:
        states = dict(
            session.execute(
                select(Delivery.state, func.count())
                .where(Delivery.alert_id == alert_id)
                .group_by(Delivery.state)
            ).all()
        )
        recipients = session.scalar(select(func.count()).where(AlertRecipient.alert_id == alert_id))
    row = {
        "runner": runner,
        "database": world.url.split(":", 1)[0],
        "seconds": round(seconds, 3),
        "raise_and_commit_s": round(committed, 3),
        "recipients": recipients,
        "received_distinct": counts["distinct"],
        "received_total": counts["total"],
        "duplicates": counts["duplicates"],
        "bad_signatures": counts["bad"],
        "delivery_states": {str(k): int(v) for k, v in states.items()},
    }
    exact = (
        recipients == PEOPLE
        and counts["distinct"] == PEOPLE
        and counts["duplicates"] == 0
        and counts["bad"] == 0
        and states == {"delivered": PEOPLE}
    )
    row["exactly_once"] = exact
    if not exact:
        msg = f"end to end ({runner}): not every person got one verified webhook: {row}"
        raise RuntimeError(msg)
    return row


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL).ping())
    except redis.RedisError:
        return False


@contextmanager
def _scratch_postgres(postgres: str) -> Iterator[str]:
    """A database of its own on the server of ``postgres``, dropped afterwards."""
    name = f"sg_bench_{secrets.token_hex(4)}"
    admin = create_engine(
        make_url(postgres).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(postgres: str | None = None, *, dramatiq: bool = True) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        base = stack.enter_context(webhook_delivery.receiver())
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        hook = f"{base}/hook"
        peer = webhook_delivery.raw_delivery(base, PEOPLE)
        worlds = [seed(f"sqlite:///{Path(tmp) / 'e2e.db'}", hook)]
        if postgres:
            worlds.append(seed(stack.enter_context(_scratch_postgres(postgres)), hook))
        runners = ["inprocess"] + (["dramatiq"] if dramatiq and _redis_available() else [])
        for world in worlds:
            for runner in runners:
                rows.append(end_to_end(world, base, runner))
            world.engine.dispose()
    print(
        f"Alert end to end: {PEOPLE} affected people ({OUTSIDE} outside), one webhook each, "
        "raise -> last verified webhook received"
    )
    print(
        f"  peer: raw WebhookChannel, {webhook_delivery.THREADS} threads: {peer['seconds']:.2f} s"
    )
    for row in rows:
        ratio = row["seconds"] / peer["seconds"]
        print(
            f"  {row['database']:<10} {row['runner']:<9} {row['seconds']:>7.2f} s "
            f"(raise+commit {row['raise_and_commit_s']:.2f} s)  x{ratio:.2f} of raw delivery, "
            f"duplicates {row['duplicates']}"
        )
    result: dict[str, Any] = {
        "benchmark": "alert_end_to_end",
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "people_affected": PEOPLE,
        "people_outside": OUTSIDE,
        "goal_s": GOAL_S,
        "met": {f"{r['database']}/{r['runner']}": r["seconds"] < GOAL_S for r in rows},
        "peer_raw_delivery": peer,
        "runs": rows,
    }
    out = RESULTS / "alert_end_to_end.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"met: {result['met']}\nwritten to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    import sys

    run(sys.argv[1] if len(sys.argv) > 1 else None)
