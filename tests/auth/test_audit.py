from __future__ import annotations

import itertools
import math
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.auth.models import GENESIS_HASH, AuditEntry, AuditHead
from silkguard.core.db import make_engine, make_session_factory
from silkguard.core.errors import InvalidInput
from silkguard.migrations import upgrade

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _append(session: Session, n: int, *, actor: str = "system") -> list[AuditEntry]:
    return [
        audit.record(
            session,
            action="incident.update" if i % 2 else "auth.login",
            actor=actor,
            org_id=ORG if i % 3 == 0 else None,
            object_type="incident",
            object_id=uuid.UUID(int=i),
            request_id=f"req-{i}",
            detail={"n": i, "fields": ["summary"], "ratio": i / 7, "name": "Gwadar 港"},
            now=T0 + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def test_fifty_entries_verify(session: Session) -> None:
    entries = _append(session, 50)
    assert [e.id for e in entries] == list(range(1, 51))
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    result = audit.verify(session)
    assert result == audit.AuditVerification(ok=True, checked=50, first_broken_id=None, reason="")


def test_empty_trail_verifies(session: Session) -> None:
    assert audit.verify(session).ok


def test_tampered_detail_is_found(session: Session) -> None:
    _append(session, 50)
    session.execute(
        update(AuditEntry.__table__).where(AuditEntry.id == 17).values(detail={"n": 999})
    )
    result = audit.verify(session)
    assert (result.ok, result.first_broken_id, result.checked) == (False, 17, 16)
    assert result.reason == "its content does not match its hash (altered)"


def test_rehashed_row_breaks_the_next_link(session: Session) -> None:
    entries = _append(session, 10)
    row = entries[4]
    forged = audit.entry_hash(
        prev_hash=row.prev_hash,
        entry_id=row.id,
        at=row.at,
        actor="cli:someone-else",
        org_id=row.org_id,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        request_id=row.request_id,
        detail=row.detail,
    )
    table = AuditEntry.__table__
    session.execute(
        update(table).where(table.c.id == 5).values(actor="cli:someone-else", hash=forged)
    )
    result = audit.verify(session)
    assert result.first_broken_id == 6
    assert result.reason.startswith("its prev_hash does not match the hash of entry #5")


def test_deleted_middle_row_is_a_gap(session: Session) -> None:
    _append(session, 50)
    session.execute(delete(AuditEntry.__table__).where(AuditEntry.id == 25))
    result = audit.verify(session)
    assert (result.ok, result.first_broken_id) == (False, 25)
    assert result.reason == "entry #25 is missing: #24 is followed by #26 (deleted rows)"
    session.execute(delete(AuditEntry.__table__).where(AuditEntry.id.in_([1, 2])))
    assert audit.verify(session).reason == (
        "entries #1 to #2 are missing: the trail starts #3 (deleted rows)"
    )


def test_truncated_end_is_found_by_the_head(session: Session) -> None:
    _append(session, 10)
    session.execute(delete(AuditEntry.__table__).where(AuditEntry.id >= 9))
    result = audit.verify(session)
    assert (result.ok, result.first_broken_id, result.checked) == (False, 9, 8)
    assert result.reason.startswith("the head records 10 entries but the trail ends at #8")


def test_detail_is_normalised_or_refused(session: Session) -> None:
    entry = audit.record(
        session,
        action="user.create",
        actor="system",
        detail={"id": uuid.UUID(int=5), "at": T0, "roles": ("a", "b")},
        now=T0,
    )
    assert entry.detail == {
        "id": "00000000-0000-0000-0000-000000000005",
        "at": "2026-03-01T08:00:00+00:00",
        "roles": ["a", "b"],
    }
    with pytest.raises(InvalidInput, match="audit detail holds a object"):
        audit.record(session, action="x.y", actor="system", detail={"o": object()}, now=T0)
    with pytest.raises(InvalidInput, match="replace NaN"):
        audit.record(session, action="x.y", actor="system", detail={"v": math.nan}, now=T0)
    assert audit.verify(session).ok


def test_query_filters_and_pages(session: Session) -> None:
    _append(session, 30)
    audit.record(session, action="key.revoke", actor="cli:root", now=T0 + timedelta(hours=2))
    assert [e.id for e in audit.query(session, actor="cli:root")] == [31]
    logins = audit.query(session, action="auth.*")
    assert len(logins) == 15
    assert {e.action for e in logins} == {"auth.login"}
    assert len(audit.query(session, org_id=ORG)) == 10
    window = audit.query(session, since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=8))
    assert [e.id for e in window] == [6, 7, 8]
    page1 = audit.query(session, limit=10)
    page2 = audit.query(session, limit=10, after_id=page1[-1].id)
    assert [e.id for e in page2] == list(range(11, 21))
    newest = audit.query(session, limit=3, newest_first=True)
    assert [e.id for e in newest] == [31, 30, 29]
    older = audit.query(session, limit=3, newest_first=True, after_id=29)
    assert [e.id for e in older] == [28, 27, 26]
    with pytest.raises(InvalidInput, match="limit is 0; use 1 to 1000"):
        audit.query(session, limit=0)


@pytest.fixture
def committed_engine(fresh_db_url: str) -> Iterator[Engine]:
    """An engine on an empty database whose appends really commit."""
    engine = make_engine(fresh_db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_two_sessions_keep_one_chain(committed_engine: Engine) -> None:
    factory = make_session_factory(committed_engine)
    with factory() as first, factory() as second:
        for i in range(10):
            for sess, actor in ((first, "user:a"), (second, "user:b")):
                audit.record(sess, action="incident.read", actor=actor, now=T0 + timedelta(i))
                sess.commit()
    with factory() as check:
        result = audit.verify(check)
        head = check.get(AuditHead, 1)
        assert head is not None
        assert (result.ok, result.checked, head.last_id) == (True, 20, 20)


def test_concurrent_appends_keep_one_chain(committed_engine: Engine) -> None:
    factory = make_session_factory(committed_engine)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(25):
                with factory() as sess:
                    audit.record(sess, action="movement.read", actor=name, now=T0 + timedelta(i))
                    sess.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"user:{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as check:
        result = audit.verify(check)
        assert (result.ok, result.checked) == (True, 100), result.reason
        assert {e.actor for e in audit.query(check, limit=1000)} == {f"user:{n}" for n in range(4)}


def test_naive_time_and_missing_fields_are_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="is naive; pass an aware UTC datetime"):
        audit.record(session, action="x.y", actor="system", now=T0.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match="needs an action and an actor"):
        audit.record(session, action="", actor="system", now=T0)
