"""Personnel, consent and positions: validation, consent gating, de-duplication, the latest
position only moving forward, audited reads, retention purge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.models import AuditEntry
from silkguard.core.access import Principal
from silkguard.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from silkguard.people import personnel
from silkguard.people import positions as pos
from silkguard.people.models import LatestPosition, Position

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _org(session: Session, slug: str) -> Principal:
    org = auth_service.create_org(session, slug=slug, name=slug.title())
    session.flush()
    return Principal(
        org_id=org.id, role="movement_controller", user_id=None, api_key_id=uuid.uuid4()
    )


@pytest.fixture
def alpha(session: Session) -> Principal:
    return _org(session, "alpha-pos")


def _person(session: Session, who: Principal, ref: str, *, consent: bool = True, **kw: object):  # type: ignore[no-untyped-def]
    return personnel.create_person(
        session,
        principal=who,
        ref=ref,
        name=f"Person {ref}",
        device_id=f"dev-{ref}",
        location_consent=consent,
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )


def _at(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Position)) or 0)


def test_positions_are_stored_deduplicated_and_the_latest_moves_forward(
    session: Session, alpha: Principal
) -> None:
    p = _person(session, alpha, "e1")
    batch = [
        pos.PositionIn(person="dev-e1", at=_at(10), lat=35.32, lon=73.22, accuracy_m=15),
        pos.PositionIn(person=str(p.id), at=_at(5), lat=35.33, lon=73.23),
        pos.PositionIn(person="dev-e1", at=_at(5), lat=35.33, lon=73.23),  # repeat in batch
    ]
    report = pos.ingest_positions(session, org_id=alpha.org_id, items=batch, source="http", now=NOW)
    assert (report.accepted, report.duplicates, report.without_consent) == (2, 1, 0)
    again = pos.ingest_positions(
        session, org_id=alpha.org_id, items=batch[:1], source="http", now=NOW
    )
    assert (again.accepted, again.duplicates) == (0, 1)
    latest = session.get(LatestPosition, p.id)
    assert latest is not None
    assert latest.at == _at(5)
    assert latest.latitude == pytest.approx(35.33)
    # a late report (older than the latest) is stored but does not move the latest back
    late = pos.PositionIn(person="dev-e1", at=_at(30), lat=30.0, lon=70.0)
    pos.ingest_positions(session, org_id=alpha.org_id, items=[late], source="mqtt", now=NOW)
    session.expire_all()
    latest = session.get(LatestPosition, p.id)
    assert latest is not None
    assert latest.at == _at(5)
    assert _count(session) == 3


def test_without_consent_nothing_is_stored_and_withdrawal_clears_the_latest(
    session: Session, alpha: Principal
) -> None:
    p = _person(session, alpha, "e2", consent=False)
    item = pos.PositionIn(person="dev-e2", at=_at(1), lat=25.1, lon=62.3)
    report = pos.ingest_positions(
        session, org_id=alpha.org_id, items=[item], source="http", now=NOW
    )
    assert (report.accepted, report.without_consent) == (0, 1)
    assert _count(session) == 0
    personnel.set_consent(session, principal=alpha, person_id=p.id, given=True, now=NOW)
    assert (
        pos.ingest_positions(
            session, org_id=alpha.org_id, items=[item], source="http", now=NOW
        ).accepted
        == 1
    )
    assert session.get(LatestPosition, p.id) is not None
    personnel.set_consent(
        session, principal=alpha, person_id=p.id, given=False, note="left", now=NOW
    )
    assert session.get(LatestPosition, p.id) is None
    history = personnel.consent_history(session, person_id=p.id)
    assert [r.given for r in history] == [True, False]
    assert history[-1].note == "left"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (pos.PositionIn(person="dev-e3", at=_at(1), lat=91.0, lon=70.0), "lat"),
        (pos.PositionIn(person="dev-e3", at=_at(1), lat=30.0, lon=float("nan")), "lon"),
        (pos.PositionIn(person="dev-e3", at=NOW + timedelta(hours=1), lat=30, lon=70), "future"),
        (pos.PositionIn(person="dev-e3", at=NOW - timedelta(days=45), lat=30, lon=70), "retention"),
        (pos.PositionIn(person="dev-e3", at=NOW.replace(tzinfo=None), lat=30, lon=70), "zone"),
        (pos.PositionIn(person="dev-e3", at=_at(1), lat=30, lon=70, accuracy_m=-3), "accuracy_m"),
        (pos.PositionIn(person="dev-nobody", at=_at(1), lat=30, lon=70), "person"),
    ],
)
def test_a_bad_report_refuses_the_whole_http_batch_naming_item_and_field(
    session: Session, alpha: Principal, item: pos.PositionIn, field: str
) -> None:
    _person(session, alpha, "e3")
    good = pos.PositionIn(person="dev-e3", at=_at(2), lat=30.0, lon=70.0)
    with pytest.raises(InvalidInput) as err:
        pos.ingest_positions(
            session, org_id=alpha.org_id, items=[good, item], source="http", now=NOW
        )
    assert "item 1" in err.value.msg
    assert field in err.value.msg
    assert "nothing was stored" in err.value.msg
    assert _count(session) == 0
    # the same report over MQTT: the good one is stored, the bad one returned with its reason
    report = pos.ingest_positions(
        session,
        org_id=alpha.org_id,
        items=[good, item],
        source="mqtt",
        all_or_nothing=False,
        now=NOW,
    )
    assert report.accepted == 1
    assert [i for i, _ in report.rejected] == [1]


def test_another_organisations_device_is_unknown(session: Session, alpha: Principal) -> None:
    bravo = _org(session, "bravo-pos")
    _person(session, bravo, "b1")
    item = pos.PositionIn(person="dev-b1", at=_at(1), lat=30.0, lon=70.0)
    with pytest.raises(InvalidInput, match="no active person"):
        pos.ingest_positions(session, org_id=alpha.org_id, items=[item], source="http", now=NOW)


def test_batches_are_bounded(session: Session, alpha: Principal) -> None:
    item = pos.PositionIn(person="x", at=_at(1), lat=30.0, lon=70.0)
    with pytest.raises(PayloadTooLarge, match="split"):
        pos.ingest_positions(
            session, org_id=alpha.org_id, items=[item] * (pos.MAX_BATCH + 1), source="http", now=NOW
        )


def test_reads_are_audited_with_their_reason_and_scoped_to_the_organisation(
    session: Session, alpha: Principal
) -> None:
    p = _person(session, alpha, "e4")
    items = [pos.PositionIn(person="dev-e4", at=_at(m), lat=34.9, lon=72.8) for m in (9, 6, 3)]
    pos.ingest_positions(session, org_id=alpha.org_id, items=items, source="http", now=NOW)
    track = pos.positions_of(
        session,
        principal=alpha,
        person_id=p.id,
        since=_at(7),
        reason="roll-call at Besham",
        now=NOW,
    )
    assert [t.at for t in track] == [_at(6), _at(3)]
    bravo = _org(session, "bravo-read")
    assert pos.latest_position(session, principal=bravo, person_id=p.id, reason="curious") is None
    with pytest.raises(InvalidInput, match="reason"):
        pos.latest_position(session, principal=alpha, person_id=p.id, reason=" ")
    reads = (
        session.execute(select(AuditEntry).where(AuditEntry.action == "personal_data.read"))
        .scalars()
        .all()
    )
    assert [r.detail["reason"] for r in reads] == ["roll-call at Besham", "curious"]


def test_retention_purge_deletes_old_positions_and_is_audited(
    session: Session, alpha: Principal
) -> None:
    p = _person(session, alpha, "e5")
    old = pos.PositionIn(person="dev-e5", at=NOW - timedelta(days=20), lat=30, lon=70)
    new = pos.PositionIn(person="dev-e5", at=NOW - timedelta(days=1), lat=31, lon=71)
    pos.ingest_positions(session, org_id=alpha.org_id, items=[old, new], source="http", now=NOW)
    assert pos.purge_positions(session, now=NOW)["alpha-pos"] == 0
    # 15 days later the first is past 30 days; 45 days later both, and the latest goes too
    assert pos.purge_positions(session, now=NOW + timedelta(days=15))["alpha-pos"] == 1
    assert pos.purge_positions(session, now=NOW + timedelta(days=45))["alpha-pos"] == 1
    assert _count(session) == 0
    assert session.get(LatestPosition, p.id) is None
    purges = (
        session.execute(select(AuditEntry).where(AuditEntry.action == "position.purge"))
        .scalars()
        .all()
    )
    assert [e.detail["deleted"] for e in purges] == [1, 1]


def test_person_fields_are_validated(session: Session, alpha: Principal) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"ref": "bad ref!"}, "ref"),
        ({"phone": "0300-123"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"languages": ["fr"]}, "languages"),
        ({"channels": ["sms"]}, "phone is not given"),
        ({"channels": ["pigeon"]}, "pigeon"),
        ({"emergency_contact": {"name": "A"}}, "emergency_contact"),
        ({"webhook_url": "ftp://x"}, "webhook_url"),
    ]
    for extra, word in cases:
        args: dict[str, object] = {"ref": "ok1", "name": "Ok"}
        args.update(extra)
        with pytest.raises(InvalidInput) as err:
            personnel.create_person(session, principal=alpha, **args)  # type: ignore[arg-type]
        assert word in err.value.msg
    personnel.create_person(session, principal=alpha, ref="dup", name="A", device_id="d1")
    with pytest.raises(Conflict):
        personnel.create_person(session, principal=alpha, ref="dup", name="B")
    with pytest.raises(NotFound):
        personnel.get_person(session, principal=alpha, person_id=uuid.uuid4())


def test_large_batches_take_the_bulk_path_with_the_same_rules(
    session: Session, alpha: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above ``_COPY_FROM`` rows PostgreSQL loads by COPY (positions and latest positions):
    duplicates, repeats and late reports must come out exactly as on the row-by-row path."""
    monkeypatch.setattr(pos, "_COPY_FROM", 30)  # so the 40 latest positions take it too
    people = [_person(session, alpha, f"bulk{k}") for k in range(40)]
    n = 600
    items = [
        pos.PositionIn(
            person=f"dev-bulk{k % 40}", at=_at(30 - k / 100), lat=33.0 + k / 1e4, lon=71.0
        )
        for k in range(n)
    ]
    first = pos.ingest_positions(session, org_id=alpha.org_id, items=items, source="http", now=NOW)
    assert (first.accepted, first.duplicates) == (n, 0)
    again = pos.ingest_positions(
        session, org_id=alpha.org_id, items=items[:50] + items[-500:], source="http", now=NOW
    )
    assert (again.accepted, again.duplicates) == (0, 550)
    assert _count(session) == n
    session.expire_all()
    for k, p in enumerate(people):
        latest = session.get(LatestPosition, p.id)
        assert latest is not None
        newest = max(i for i in range(n) if i % 40 == k)
        assert latest.at == _at(30 - newest / 100)
    # a late bulk batch never moves a latest position back
    late = [
        pos.PositionIn(person=f"dev-bulk{k % 40}", at=_at(60 + k / 100), lat=20.0, lon=60.0)
        for k in range(501)
    ]
    pos.ingest_positions(session, org_id=alpha.org_id, items=late, source="http", now=NOW)
    session.expire_all()
    assert all(session.get(LatestPosition, p.id).latitude > 30 for p in people)  # type: ignore[union-attr]


def test_bulk_path_keeps_accuracy_nulls_times_and_sources_exactly(
    session: Session, alpha: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The binary COPY rows of a batch mixing reports with and without accuracy, times in
    several zones, and a repeat of (person, time) in another zone come back as sent."""
    monkeypatch.setattr(pos, "_COPY_FROM", 3)
    people = [_person(session, alpha, f"mix{k}") for k in range(4)]
    plus5 = timezone(timedelta(hours=5))
    items = [
        pos.PositionIn(
            person=f"dev-mix{k % 4}",
            at=(_at(50 - k / 7) if k % 3 else _at(50 - k / 7).astimezone(plus5)),
            lat=30.0 + k / 1000,
            lon=70.0 - k / 1000,
            accuracy_m=None if k % 2 else 5.0 + k,
        )
        for k in range(40)
    ]
    repeat = pos.PositionIn(person="dev-mix0", at=items[0].at.astimezone(plus5), lat=0, lon=0)
    report = pos.ingest_positions(
        session, org_id=alpha.org_id, items=[*items, repeat], source="mqtt", now=NOW
    )
    assert (report.accepted, report.duplicates) == (40, 1)
    stored = session.execute(
        select(Position.at, Position.latitude, Position.accuracy_m, Position.source)
    ).all()
    assert sorted(stored) == sorted(
        (i.at.astimezone(UTC), i.lat, i.accuracy_m, "mqtt") for i in items
    )
    session.expire_all()
    for k, p in enumerate(people):
        latest = session.get(LatestPosition, p.id)
        newest = items[36 + k]
        assert latest is not None
        assert (latest.at, latest.latitude, latest.accuracy_m) == (
            newest.at.astimezone(UTC),
            newest.lat,
            newest.accuracy_m,
        )
