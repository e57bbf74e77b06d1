"""The bulk paths of a large alert: rows streamed with COPY on PostgreSQL are the rows an INSERT
stores, a fan-out over a thousand people refreshes the planner's statistics there, and one
delivery batch with mixed outcomes records each delivery's own outcome."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from silkguard.alerts import service as alerts
from silkguard.alerts.models import Alert, AlertRecipient, Delivery
from silkguard.auth import service as auth_service
from silkguard.core.db import insert_rows
from silkguard.people.models import LatestPosition, Person

NOW = datetime(2030, 3, 1, 6, 0, tzinfo=UTC)
SECRET = "bulk-test-secret"
GWADAR = (25.1264, 62.3225)
MESSAGES = {
    "en": {"headline": "Road closed at the port", "body": "Stay at the site."},
    "zh": {"headline": "港口道路封闭", "body": "请留在工地。"},
}


def _people(
    session: Session, count: int, *, channels: list[str]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    org = auth_service.create_org(session, slug=f"bulk-{uuid.uuid4().hex[:6]}", name="Bulk")
    session.flush()
    ids = [uuid.uuid4() for _ in range(count)]
    session.execute(
        insert(Person),
        [
            {
                "id": pid,
                "org_id": org.id,
                "ref": f"p{k}",
                "name": f"Person {k}",
                "function": "",
                "phone": f"+92300{k:07d}",
                "webhook_url": f"https://hooks.example/{k}",
                "languages": ["zh", "en"] if k % 2 else ["ur", "en"],
                "channels": channels,
                "location_consent": True,
                "active": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for k, pid in enumerate(ids)
        ],
    )
    session.execute(
        insert(LatestPosition),
        [
            {
                "person_id": pid,
                "org_id": org.id,
                "at": NOW - timedelta(minutes=5),
                "latitude": GWADAR[0] + 0.0001 * (k % 50),
                "longitude": GWADAR[1] + 0.0001 * (k // 50),
                "accuracy_m": 10.0,
                "h3_r7": 0,
            }
            for k, pid in enumerate(ids)
        ],
    )
    session.flush()
    return org.id, ids


def _raise(session: Session, org_id: uuid.UUID) -> Alert:
    return alerts.raise_alert(
        session,
        principal=None,
        org_id=org_id,
        area={"type": "Circle", "center": [GWADAR[1], GWADAR[0]], "radius_km": 5},
        severity="high",
        category="security",
        messages=MESSAGES,
        secret=SECRET,
        now=NOW,
    )


def test_insert_rows_stores_what_an_insert_stores(session: Session) -> None:
    org_id, ids = _people(session, 3, channels=["webhook"])
    alert = _raise(session, org_id)
    session.execute(text("DELETE FROM deliveries"))
    karachi = timezone(timedelta(hours=5))
    rows = [
        {
            "alert_id": alert.id,
            "person_id": pid,
            "channel": "sms",
            "purpose": purpose,
            "rank": k,
            "state": "queued",
            "attempts": k,
            "error": None if k else "it's a \t tab, a \\ and a\nnewline",
            "created_at": datetime(2030, 3, 1, 11, k, tzinfo=karachi),
            "updated_at": NOW,
        }
        for k, (pid, purpose) in enumerate(zip(ids, ["alert", "reminder-1", "alert"], strict=True))
    ]
    insert_rows(session, Delivery, rows[:2])
    session.execute(insert(Delivery), rows[2:])
    stored = session.execute(
        select(
            Delivery.person_id,
            Delivery.purpose,
            Delivery.rank,
            Delivery.attempts,
            Delivery.error,
            Delivery.created_at,
        ).order_by(Delivery.rank)
    ).all()
    assert [tuple(r) for r in stored] == [
        (r["person_id"], r["purpose"], r["rank"], r["attempts"], r["error"], r["created_at"])
        for r in rows
    ]
    # stored as UTC, as the bind processing of an INSERT does
    assert stored[0].created_at == datetime(2030, 3, 1, 6, 0, tzinfo=UTC)
    assert stored[0].created_at.tzinfo == UTC


def test_insert_rows_of_nothing_does_nothing(session: Session) -> None:
    insert_rows(session, Delivery, [])
    assert session.scalar(select(Delivery.id)) is None


def test_a_large_fan_out_reaches_everyone_and_gives_the_planner_statistics(
    session: Session,
) -> None:
    org_id, ids = _people(session, 1_200, channels=["webhook", "sms"])
    alert = _raise(session, org_id)
    recipients = session.execute(
        select(AlertRecipient.person_id, AlertRecipient.language, AlertRecipient.reasons).where(
            AlertRecipient.alert_id == alert.id
        )
    ).all()
    assert {r.person_id for r in recipients} == set(ids)
    assert {r.reasons for r in recipients} == {"position"}
    # the roll-call language is the first of the person's languages the alert is written in
    by_ref = dict(session.execute(select(Person.id, Person.ref)).all())
    for r in recipients:
        k = int(by_ref[r.person_id][1:])
        assert r.language == ("zh" if k % 2 else "en")
    queued = session.execute(
        select(Delivery.channel, Delivery.state, Delivery.rank).where(Delivery.alert_id == alert.id)
    ).all()
    assert len(queued) == 1_200
    assert set(queued) == {("webhook", "queued", 0)}
    if session.get_bind().dialect.name == "postgresql":
        tuples = session.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = 'alert_recipients'::regclass")
        )
        assert tuples is not None
        assert tuples >= 1_200


def test_one_batch_records_each_outcome_and_escalates_the_failures(session: Session) -> None:
    org_id, ids = _people(session, 6, channels=["webhook", "sms"])
    alert = _raise(session, org_id)
    queued = alerts.queued_deliveries(session, alert_id=alert.id)
    url_of = dict(session.execute(select(Person.id, Person.webhook_url)).all())
    outcome_of = {
        "0": alerts.SendResult(state="delivered"),
        "1": alerts.SendResult(state="sent", provider_id="gw-1"),
        "2": alerts.SendResult(state="failed", error="HTTP 410 gone"),
    }

    def sender(message: alerts.Outbound) -> alerts.SendResult:
        return outcome_of[str(int(message.address.rsplit("/", 1)[1]) % 3)]

    follow = alerts.deliver_many(
        session,
        delivery_ids=queued,
        senders={"webhook": sender},
        secret=SECRET,
        now=NOW + timedelta(seconds=5),
    )
    expected = {pid: outcome_of[str(int(url_of[pid].rsplit("/", 1)[1]) % 3)] for pid in ids}
    loaded = {d.person_id: d for d in session.scalars(select(Delivery).where(Delivery.rank == 0))}
    session.expire_all()
    fresh = {d.person_id: d for d in session.scalars(select(Delivery).where(Delivery.rank == 0))}
    for pid, result in expected.items():
        for d in (loaded[pid], fresh[pid]):
            assert (d.state, d.error, d.provider_id, d.attempts) == (
                result.state,
                result.error,
                result.provider_id,
                1,
            )
            assert d.updated_at == NOW + timedelta(seconds=5)
    failed = {pid for pid, r in expected.items() if r.state == "failed"}
    assert len(failed) == 2
    escalated = session.execute(
        select(Delivery.person_id, Delivery.channel, Delivery.rank).where(Delivery.id.in_(follow))
    ).all()
    assert {(p, c, r) for p, c, r in escalated} == {(pid, "sms", 1) for pid in failed}
    # a second run of the same batch sends nothing again
    assert (
        alerts.deliver_many(
            session, delivery_ids=queued, senders={"webhook": sender}, secret=SECRET
        )
        == []
    )
