"""The change counters (core.changes) are raised by the database itself, in the transaction of
each committed write to the tables they count, whoever writes: these tests write with plain
SQL and commit, on the run's database (SQLite, and PostgreSQL with --postgres)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, Executable, delete, insert, text, update

from silkguard.auth.models import ApiKey, Organisation, SharingGroup, SharingGroupMember, User
from silkguard.core.changes import (
    COUNTED,
    INCIDENTS,
    PRINCIPALS,
    UNCOUNTED_COLUMNS,
    read_counters,
)
from silkguard.core.db import make_engine, read_only_engine
from silkguard.incidents.models import Incident, IncidentRecipient, IncidentShare
from silkguard.migrations import alembic_config, metadata, upgrade

WHEN = datetime(2030, 6, 1, tzinfo=UTC)


@pytest.fixture
def store(fresh_db_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def _counters(eng: Engine) -> dict[str, int]:
    # a reader's transaction (DEFERRED on SQLite: it does not wait for a writer)
    with read_only_engine(eng).connect() as conn:
        return read_counters(conn)


def _incident(org: uuid.UUID | None = None) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "org_id": org,
        "occurred_at": WHEN,
        "date_precision": "day",
        "geo_precision": "place",
        "country": "PK",
        "attack_type": "ied",
        "target_type": "convoy",
        "nationalities": [],
        "tlp": "AMBER",
        "status": "confirmed",
        "created_at": WHEN,
        "updated_at": WHEN,
        "version": 1,
        "overrides": {},
    }


def _org(conn: Connection) -> uuid.UUID:
    ident = uuid.uuid4()
    conn.execute(
        insert(Organisation).values(
            id=ident, slug=f"c-{ident.hex[:10]}", name="Counted", kind="operator", created_at=WHEN
        )
    )
    return ident


def _user(conn: Connection, org: uuid.UUID) -> uuid.UUID:
    ident = uuid.uuid4()
    conn.execute(
        insert(User).values(
            id=ident,
            org_id=org,
            username=f"u-{ident.hex[:10]}",
            password_hash="x",
            role="analyst",
            languages=[],
            is_active=True,
            failed_logins=0,
            created_at=WHEN,
        )
    )
    return ident


def _group(org: uuid.UUID) -> tuple[uuid.UUID, Executable]:
    ident = uuid.uuid4()
    values = {"id": ident, "name": f"g-{ident.hex[:8]}", "owner_org_id": org, "created_at": WHEN}
    return ident, insert(SharingGroup).values(**values)


def _api_key(org: uuid.UUID) -> tuple[uuid.UUID, Executable]:
    ident = uuid.uuid4()
    values = {
        "id": ident,
        "org_id": org,
        "name": "robot",
        "prefix": ident.hex[:8],
        "key_hash": ident.hex * 2,
        "role": "staff",
        "scopes": [],
        "created_at": WHEN,
    }
    return ident, insert(ApiKey).values(**values)


def _raised(before: dict[str, int], after: dict[str, int]) -> set[str]:
    assert all(after[k] >= before[k] for k in before), (before, after)
    return {k for k in before if after[k] > before[k]}


def test_both_counters_start_at_zero(store: Engine) -> None:
    assert _counters(store) == {INCIDENTS: 0, PRINCIPALS: 0}


def test_incident_writes_raise_the_incidents_counter_only(store: Engine) -> None:
    with store.begin() as conn:
        org = _org(conn)
    before = _counters(store)
    rows = [_incident(org) for _ in range(3)]
    with store.begin() as conn:
        conn.execute(insert(Incident), rows)
    after = _counters(store)
    assert _raised(before, after) == {INCIDENTS}
    if store.dialect.name == "postgresql":
        # once per transaction, however many rows
        assert after[INCIDENTS] == before[INCIDENTS] + 1
    for statement in (
        update(Incident).where(Incident.id == rows[0]["id"]).values(tlp="RED"),
        delete(Incident).where(Incident.id == rows[1]["id"]),
    ):
        before = _counters(store)
        with store.begin() as conn:
            conn.execute(statement)
        assert _raised(before, _counters(store)) == {INCIDENTS}


def test_shares_and_recipients_count_as_incident_changes(store: Engine) -> None:
    with store.begin() as conn:
        org = _org(conn)
        user = _user(conn, org)
        group, add_group = _group(org)
        conn.execute(add_group)
        incident = _incident(org)
        conn.execute(insert(Incident).values(**incident))
    for table, values in (
        (IncidentShare, {"incident_id": incident["id"], "group_id": group}),
        (IncidentRecipient, {"incident_id": incident["id"], "user_id": user}),
    ):
        before = _counters(store)
        with store.begin() as conn:
            conn.execute(insert(table).values(**values))
        assert _raised(before, _counters(store)) == {INCIDENTS}, table


def test_caller_writes_raise_the_principals_counter(store: Engine) -> None:
    with store.begin() as conn:
        org = _org(conn)
        other = _org(conn)
    before = _counters(store)
    with store.begin() as conn:
        user = _user(conn, org)
    assert _raised(before, _counters(store)) == {PRINCIPALS}
    key, add_key = _api_key(org)
    group, add_group = _group(org)
    steps = (
        update(User).where(User.id == user).values(is_active=False),
        add_key,
        update(ApiKey).where(ApiKey.id == key).values(revoked_at=WHEN),
        add_group,
        insert(SharingGroupMember).values(group_id=group, org_id=other),
        delete(SharingGroupMember).where(SharingGroupMember.org_id == other),
    )
    for statement in steps:
        before = _counters(store)
        with store.begin() as conn:
            conn.execute(statement)
        assert _raised(before, _counters(store)) == {PRINCIPALS}, str(statement)


def test_every_column_counts_but_the_bookkeeping(store: Engine) -> None:
    """Generated from the models: an UPDATE naming any column of a counted table raises its
    counter (a column added later without re-making the triggers fails here), except the
    bookkeeping columns, whose writes raise nothing."""
    with store.begin() as conn:
        org = _org(conn)
        other = _org(conn)
        user = _user(conn, org)
        group, add_group = _group(org)
        conn.execute(add_group)
        conn.execute(insert(SharingGroupMember).values(group_id=group, org_id=other))
        incident = _incident(org)
        conn.execute(insert(Incident).values(**incident))
        conn.execute(insert(IncidentShare).values(incident_id=incident["id"], group_id=group))
        conn.execute(insert(IncidentRecipient).values(incident_id=incident["id"], user_id=user))
        conn.execute(_api_key(org)[1])
    for name, tables in COUNTED.items():
        for table_name in tables:
            table = metadata.tables[table_name]
            for column in table.columns:
                before = _counters(store)
                with store.begin() as conn:
                    # SET column = column: the trigger fires on the columns named, not values
                    conn.execute(update(table).values({column.name: column}))
                uncounted = column.name in UNCOUNTED_COLUMNS.get(table_name, ())
                expected = set() if uncounted else {name}
                assert _raised(before, _counters(store)) == expected, (table_name, column.name)


def test_a_rolled_back_write_raises_nothing(store: Engine) -> None:
    with store.begin() as conn:
        org = _org(conn)
    before = _counters(store)
    with store.connect() as conn:
        trans = conn.begin()
        conn.execute(insert(Incident).values(**_incident(org)))
        _user(conn, org)
        trans.rollback()
    assert _counters(store) == before


def test_an_uncommitted_write_is_not_counted_for_others(store: Engine) -> None:
    with store.begin() as conn:
        org = _org(conn)
    before = _counters(store)
    with store.connect() as writer:
        trans = writer.begin()
        writer.execute(insert(Incident).values(**_incident(org)))
        # another connection sees neither the row nor a raised counter
        assert _counters(store) == before
        trans.commit()
    assert _raised(before, _counters(store)) == {INCIDENTS}


def test_clearing_a_table_is_counted(store: Engine) -> None:
    """PostgreSQL's TRUNCATE fires no row triggers (a statement trigger counts it); SQLite's
    DELETE without WHERE skips its fast path when the table has triggers."""
    with store.begin() as conn:
        org = _org(conn)
        user = _user(conn, org)
        incident = _incident(org)
        conn.execute(insert(Incident).values(**incident))
        conn.execute(insert(IncidentRecipient).values(incident_id=incident["id"], user_id=user))
    before = _counters(store)
    clear = "TRUNCATE" if store.dialect.name == "postgresql" else "DELETE FROM"
    with store.begin() as conn:
        conn.execute(text(f"{clear} incident_recipients"))
        assert conn.scalar(text("SELECT count(*) FROM incident_recipients")) == 0
    assert _raised(before, _counters(store)) == {INCIDENTS}


def test_the_migration_reverses_and_reapplies(store: Engine) -> None:
    command.downgrade(alembic_config(store), "0014")
    with store.connect() as conn:
        tables = {str(t) for t in store.dialect.get_table_names(conn)}
    assert "change_counters" not in tables
    # with the triggers gone, writes to the counted tables still work
    with store.begin() as conn:
        org = _org(conn)
        conn.execute(insert(Incident).values(**_incident(org)))
    upgrade(store)
    before = _counters(store)
    assert before == {INCIDENTS: 0, PRINCIPALS: 0}
    with store.begin() as conn:
        conn.execute(insert(Incident).values(**_incident(org)))
    assert _raised(before, _counters(store)) == {INCIDENTS}
