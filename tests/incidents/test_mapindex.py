"""The map index (incidents.mapindex) against the database's own search: on random incidents
(ties in time, unknown positions, points on box edges, every marking and status, shares and
RED recipients) and random callers and searches, every page and every cursor must be the ones
incidents.query.search_features gives; and the index must refuse what it cannot answer."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.models import SharingGroup, SharingGroupMember, User
from silkguard.core.access import Principal
from silkguard.core.changes import INCIDENTS, read_counters
from silkguard.core.tlp import TLP
from silkguard.geo.cells import cells_for_arrays
from silkguard.incidents import query
from silkguard.incidents.mapindex import MapIndex, MapSnapshot, answerable
from silkguard.incidents.models import Incident, IncidentRecipient, IncidentShare

START = datetime(2033, 1, 1, tzinfo=UTC)
_MAX_PAGES = 1000  # more pages than any scene has rows: a cursor that does not move
STATUSES = ("confirmed", "confirmed", "confirmed", "draft", "rejected")


class Scene:
    """Three organisations, users in each, two sharing groups, and ``n`` incidents."""

    def __init__(self, session: Session, seed: int, n: int = 240) -> None:
        rng = np.random.default_rng(seed)
        self.rng = rng
        self.orgs = [
            auth_service.create_org(session, slug=f"map-{seed}-{k}", name=f"Map {k}").id
            for k in range(3)
        ]
        self.users: dict[uuid.UUID, list[uuid.UUID]] = {org: [] for org in self.orgs}
        user_rows = []
        for k, org in enumerate(self.orgs):
            for j in range(2):
                ident = uuid.uuid4()
                self.users[org].append(ident)
                user_rows.append(
                    {
                        "id": ident,
                        "org_id": org,
                        "username": f"map-{seed}-{k}-{j}",
                        "password_hash": "not-a-hash",
                        "role": "analyst",
                    }
                )
        session.execute(insert(User), user_rows)
        a, b, c = self.orgs
        self.groups = [uuid.uuid4(), uuid.uuid4()]
        session.execute(
            insert(SharingGroup),
            [
                {"id": self.groups[0], "name": f"map-{seed}-g0", "owner_org_id": a},
                {"id": self.groups[1], "name": f"map-{seed}-g1", "owner_org_id": c},
            ],
        )
        session.execute(
            insert(SharingGroupMember),
            [
                {"group_id": self.groups[0], "org_id": b},
                {"group_id": self.groups[1], "org_id": a},
            ],
        )
        self.ids = self._incidents(session, n)

    def _incidents(self, session: Session, n: int) -> list[uuid.UUID]:
        rng = self.rng
        # positions on a 0.5-degree grid (some exactly on the searched boxes' edges), some
        # anywhere, some unknown
        lats = np.where(
            rng.random(n) < 0.5, np.round(rng.uniform(24, 30, n) * 2) / 2, rng.uniform(24, 30, n)
        )
        lons = np.where(
            rng.random(n) < 0.5, np.round(rng.uniform(64, 72, n) * 2) / 2, rng.uniform(64, 72, n)
        )
        r4, r6, r8 = (cells_for_arrays(lats, lons, r) for r in (4, 6, 8))
        # few distinct moments for many rows (runs of equal times), plus microseconds
        moments = [START + timedelta(days=int(d)) for d in rng.integers(0, 400, 12)]
        moments += [START + timedelta(seconds=float(s)) for s in rng.uniform(0, 3e7, 30)]
        self.moments = moments
        users = [u for group in self.users.values() for u in group]
        rows = []
        for i in range(n):
            ident = uuid.uuid4()
            unknown = rng.random() < 0.1
            rows.append(
                {
                    "id": ident,
                    "occurred_at": moments[int(rng.integers(0, len(moments)))],
                    "date_precision": "day",
                    "geo_precision": "place",
                    "country": "PK",
                    "latitude": None if unknown else float(lats[i]),
                    "longitude": None if unknown else float(lons[i]),
                    "h3_r4": None if unknown else int(r4[i]),
                    "h3_r6": None if unknown else int(r6[i]),
                    "h3_r8": None if unknown else int(r8[i]),
                    "attack_type": "ied",
                    "target_type": "convoy",
                    "nationalities": [],
                    "summary": f"map index test {i}",
                    "tlp": list(TLP)[int(rng.integers(0, len(TLP)))].value,
                    "status": STATUSES[int(rng.integers(0, len(STATUSES)))],
                    "org_id": [*self.orgs, None][int(rng.integers(0, 4))],
                    "created_by": [*users, None, None][int(rng.integers(0, len(users) + 2))],
                    "created_at": START,
                    "updated_at": START,
                    "version": 1,
                    "overrides": {},
                    # a stored Feature text for most; the rest are rendered on reading
                    "feature": json.dumps({"id": str(ident), "i": i})
                    if rng.random() < 0.8
                    else None,
                }
            )
        session.execute(insert(Incident), rows)
        shares = [
            {"incident_id": r["id"], "group_id": self.groups[int(rng.integers(0, 2))]}
            for r in rows
            if r["tlp"] == TLP.AMBER.value and rng.random() < 0.5
        ]
        recipients = [
            {"incident_id": r["id"], "user_id": users[int(rng.integers(0, len(users)))]}
            for r in rows
            if r["tlp"] == TLP.RED.value and rng.random() < 0.6
        ]
        if shares:
            session.execute(insert(IncidentShare), shares)
        if recipients:
            session.execute(insert(IncidentRecipient), recipients)
        return [r["id"] for r in rows]

    def principals(self, session: Session) -> list[Principal]:
        out = []
        for org in self.orgs:
            groups = frozenset(auth_service.groups_of_org(session, org_id=org))
            out.append(Principal(org_id=org, role="partner", group_ids=groups))
            for user in self.users[org]:
                out.append(Principal(org_id=org, role="analyst", user_id=user, group_ids=groups))
        outsider = auth_service.create_org(session, slug=f"out-{uuid.uuid4().hex[:8]}", name="O")
        out.append(Principal(org_id=outsider.id, role="staff"))
        return out

    def search(self) -> query.IncidentFilter:
        rng = self.rng
        since = until = None
        bbox = None
        if rng.random() < 0.7:
            since = START + timedelta(days=int(rng.integers(-10, 200)))
        if rng.random() < 0.7:
            until = START + timedelta(days=int(rng.integers(150, 420)))
        # ends exactly at the time of some incidents (since is inclusive, until exclusive)
        if rng.random() < 0.3:
            since = self.moments[int(rng.integers(0, 12))]
        if rng.random() < 0.3:
            until = self.moments[int(rng.integers(0, 12))] + timedelta(days=30)
        if rng.random() < 0.2:
            until = self.moments[int(rng.integers(0, 12))]
        if rng.random() < 0.8:
            lon0, lat0 = float(rng.integers(128, 142)) / 2, float(rng.integers(48, 58)) / 2
            lon1 = lon0 + float(rng.integers(0, 8)) / 2
            lat1 = lat0 + float(rng.integers(0, 8)) / 2
            bbox = (lon0, lat0, lon1, lat1)
        return query.IncidentFilter(since=since, until=until, bbox=bbox)


def _walk_database(
    session: Session, principal: Principal, filters: query.IncidentFilter, limit: int
) -> list[tuple[list[str], str | None]]:
    pages = []
    cursor: str | None = None
    while True:
        texts, cursor = query.search_features(
            session, principal=principal, filters=filters, limit=limit, cursor=cursor
        )
        pages.append((texts, cursor))
        if cursor is None:
            return pages
        assert len(pages) <= _MAX_PAGES, "the cursor does not advance"


def _walk_snapshot(
    snapshot: MapSnapshot,
    mask: np.ndarray,
    filters: query.IncidentFilter,
    limit: int,
) -> list[tuple[list[str], str | None]]:
    pages = []
    cursor: str | None = None
    while True:
        texts, cursor = snapshot.page(filters, mask, limit, cursor)
        pages.append((texts, cursor))
        if cursor is None:
            return pages
        assert len(pages) <= _MAX_PAGES, "the cursor does not advance"


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_snapshot_pages_and_cursors_equal_the_databases(session: Session, seed: int) -> None:
    scene = Scene(session, seed)
    snapshot = MapSnapshot.load(session, read_counters(session)[INCIDENTS])
    assert len(snapshot) >= len(scene.ids)
    compared = nonempty = 0
    for principal in scene.principals(session):
        mask = snapshot.visible_mask(session, principal)
        for _ in range(6):
            filters = scene.search()
            limit = int(scene.rng.choice([1, 3, 7, 40]))
            expected = _walk_database(session, principal, filters, limit)
            assert _walk_snapshot(snapshot, mask, filters, limit) == expected, (
                principal,
                filters,
                limit,
            )
            compared += 1
            nonempty += bool(expected[0][0])
    # the random searches did find things (the comparison is not one of empty pages)
    assert nonempty > compared // 2


def test_a_database_cursor_continues_in_memory_and_back(session: Session) -> None:
    scene = Scene(session, 21)
    snapshot = MapSnapshot.load(session, read_counters(session)[INCIDENTS])
    principal = scene.principals(session)[1]
    mask = snapshot.visible_mask(session, principal)
    filters = query.IncidentFilter(since=START)
    expected = [t for page, _ in _walk_database(session, principal, filters, 5) for t in page]
    seen: list[str] = []
    cursor: str | None = None
    for step in range(_MAX_PAGES):
        if step % 2:
            page, cursor = snapshot.page(filters, mask, 5, cursor)
        else:
            page, cursor = query.search_features(
                session, principal=principal, filters=filters, limit=5, cursor=cursor
            )
        seen += page
        if cursor is None:
            break
    assert seen == expected
    assert len(expected) > 10


def test_only_box_and_time_searches_are_answerable() -> None:
    assert answerable(query.IncidentFilter())
    assert answerable(query.IncidentFilter(since=START, until=START, bbox=(60, 20, 70, 30)))
    for other in (
        {"text": "dasu"},
        {"province": "Sindh"},
        {"district": "Kohistan"},
        {"attack_types": ["ied"]},
        {"target_types": ["convoy"]},
        {"perpetrator": "BLA"},
        {"statuses": ["draft"]},
        {"tlps": ["RED"]},
        {"org_id": uuid.uuid4()},
        {"h3_cell": "842a107ffffffff"},
        {
            "polygon": query.parse_polygon(
                '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}'
            )
        },
    ):
        assert not answerable(query.IncidentFilter(**other)), other  # type: ignore[arg-type]


def _search(
    index: MapIndex,
    session: Session,
    principal: Principal,
    filters: query.IncidentFilter | None = None,
    counters: dict[str, int] | None = None,
) -> tuple[list[str], str | None] | None:
    return index.search(
        session,
        counters=read_counters(session) if counters is None else counters,
        principal=principal,
        filters=filters or query.IncidentFilter(since=START),
        limit=10,
        cursor=None,
    )


def test_the_index_answers_only_at_the_databases_counter(session: Session) -> None:
    scene = Scene(session, 31, n=60)
    principal = scene.principals(session)[1]
    index = MapIndex(refresh_s=0)
    first = _search(index, session, principal)
    assert first is not None
    assert index.builds == 1
    assert first == query.search_features(
        session, principal=principal, filters=query.IncidentFilter(since=START), limit=10
    )
    # the same counter: no rebuild
    assert _search(index, session, principal) == first
    assert index.builds == 1
    # what it cannot answer, or no counter: the database answers
    assert _search(index, session, principal, query.IncidentFilter(text="map")) is None
    assert (
        index.search(
            session,
            counters=None,
            principal=principal,
            filters=query.IncidentFilter(),
            limit=10,
            cursor=None,
        )
        is None
    )
    # a counter the database does not hold (a request that read a newer one than the data it
    # reads): nothing is kept from a load whose counter does not match
    now = read_counters(session)
    assert _search(index, session, principal, counters={INCIDENTS: now[INCIDENTS] + 7}) is None
    assert index.snapshot is not None
    assert index.snapshot.counter == now[INCIDENTS]


def test_above_max_rows_the_database_answers(session: Session) -> None:
    scene = Scene(session, 51, n=30)
    index = MapIndex(max_rows=5, refresh_s=0)
    assert _search(index, session, scene.principals(session)[0]) is None
    assert index.snapshot is None
    assert index.builds == 0
