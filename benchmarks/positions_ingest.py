"""Position ingest throughput (issue 7): positions per second through
:func:`silkguard.people.positions.ingest_positions` (validation, consent, de-duplication,
append-only insert and the latest-position upsert) in batches, into SQLite and PostgreSQL,
against the same rows written by a bare SQLAlchemy Core ``executemany`` insert (no checks, no
latest position) in the same run. Goal: 20,000/s into PostgreSQL on this 2-core machine.

Results are printed and written to ``benchmarks/results/positions_ingest.json``."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from silkguard.auth import service as auth_service
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.db import make_engine, make_session_factory
from silkguard.migrations import upgrade
from silkguard.people import personnel
from silkguard.people.models import Person, Position
from silkguard.people.positions import PositionIn, ingest_positions

RESULTS = Path(__file__).parent / "results" / "positions_ingest.json"
PEOPLE = 2_000
BATCH = 5_000
BATCHES = 20


def _setup(url: str) -> tuple[Any, uuid.UUID, list[str]]:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        org = auth_service.create_org(session, slug=f"bench-{secrets.token_hex(3)}", name="Bench")
        session.flush()
        who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
        devices = []
        for k in range(PEOPLE):
            personnel.create_person(
                session,
                principal=who,
                ref=f"b{k}",
                name=f"Person {k}",
                device_id=f"dev-{k}",
                location_consent=True,
            )
            devices.append(f"dev-{k}")
        session.commit()
        return factory, org.id, devices


def _batches(devices: list[str], start_offset_s: int) -> list[list[PositionIn]]:
    now = utcnow()
    out = []
    for b in range(BATCHES):
        batch = []
        for i in range(BATCH):
            n = b * BATCH + i
            batch.append(
                PositionIn(
                    person=devices[n % len(devices)],
                    at=now - timedelta(seconds=start_offset_s + n),
                    lat=30.0 + (n % 997) / 1000,
                    lon=70.0 + (n % 991) / 1000,
                    accuracy_m=10.0,
                )
            )
        out.append(batch)
    return out


def _measure(label: str, url: str) -> dict[str, Any]:
    factory, org_id, devices = _setup(url)
    batches = _batches(devices, 0)
    t0 = time.perf_counter()
    stored = 0
    for batch in batches:
        with factory() as session:
            report = ingest_positions(session, org_id=org_id, items=batch, source="http")
            session.commit()
            stored += report.accepted
    ours = time.perf_counter() - t0
    # the peer: the same number of rows, bare executemany, no checks, no latest upsert
    with factory() as session:
        found = session.execute(
            select(Person.device_id, Person.id).where(Person.org_id == org_id)
        ).all()
        ids = {str(device): pid for device, pid in found}
    rows_batches = [
        [
            {
                "org_id": org_id,
                "person_id": ids[p.person],
                "at": p.at - timedelta(days=1),
                "received_at": utcnow(),
                "latitude": p.lat,
                "longitude": p.lon,
                "accuracy_m": p.accuracy_m,
                "source": "http",
            }
            for p in batch
        ]
        for batch in batches
    ]
    t0 = time.perf_counter()
    for rows in rows_batches:
        with factory() as session:
            session.execute(insert(Position), rows)
            session.commit()
    bare = time.perf_counter() - t0
    n = BATCH * BATCHES
    out = {
        "database": label,
        "positions": n,
        "stored": stored,
        "silkguard_per_s": round(n / ours),
        "bare_insert_per_s": round(n / bare),
        "ratio_bare_over_silkguard": round(ours / bare, 2),
    }
    print(
        f"{label:10s} silkguard {out['silkguard_per_s']:>8,}/s   bare insert "
        f"{out['bare_insert_per_s']:>8,}/s   silkguard takes {out['ratio_bare_over_silkguard']}x"
    )
    return out


def run(postgres: str | None = "postgresql://postgres@127.0.0.1:5432/test") -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(_measure("sqlite", f"sqlite:///{tmp}/bench.db"))
    if postgres:
        name = f"sg_bench_{secrets.token_hex(4)}"
        admin = create_engine(
            make_url(postgres).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(postgres).set(drivername="postgresql+psycopg", database=name)
            results.append(_measure("postgresql", url.render_as_string(hide_password=False)))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    doc = {"batch": BATCH, "batches": BATCHES, "people": PEOPLE, "results": results}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return doc


if __name__ == "__main__":
    run()
