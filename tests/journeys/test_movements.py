"""Movements on a real store: a request planned and assessed on the stored forecast, decided
by the policy, approved by distinct approvers, tracked on the road and recorded in full."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.models import AuditEntry
from silkguard.core.access import Principal
from silkguard.core.db import make_engine
from silkguard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from silkguard.demo.seed import seed_demo
from silkguard.journeys import service as movements
from silkguard.journeys import states
from silkguard.journeys.models import Movement, MovementEvent
from silkguard.journeys.policy import load_policy
from silkguard.migrations import alembic_config, upgrade
from silkguard.risk import service as risk_service

NOW = datetime(2024, 7, 2, 6, 0, tzinfo=UTC)
DEPART = datetime(2024, 7, 3, 4, 0, tzinfo=UTC)  # 09:00 Karachi time: a day movement
ARRIVE = DEPART + timedelta(hours=11)
PASSWORD = "correct horse battery 42"


class People:
    def __init__(self, session: Session) -> None:
        slug = f"op-{uuid.uuid4().hex[:8]}"
        self.org = auth_service.create_org(session, slug=slug, name="Operator")
        other = auth_service.create_org(session, slug=f"{slug}-x", name="Other operator")
        self.controller = self._user(session, self.org.id, "ctl", "movement_controller")
        self.approver1 = self._user(session, self.org.id, "apa", "approver")
        self.approver2 = self._user(session, self.org.id, "apb", "approver")
        self.staff = self._user(session, self.org.id, "stf", "staff")
        self.stranger = self._user(session, other.id, "xap", "approver")

    @staticmethod
    def _user(session: Session, org_id: uuid.UUID, name: str, role: str) -> Principal:
        user = auth_service.create_user(
            session,
            org_id=org_id,
            username=f"{name}{uuid.uuid4().hex[:6]}",
            password=PASSWORD,
            role=role,
        )
        return Principal(org_id=org_id, role=role, user_id=user.id)


@pytest.fixture
def people(session: Session) -> People:
    return People(session)


@pytest.fixture
def forecast(session: Session) -> None:
    seed_demo(session, with_users=False)
    session.flush()
    risk_service.run_forecast(
        session, model="naive", as_of=datetime(2024, 7, 1, tzinfo=UTC), resolution=5
    )


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Movement)) or 0)


def _policy_for(level: int) -> str:
    """The default policy's escorts and two approvals, from ``level`` up."""
    return f"""
version = 1
name = "test operator"
revision = 3

[[rule]]
id = "escort-severe"
description = "Police and military escort through severe areas"
when = {{ min_level = {level} }}
require = ["police_escort", "military_escort"]

[[rule]]
id = "two-approvers-severe"
description = "Two approvers for severe areas"
when = {{ min_level = {level} }}
approvals = 2
"""


def _request(session: Session, who: Principal, **kw: object) -> Movement:
    args: dict[str, object] = {
        "origin": "Karachi",
        "destination": "Gwadar",
        "departure": DEPART,
        "arrival": ARRIVE,
        "vehicles": 2,
        "party": 4,
        "now": NOW,
    }
    args.update(kw)
    return movements.request_movement(session, principal=who, **args)  # type: ignore[arg-type]


def test_a_hot_route_needs_escorts_then_two_distinct_approvers(
    session: Session, people: People, forecast: None
) -> None:
    probe = _request(session, people.controller, submit=False)
    level = probe.assessment["max_level"]
    assert level >= 4  # the Makran coast is hot in the demo forecast
    assert probe.assessment["forecast_id"] is not None
    assert probe.assessment["riskiest"]
    assert all(s["reason"] for s in probe.assessment["riskiest"])
    assert max(s["level"] for s in probe.assessment["riskiest"]) == level
    policy = load_policy(_policy_for(level))

    m = _request(session, people.controller, policy=policy, purpose="site visit")
    assert m.state == "submitted"
    assert m.decision["status"] == "needs_measures"
    assert m.decision["missing_measures"] == ["military_escort", "police_escort"]
    assert any("escort-severe" in r for r in m.decision["reasons"])
    assert [f["rule"] for f in m.decision["fired"]] == ["escort-severe", "two-approvers-severe"]
    assert m.decision["fingerprint"] == policy.fingerprint
    assert m.route["coordinates"][0] == [m.origin_lon, m.origin_lat]
    assert m.route["length_km"] > 400

    with pytest.raises(Conflict, match="escort-severe"):
        movements.approve(session, principal=people.approver1, movement_id=m.id, now=NOW)

    m = movements.update_measures(
        session,
        principal=people.controller,
        movement_id=m.id,
        measures=["police_escort", "military_escort"],
        policy=policy,
        now=NOW,
    )
    assert m.decision["status"] == "needs_approval"
    assert m.decision["approvals_required"] == 2
    assert any("two-approvers-severe" in r for r in m.decision["reasons"])

    self_admin = Principal(org_id=people.org.id, role="admin", user_id=people.controller.user_id)
    with pytest.raises(PermissionDenied, match="requested this movement"):
        movements.approve(session, principal=self_admin, movement_id=m.id, now=NOW)
    with pytest.raises(PermissionDenied, match="approver or an admin"):
        movements.approve(session, principal=people.staff, movement_id=m.id, now=NOW)
    with pytest.raises(NotFound):  # AMBER: the other organisation does not even see it
        movements.approve(session, principal=people.stranger, movement_id=m.id, now=NOW)

    m = movements.approve(session, principal=people.approver1, movement_id=m.id, now=NOW)
    assert m.state == "submitted"
    with pytest.raises(Conflict, match="already approved"):
        movements.approve(session, principal=people.approver1, movement_id=m.id, now=NOW)
    m = movements.approve(session, principal=people.approver2, movement_id=m.id, now=NOW)
    assert m.state == "approved"

    record = movements.movement_record(session, movement_id=m.id)
    assert len(record["approvals"]) == 2
    kinds = [(e["kind"], e["to_state"]) for e in record["events"]]
    assert kinds == [
        ("transition", "draft"),
        ("transition", "submitted"),
        ("note", None),
        ("approval", None),
        ("approval", None),
        ("transition", "approved"),
    ]
    assert [e["id"] for e in record["events"]] == sorted(e["id"] for e in record["events"])
    assert record["decision"]["status"] == "needs_approval"
    assert record["assessment"]["max_level"] == level
    audited = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(m.id)).order_by(AuditEntry.id)
    ).all()
    assert audited == [
        "movement.request",
        "movement.update_measures",
        "movement.approve",
        "movement.approve",
    ]


def test_the_default_policy_on_the_hot_route(
    session: Session, people: People, forecast: None
) -> None:
    m = _request(session, people.controller)
    assert m.decision["policy"] == "silkguard default"
    assert m.decision["status"] in ("refused", "needs_measures")
    if m.assessment["max_level"] >= 5:
        assert "military_escort" in m.decision["missing_measures"] or (
            m.decision["status"] == "refused"
        )


def test_a_quiet_route_is_approved_at_submit(session: Session, people: People) -> None:
    m = _request(session, people.controller, origin="Islamabad", destination="Lahore")
    assert m.assessment["forecast_id"] is None  # no forecast: routed by time, level 1
    assert "no risk forecast" in m.assessment["note"]
    assert m.decision["status"] == "approved"
    assert m.state == "approved"


def test_via_places_are_kept_in_order(session: Session, people: People) -> None:
    m = _request(
        session, people.controller, origin="Islamabad", destination="Multan", via=["Lahore"]
    )
    assert [w["label"] for w in m.waypoints] == ["Lahore"]


def test_illegal_transitions_are_conflicts_naming_the_state(
    session: Session, people: People
) -> None:
    m = _request(session, people.controller, origin="Islamabad", destination="Lahore")
    assert m.state == "approved"
    with pytest.raises(Conflict, match="check in a movement that is approved"):
        movements.check_in(
            session, principal=people.controller, movement_id=m.id, lat=33.0, lon=73.0, now=NOW
        )
    with pytest.raises(Conflict, match=r"cannot arrive a movement that is approved; from approved"):
        movements.arrive(session, principal=people.controller, movement_id=m.id, now=NOW)
    movements.start(session, principal=people.controller, movement_id=m.id, now=DEPART)
    with pytest.raises(Conflict, match="cannot cancel a movement that is under_way"):
        movements.cancel(session, principal=people.controller, movement_id=m.id, now=DEPART)
    movements.check_in(
        session, principal=people.controller, movement_id=m.id, lat=32.5, lon=74.0, now=DEPART
    )
    movements.arrive(session, principal=people.controller, movement_id=m.id, now=ARRIVE)
    assert m.state == "arrived"
    assert m.arrived_at == ARRIVE
    with pytest.raises(Conflict, match="arrived is final"):
        movements.start(session, principal=people.controller, movement_id=m.id, now=ARRIVE)


def test_the_transition_table() -> None:
    assert states.transition("draft", "submit") is states.MovementState.SUBMITTED
    assert states.transition("overdue", "arrive") is states.MovementState.ARRIVED
    assert set(states.allowed("under_way")) == {
        states.Action.ARRIVE,
        states.Action.OVERDUE,
        states.Action.INCIDENT,
    }
    assert {"rejected", "cancelled", "arrived", "incident"} == states.FINAL
    with pytest.raises(Conflict, match="from submitted you may: approve"):
        states.transition("submitted", "start")
    with pytest.raises(Conflict) as err:
        states.transition("cancelled", "submit")
    assert err.value.http_status == 409


def test_reject_and_cancel(session: Session, people: People) -> None:
    policy = load_policy(_policy_for(1))
    m = _request(
        session,
        people.controller,
        origin="Islamabad",
        destination="Lahore",
        measures=["police_escort", "military_escort"],
        policy=policy,
    )
    assert m.state == "submitted"
    with pytest.raises(InvalidInput):
        movements.reject(session, principal=people.approver1, movement_id=m.id, reason=" ")
    movements.reject(session, principal=people.approver1, movement_id=m.id, reason="no need")
    assert m.state == "rejected"
    draft = _request(session, people.staff, origin="Islamabad", destination="Lahore", submit=False)
    assert draft.state == "draft"
    movements.cancel(session, principal=people.staff, movement_id=draft.id, reason="plans changed")
    assert draft.state == "cancelled"


def test_overdue_is_declared_once_and_the_listener_fires_once(
    session: Session, people: People
) -> None:
    seen: list[uuid.UUID] = []

    def listener(_s: Session, m: Movement) -> None:
        seen.append(m.id)

    movements.on_overdue(listener)
    try:
        m = _request(session, people.controller, origin="Islamabad", destination="Lahore")
        on_time = _request(session, people.controller, origin="Islamabad", destination="Lahore")
        movements.start(session, principal=people.controller, movement_id=m.id, now=DEPART)
        movements.start(session, principal=people.controller, movement_id=on_time.id, now=DEPART)
        movements.arrive(session, principal=people.controller, movement_id=on_time.id, now=ARRIVE)
        assert movements.detect_overdue(session, now=ARRIVE + timedelta(minutes=29)) == []
        late = ARRIVE + timedelta(minutes=31)
        assert movements.detect_overdue(session, now=late) == [m]
        assert movements.detect_overdue(session, now=late + timedelta(hours=1)) == []
        assert seen == [m.id]
        assert m.state == "overdue"
        movements.check_in(
            session, principal=people.controller, movement_id=m.id, lat=31.5, lon=74.3, now=late
        )
        movements.arrive(session, principal=people.controller, movement_id=m.id, now=late)
        record = movements.movement_record(session, movement_id=m.id)
        assert [e["to_state"] for e in record["events"] if e["kind"] == "transition"] == [
            "draft",
            "submitted",
            "approved",
            "under_way",
            "overdue",
            "arrived",
        ]
        assert [e["kind"] for e in record["events"]][-2] == "check_in"
    finally:
        movements._OVERDUE_LISTENERS.remove(listener)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"origin": "Atlantis Xq"}, "not in the gazetteer"),
        ({"destination": "51.5,-0.1"}, "km"),
        ({"departure": NOW - timedelta(hours=1)}, "in the past"),
        ({"arrival": DEPART - timedelta(hours=1)}, "not after departure"),
        ({"departure_latest": DEPART - timedelta(hours=1)}, "window ends"),
        ({"measures": ["police_escort", "jetpack"]}, "unknown measures"),
        ({"vehicles": 0}, "vehicles"),
        ({"departure": DEPART.replace(tzinfo=None)}, "time-zone aware"),
    ],
)
def test_bad_requests_store_nothing(
    session: Session, people: People, kw: dict[str, object], match: str
) -> None:
    before = _count(session)
    with pytest.raises(InvalidInput, match=match):
        _request(session, people.controller, **kw)
    assert _count(session) == before
    assert session.scalar(select(func.count()).select_from(MovementEvent)) == 0


def test_visibility_listing_and_board(session: Session, people: People) -> None:
    m = _request(session, people.controller, origin="Islamabad", destination="Lahore")
    d = _request(session, people.staff, origin="Islamabad", destination="Lahore", submit=False)
    mine = movements.list_movements(session, principal=people.approver1)
    assert {x.id for x in mine} >= {m.id, d.id}
    assert movements.list_movements(session, principal=people.stranger) == []
    drafts = movements.list_movements(session, principal=people.approver1, state="draft")
    assert [x.id for x in drafts] == [d.id]
    with pytest.raises(InvalidInput, match="does not exist"):
        movements.list_movements(session, principal=people.approver1, state="parked")
    board = movements.board(session, principal=people.controller)
    assert board["approved"] == 1
    assert board["draft"] == 1
    assert board["overdue"] == 0
    assert sum(movements.board(session, principal=people.stranger).values()) == 0
    with pytest.raises(NotFound):
        movements.get_movement(session, principal=people.stranger, movement_id=m.id)


def test_0006_downgrades_and_upgrades(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'movements.db'}")
    upgrade(eng)
    tables = {"movements", "movement_events", "movement_approvals"}
    assert tables <= set(inspect(eng).get_table_names())
    command.downgrade(alembic_config(eng), "0005")
    assert not tables & set(inspect(eng).get_table_names())
    upgrade(eng)
    assert tables <= set(inspect(eng).get_table_names())
    eng.dispose()


def test_the_night_rule_follows_the_schedule_of_the_dangerous_segment(
    session: Session, people: People, forecast: None
) -> None:
    """Karachi to Gwadar, about 10 h 15 min: the dangerous stretch is the last one, at
    Gwadar. Leaving at 05:00 (Pakistan time) the first hour is in the dark near Karachi, where
    the forecast is quiet, and Gwadar is reached in daylight: the night rule does not fire
    (the old whole-movement reading would have). Leaving at 12:00, Gwadar is reached after
    dark: it fires, and the same road costs more exposure."""
    dawn = datetime(2024, 7, 3, 0, 0, tzinfo=UTC)  # 05:00 PKT
    noon = datetime(2024, 7, 3, 7, 0, tzinfo=UTC)  # 12:00 PKT
    early = _request(
        session,
        people.controller,
        departure=dawn,
        arrival=dawn + timedelta(hours=10, minutes=30),
        submit=False,
    )
    late = _request(
        session,
        people.controller,
        departure=noon,
        arrival=noon + timedelta(hours=10, minutes=30),
        submit=False,
    )
    for m in (early, late):
        route, assessment = m.route, m.assessment
        assert route["depart"] == m.departure_start.isoformat()
        assert route["schedule"][0]["enter"] == route["depart"]
        assert route["schedule"][-1]["leave"] == route["arrive"]
        offsets = assessment["segment_offsets_s"]
        assert len(offsets) == len(assessment["levels_by_segment"])
        assert offsets[0][0] == 0
        assert offsets[-1][1] == pytest.approx(route["time_s"], abs=1)
        assert all("at_night" in s and "enter" in s for s in assessment["riskiest"])
    assert early.route["night_s"] == pytest.approx(3600, abs=1)
    assert early.route["schedule"][0]["at_night"]
    assert late.route["night_s"] > 3 * 3600
    assert late.route["night_exposure"] > early.route["night_exposure"]
    assert early.route["exposure"] == pytest.approx(late.route["exposure"])
    worst_early = max(early.assessment["riskiest"], key=lambda s: s["level"])
    worst_late = max(late.assessment["riskiest"], key=lambda s: s["level"])
    assert worst_early["level"] >= 3
    assert not worst_early["at_night"]
    assert worst_late["at_night"]
    assert "may be driven at night" in worst_late["reason"]
    fired_early = [f["rule"] for f in early.decision["fired"]]
    fired_late = [f["rule"] for f in late.decision["fired"]]
    assert "no-night-level-3" not in fired_early
    assert "no-night-level-3" in fired_late
    assert any("no-night-level-3" in r for r in late.decision["reasons"])
    why = next(f["why"] for f in late.decision["fired"] if f["rule"] == "no-night-level-3")
    assert "driven at night" in why
    # deciding again from the stored documents reads the same schedule
    again = movements.update_measures(
        session,
        principal=people.controller,
        movement_id=early.id,
        measures=["police_escort"],
        now=NOW,
    )
    assert "no-night-level-3" not in [f["rule"] for f in again.decision["fired"]]


def test_a_departure_window_widens_the_segment_spans(
    session: Session, people: People, forecast: None
) -> None:
    """Leaving between 05:00 and 10:00: Gwadar may be reached after dark, so the night rule
    fires (the conservative reading over the window)."""
    dawn = datetime(2024, 7, 3, 0, 0, tzinfo=UTC)
    m = _request(
        session,
        people.controller,
        departure=dawn,
        departure_latest=dawn + timedelta(hours=5),
        arrival=dawn + timedelta(hours=10, minutes=30),
        submit=False,
    )
    assert "no-night-level-3" in [f["rule"] for f in m.decision["fired"]]
