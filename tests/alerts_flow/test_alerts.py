"""An alert over the Dasu site as a control room raises it: who is affected and why, delivery
with escalation to the next channel, bilingual messages, roll-call by link, SMS and duress,
reminders and escalation to the supervisor, closing with who was never reached, SOS and the
escort timer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.alerts import overdue
from silkguard.alerts import service as alerts
from silkguard.alerts.models import Alert, Delivery
from silkguard.auth import service as auth_service
from silkguard.auth.models import AuditEntry
from silkguard.core.access import Principal
from silkguard.core.errors import Conflict, InvalidInput, NotFound
from silkguard.journeys import service as movements
from silkguard.journeys.policy import load_policy
from silkguard.people import personnel
from silkguard.people import positions as pos
from silkguard.people import service as sites

NOW = datetime(2030, 3, 1, 6, 0, tzinfo=UTC)
SECRET = "alerts-test-secret"
DASU = (35.2917, 73.2251)
MESSAGES = {
    "en": {"headline": "Armed attack reported near Dasu", "body": "Stay inside the camp."},
    "zh": {"headline": "达苏附近发生武装袭击", "body": "请留在营地内。"},
}
NO_RULES = load_policy(
    'version = 1\nname = "t"\nrevision = 1\n[[rule]]\nid = "r"\ndescription = "d"\n'
    "when = { min_vehicles = 90 }\nforbid = true\n"
)


class World:
    def __init__(self, session: Session) -> None:
        org = auth_service.create_org(session, slug="dasu-ops", name="Dasu operator")
        session.flush()
        self.who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
        site = sites.create_site(
            session,
            org_id=org.id,
            slug="dasu-camp",
            name="Dasu camp",
            kind="camp",
            latitude=DASU[0],
            longitude=DASU[1],
        )
        mk = personnel.create_person
        self.boss = mk(
            session,
            principal=self.who,
            ref="boss",
            name="Site manager",
            phone="+923000000001",
            channels=["sms"],
            now=NOW,
        )
        self.engineer = mk(
            session,
            principal=self.who,
            ref="eng",
            name="Wang Lei",
            languages=["zh", "en"],
            webhook_url="https://hooks.example/wang",
            phone="+923000000002",
            channels=["webhook", "sms"],
            home_site_id=site.id,
            supervisor_id=self.boss.id,
            emergency_contact={"name": "Li Na", "phone": "+8613800000000"},
            now=NOW,
        )
        self.unreachable = mk(
            session,
            principal=self.who,
            ref="nomail",
            name="No channels",
            home_site_id=site.id,
            now=NOW,
        )
        self.walker = mk(
            session,
            principal=self.who,
            ref="walk",
            name="Walker",
            device_id="tab-w",
            channels=["mqtt"],
            location_consent=True,
            now=NOW,
        )
        self.far = mk(
            session,
            principal=self.who,
            ref="far",
            name="Karachi clerk",
            device_id="tab-k",
            channels=["mqtt"],
            location_consent=True,
            now=NOW,
        )
        self.driver = mk(
            session,
            principal=self.who,
            ref="drv",
            name="Driver",
            phone="+923000000003",
            channels=["sms"],
            now=NOW,
        )
        pos.ingest_positions(
            session,
            org_id=org.id,
            source="http",
            now=NOW,
            items=[
                pos.PositionIn(person="tab-w", at=NOW - timedelta(minutes=3), lat=35.30, lon=73.23),
                pos.PositionIn(person="tab-k", at=NOW - timedelta(minutes=3), lat=24.86, lon=67.0),
            ],
        )
        m = movements.request_movement(
            session,
            principal=self.who,
            origin="Besham",
            destination="Dasu",
            departure=NOW + timedelta(minutes=5),
            arrival=NOW + timedelta(hours=3),
            party_ids=[self.driver.id],
            policy=NO_RULES,
            now=NOW,
        )
        movements.start(
            session, principal=self.who, movement_id=m.id, now=NOW + timedelta(minutes=6)
        )
        session.flush()


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def _raise(session: Session, w: World, **kw: object) -> Alert:
    args: dict[str, object] = {
        "principal": w.who,
        "org_id": w.who.org_id,
        "area": {"type": "Circle", "center": [DASU[1], DASU[0]], "radius_km": 8},
        "severity": "high",
        "category": "security",
        "messages": MESSAGES,
        "secret": SECRET,
        "now": NOW + timedelta(minutes=10),
    }
    args.update(kw)
    return alerts.raise_alert(session, **args)  # type: ignore[arg-type]


def _deliver_all(session: Session, senders: dict[str, alerts.Sender]) -> None:
    pending = alerts.queued_deliveries(session)
    while pending:
        nxt: list[int] = []
        for d in pending:
            nxt += alerts.deliver(session, delivery_id=d, senders=senders, secret=SECRET)
        pending = nxt


def test_fan_out_delivery_escalation_and_roll_call(session: Session, world: World) -> None:
    w = world
    alert = _raise(session, w)
    b = alerts.board(session, principal=w.who, alert_id=alert.id)
    expected = {w.engineer.id, w.unreachable.id, w.walker.id, w.driver.id}
    assert set(b.unaccounted) == expected  # not the Karachi clerk, not the boss
    reasons = {
        r.person_id: r.reasons
        for r in session.execute(
            select(alerts.AlertRecipient).where(alerts.AlertRecipient.alert_id == alert.id)
        ).scalars()
    }
    assert reasons[w.engineer.id] == "site"
    assert reasons[w.walker.id] == "position"
    assert reasons[w.driver.id] == "movement"

    sent: list[alerts.Outbound] = []

    def webhook(m: alerts.Outbound) -> alerts.SendResult:
        sent.append(m)
        return alerts.SendResult(state="failed", error="HTTP 503 after 3 attempts")

    def ok(m: alerts.Outbound) -> alerts.SendResult:
        sent.append(m)
        return alerts.SendResult(state="sent", provider_id=f"id-{len(sent)}")

    senders: dict[str, alerts.Sender] = {"webhook": webhook, "sms": ok, "mqtt": ok}
    _deliver_all(session, senders)
    _deliver_all(session, senders)  # running again sends nothing more
    by_person = {(m.address, m.channel) for m in sent}
    assert ("https://hooks.example/wang", "webhook") in by_person
    assert ("+923000000002", "sms") in by_person  # escalated to the next channel
    assert len(sent) == 4
    chinese = next(m for m in sent if m.channel == "sms" and m.address == "+923000000002")
    assert chinese.language == "zh"
    assert "达苏附近发生武装袭击" in chinese.subject
    token = alerts.rollcall_token(SECRET, alert.id, w.engineer.id)
    assert token in chinese.body

    # answers: by link, by SMS, and one left unaccounted with no channel at all
    alerts.answer_rollcall(session, token=token, answer="safe", via="web", secret=SECRET)
    alerts.inbound_sms(session, phone="+923000000003", text="help", secret=SECRET)
    walker_token = alerts.rollcall_token(SECRET, alert.id, w.walker.id)
    alerts.answer_rollcall(session, token=walker_token, answer="safe", via="mqtt", secret=SECRET)
    b = alerts.board(session, principal=w.who, alert_id=alert.id)
    assert b.unaccounted == [w.unreachable.id]
    assert b.need_help == [w.driver.id]
    assert b.never_reached == [w.unreachable.id]
    assert b.deliveries == {"failed": 1, "sent": 3}

    # the one left has no channel: nothing to remind them with
    assert alerts.remind(session, now=NOW + timedelta(minutes=25)) == []
    final = alerts.close_alert(
        session, principal=w.who, alert_id=alert.id, now=NOW + timedelta(hours=1)
    )
    assert final.never_reached == [w.unreachable.id]
    with pytest.raises(Conflict):
        alerts.answer_rollcall(session, token=token, answer="safe", via="web", secret=SECRET)
    closing = session.execute(
        select(AuditEntry).where(AuditEntry.action == "alert.close")
    ).scalar_one()
    assert closing.detail["never_reached"] == [str(w.unreachable.id)]


def test_reminders_then_escalation_to_the_supervisor(session: Session, world: World) -> None:
    w = world
    _raise(session, w, drill=True)
    first = alerts.remind(session, now=NOW + timedelta(minutes=21))
    people = {session.get(Delivery, d).person_id for d in first}  # type: ignore[union-attr]
    assert w.engineer.id in people
    escalated = alerts.remind(session, now=NOW + timedelta(minutes=45))
    purposes = {session.get(Delivery, d).purpose for d in escalated}  # type: ignore[union-attr]
    assert f"esc-{w.engineer.id.hex[:8]}" in purposes  # the boss hears about the engineer
    sent: list[alerts.Outbound] = []
    _deliver_all(
        session,
        {
            k: lambda m: (sent.append(m), alerts.SendResult(state="sent"))[1]
            for k in ("sms", "mqtt", "webhook")
        },
    )
    assert all(m.drill for m in sent)  # the channels mark every drill message
    assert any(m.address == "+923000000001" for m in sent)  # the supervisor
    contact = next(m for m in sent if m.address == "+8613800000000")  # the emergency contact
    assert "Wang Lei has not answered" in contact.body


def test_duress_reads_safe_but_raises_an_sos(session: Session, world: World) -> None:
    w = world
    alert = _raise(session, w)
    alerts.set_duress_code(session, person_id=w.walker.id, code="9911")
    token = alerts.rollcall_token(SECRET, alert.id, w.walker.id)
    rec = alerts.answer_rollcall(
        session, token=token, answer="safe", via="web", code="9911", secret=SECRET
    )
    assert rec.answer == "safe"
    assert w.walker.id in alerts.board(session, principal=w.who, alert_id=alert.id).safe
    sos = session.execute(select(Alert).where(Alert.source == "sos")).scalar_one()
    assert sos.source_ref == f"duress:{alert.id}"
    assert sos.severity == "critical"
    sos_board = alerts.board(session, principal=w.who, alert_id=sos.id)
    assert w.walker.id in sos_board.need_help
    # the walker is not messaged about their own SOS
    own = (
        session.execute(
            select(Delivery).where(Delivery.alert_id == sos.id, Delivery.person_id == w.walker.id)
        )
        .scalars()
        .all()
    )
    assert own == []
    # a wrong code is a normal safe answer
    alerts.set_duress_code(session, person_id=w.engineer.id, code="1234")
    t2 = alerts.rollcall_token(SECRET, alert.id, w.engineer.id)
    alerts.answer_rollcall(session, token=t2, answer="safe", via="web", code="0000", secret=SECRET)
    assert len(session.execute(select(Alert).where(Alert.source == "sos")).scalars().all()) == 1


def test_escort_timer_fires_unless_cancelled(session: Session, world: World) -> None:
    w = world
    kept = alerts.start_escort(session, person_id=w.walker.id, minutes=20, now=NOW)
    cancelled = alerts.start_escort(session, person_id=w.walker.id, minutes=20, now=NOW)
    alerts.cancel_escort(session, timer_id=cancelled.id, person_id=w.walker.id)
    assert alerts.fire_due_escorts(session, secret=SECRET, now=NOW + timedelta(minutes=19)) == []
    fired = alerts.fire_due_escorts(session, secret=SECRET, now=NOW + timedelta(minutes=21))
    assert len(fired) == 1
    assert kept.state == "fired"
    assert cancelled.state == "cancelled"
    with pytest.raises(Conflict):
        alerts.cancel_escort(session, timer_id=kept.id, person_id=w.walker.id)


def test_bad_alerts_are_refused_and_store_nothing(session: Session, world: World) -> None:
    w = world
    cases: list[tuple[dict[str, object], str]] = [
        ({"messages": {"en": MESSAGES["en"]}}, "Chinese"),
        ({"area": {"type": "Circle", "center": [73.2, 95], "radius_km": 5}}, "area.center"),
        ({"area": {"type": "Circle", "center": [73.2, 35.3], "radius_km": 0}}, "radius_km"),
        ({"area": {"type": "Point", "coordinates": [73, 35]}}, "area.type"),
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[73, 35], [74, 36], [74, 35], [73, 36], [73, 35]]],
                }
            },
            "not valid",
        ),
        ({"severity": "apocalyptic"}, "severity"),
        ({"valid_for": timedelta(days=30)}, "valid_for"),
    ]
    for extra, word in cases:
        with pytest.raises(InvalidInput, match=word):
            _raise(session, w, **extra)
    assert session.execute(select(Alert)).scalars().all() == []
    with pytest.raises(NotFound):
        alerts.answer_rollcall(session, token="nope", answer="safe", via="web", secret=SECRET)


def test_an_overdue_movement_raises_an_alert_to_its_party(session: Session, world: World) -> None:
    overdue.install(SECRET)
    found = movements.detect_overdue(session, now=NOW + timedelta(hours=5))
    assert len(found) == 1
    alert = session.execute(select(Alert).where(Alert.source == "overdue_movement")).scalar_one()
    assert alert.source_ref == f"movement:{found[0].id}"
    b = alerts.board(session, principal=world.who, alert_id=alert.id)
    assert world.driver.id in b.unaccounted
    assert "Besham" in alert.messages["en"]["headline"]
    # declared once: a second check raises nothing more
    assert movements.detect_overdue(session, now=NOW + timedelta(hours=6)) == []
    assert len(session.execute(select(Alert)).scalars().all()) == 1
