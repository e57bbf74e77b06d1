"""Search pages against one ORDER BY over the whole result: the database returns a page's
rows unordered and the search orders them itself, so ties on the time and cursors that
continue inside a run of equal times must come out exactly as the database would order them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.core.access import Principal
from silkguard.geo.cells import cells_for_arrays
from silkguard.incidents import query
from silkguard.incidents.models import Incident

BOX = (66.0, 24.5, 69.0, 27.5)
SINCE = datetime(2031, 1, 1, tzinfo=UTC)
UNTIL = datetime(2032, 1, 1, tzinfo=UTC)


def _store(session: Session, seed: int, own_org: uuid.UUID) -> None:
    """Incidents at a few moments only (many share a time), inside and outside the box and
    the year, under markings the caller may and may not see, some of its own organisation."""
    rng = np.random.default_rng(seed)
    n = 120
    lats = rng.uniform(23.5, 28.5, n)
    lons = rng.uniform(65.0, 70.0, n)
    r4, r6, r8 = (cells_for_arrays(lats, lons, r) for r in (4, 6, 8))
    moments = [SINCE - timedelta(days=1)] + [
        SINCE + timedelta(days=int(d), hours=int(h))
        for d, h in zip(rng.integers(0, 365, 6), rng.integers(0, 24, 6), strict=True)
    ]
    same = {
        "date_precision": "day",
        "geo_precision": "place",
        "country": "PK",
        "attack_type": "ied",
        "target_type": "police",
        "nationalities": [],
        "created_at": SINCE,
        "updated_at": SINCE,
        "version": 1,
        "overrides": {},
    }
    rows = []
    for i in range(n):
        ident = uuid.uuid4()
        cells = {"h3_r4": int(r4[i]), "h3_r6": int(r6[i]), "h3_r8": int(r8[i])}
        rows.append(
            same
            | cells
            | {
                "id": ident,
                "occurred_at": moments[int(rng.integers(0, len(moments)))],
                "latitude": float(lats[i]),
                "longitude": float(lons[i]),
                "summary": f"order test {i}",
                "tlp": ("CLEAR", "GREEN", "AMBER", "RED")[int(rng.integers(0, 4))],
                "status": ("confirmed", "draft")[int(rng.integers(0, 4)) == 0],
                "org_id": own_org if rng.integers(0, 3) == 0 else None,
                "feature": json.dumps({"id": str(ident)}),
            }
        )
    session.execute(insert(Incident), rows)


def _expected(session: Session, principal: Principal) -> list[str]:
    min_lon, min_lat, max_lon, max_lat = BOX
    stmt = (
        select(Incident.id)
        .where(
            query.visible(principal),
            Incident.occurred_at >= SINCE,
            Incident.occurred_at < UNTIL,
            Incident.longitude.between(min_lon, max_lon),
            Incident.latitude.between(min_lat, max_lat),
        )
        .order_by(Incident.occurred_at.desc(), Incident.id.desc())
    )
    return [str(i) for i in session.execute(stmt).scalars()]


@pytest.mark.parametrize(("seed", "limit"), [(1, 1), (2, 3), (3, 7), (4, 12)])
def test_pages_follow_the_databases_order_across_ties(
    session: Session, seed: int, limit: int
) -> None:
    own_org = auth_service.create_org(session, slug=f"order-{seed}", name="Order test").id
    _store(session, seed, own_org)
    principal = Principal(org_id=own_org, role="analyst")
    expected = _expected(session, principal)
    assert len(expected) > limit, "the box holds more than a page"
    filters = query.IncidentFilter(since=SINCE, until=UNTIL, bbox=BOX)
    for columns in ("features", "entity"):
        seen: list[str] = []
        cursor: str | None = None
        while True:
            if columns == "features":
                texts, cursor = query.search_features(
                    session, principal=principal, filters=filters, limit=limit, cursor=cursor
                )
                page = [json.loads(t)["id"] for t in texts]
            else:
                items, cursor = query.search(
                    session, principal=principal, filters=filters, limit=limit, cursor=cursor
                )
                page = [str(i.id) for i in items]
            assert len(page) <= limit
            seen += page
            if cursor is None:
                break
            assert len(page) == limit
        assert seen == expected, columns
