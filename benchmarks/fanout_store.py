"""Should the alert fan-out use the in-memory index? (issue 7, docs/fanout.md)

Today :func:`silkguard.alerts.service.fan_out` finds people by position with an SQL bounding
box on the latest-position table (joined to people for consent and activity) and an exact
numpy filter. The alternative is :class:`silkguard.alerts.geoindex.LatestPositionIndex` held
in memory, whose candidates would still be re-checked against the database (it must never be
a source of truth). Measured here on 100,000 and 1,000,000 latest positions in SQLite (the
same synthetic layout as ``fanout_speed``: 65% around towns, 35% uniform), 25 km circles:

* ``sql``: the service's own ``fan_out`` (position part only: no sites, no movements);
* ``index``: ``within_circle`` on a built index, plus the re-check a correct wiring needs
  (consent, active, organisation and the position itself, read back by id);
* ``index only``: ``within_circle`` alone, the lower bound of any wiring.

Every method must return the same set. Results: ``benchmarks/results/fanout_store.json``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from benchmarks.fanout_speed import positions
from silkguard.alerts import service as alerts
from silkguard.alerts.areas import parse_area
from silkguard.alerts.geoindex import LatestPositionIndex
from silkguard.alerts.models import Alert
from silkguard.auth import service as auth_service
from silkguard.core.clock import utcnow
from silkguard.core.db import analyze, make_engine, make_session_factory
from silkguard.migrations import upgrade
from silkguard.people.models import LatestPosition, Person

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
RADIUS_KM = 25.0
QUERIES = 20
CHUNK = 20_000


def _seed(url: str, n: int) -> tuple[Any, Any, uuid.UUID, Any, Any, list[uuid.UUID]]:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    _, lats, lons = positions(n, seed=11)
    ids = [uuid.uuid4() for _ in range(n)]
    now = utcnow()
    with factory() as session:
        org = auth_service.create_org(session, slug="fanout", name="Fan-out")
        session.flush()
        for start in range(0, n, CHUNK):
            part = range(start, min(n, start + CHUNK))
            session.execute(
                insert(Person),
                [
                    {
                        "id": ids[k],
                        "org_id": org.id,
                        "ref": f"p{k}",
                        "name": f"P{k}",
                        "function": "",
                        "languages": ["en"],
                        "channels": ["webhook"],
                        "location_consent": True,
                        "active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for k in part
                ],
            )
            session.execute(
                insert(LatestPosition),
                [
                    {
                        "person_id": ids[k],
                        "org_id": org.id,
                        "at": now,
                        "latitude": float(lats[k]),
                        "longitude": float(lons[k]),
                        "h3_r7": 0,
                    }
                    for k in part
                ],
            )
        session.commit()
        org_id = org.id
    analyze(engine)
    return engine, factory, org_id, lats, lons, ids


def _recheck(session: Any, org_id: uuid.UUID, area: Any, candidates: list[uuid.UUID]) -> set[Any]:
    """What a correct wiring must still do with the index's candidates: read them back."""
    found: set[Any] = set()
    for start in range(0, len(candidates), 10_000):
        rows = session.execute(
            select(LatestPosition.person_id, LatestPosition.latitude, LatestPosition.longitude)
            .join(Person, Person.id == LatestPosition.person_id)
            .where(
                LatestPosition.person_id.in_(candidates[start : start + 10_000]),
                LatestPosition.org_id == org_id,
                Person.active.is_(True),
                Person.location_consent.is_(True),
            )
        ).all()
        if rows:
            inside = area.contains([r[1] for r in rows], [r[2] for r in rows])
            found |= {r[0] for r, hit in zip(rows, inside, strict=True) if hit}
    return found


def measure(n: int, tmp: Path) -> dict[str, Any]:
    engine, factory, org_id, lats, lons, ids = _seed(f"sqlite:///{tmp / f'fanout-{n}.db'}", n)
    start = time.perf_counter()
    index = LatestPositionIndex(np.arange(n, dtype=np.int64), lats, lons)
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(5)
    # centres on people (where alerts are raised): the dense case
    centres = rng.choice(n, QUERIES, replace=False)
    times: dict[str, list[float]] = {"sql": [], "index": [], "index only": []}
    hits = []
    with factory() as session:
        for c in centres:
            doc = {
                "type": "Circle",
                "center": [float(lons[c]), float(lats[c])],
                "radius_km": RADIUS_KM,
            }
            area = parse_area(doc)
            alert = Alert(org_id=org_id)
            t = time.perf_counter()
            by_sql = set(alerts.fan_out(session, alert=alert, area=area))
            times["sql"].append(time.perf_counter() - t)
            t = time.perf_counter()
            slots = index.within_circle(float(lats[c]), float(lons[c]), RADIUS_KM)
            times["index only"].append(time.perf_counter() - t)
            by_index = _recheck(session, org_id, area, [ids[int(k)] for k in slots])
            times["index"].append(time.perf_counter() - t)
            if by_index != by_sql:
                msg = (
                    f"{n} positions: the index and SQL disagree ({len(by_index)} vs {len(by_sql)})"
                )
                raise RuntimeError(msg)
            hits.append(len(by_sql))
    engine.dispose()
    row: dict[str, Any] = {
        "positions": n,
        "queries": QUERIES,
        "mean_hits": round(statistics.mean(hits)),
        "index_build_s": round(build_s, 3),
    }
    for name, values in times.items():
        row[f"{name} median ms"] = round(1000 * statistics.median(values), 2)
    row["sql / index"] = round(row["sql median ms"] / row["index median ms"], 2)
    row["sql / index only"] = round(row["sql median ms"] / row["index only median ms"], 2)
    return row


def run(sizes: tuple[int, ...] = (100_000, 1_000_000)) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, Path(tmp)) for n in sizes]
    print(f"Fan-out by position, {RADIUS_KM:g} km circles centred on people, SQLite")
    for r in rows:
        print(
            f"  {r['positions']:>9,} positions, {r['mean_hits']:>7,} hits: "
            f"sql {r['sql median ms']:.1f} ms, index+recheck {r['index median ms']:.1f} ms "
            f"(x{r['sql / index']:.2f}), index only {r['index only median ms']:.2f} ms "
            f"(x{r['sql / index only']:.1f}); build {r['index_build_s']:.2f} s"
        )
    result = {"benchmark": "fanout_store", "radius_km": RADIUS_KM, "runs": rows}
    out = RESULTS / "fanout_store.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    run()
