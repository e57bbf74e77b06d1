"""Automatic check-ins: a movement on the road is checked in at each waypoint and at its
destination when a member's position comes near, once, and only from positions taken after
it started."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.models import AuditEntry
from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput
from silkguard.journeys import service as movements
from silkguard.journeys.models import Movement, MovementEvent
from silkguard.journeys.policy import load_policy
from silkguard.people import personnel
from silkguard.people import positions as pos

NOW = datetime(2030, 3, 1, 6, 0, tzinfo=UTC)
NO_RULES = load_policy(
    'version = 1\nname = "t"\nrevision = 1\n[[rule]]\nid = "r"\ndescription = "d"\n'
    "when = { min_vehicles = 90 }\nforbid = true\n"
)


class Trip:
    """Besham -> Dasu through Pattan, with a consenting driver and a passenger who did not
    consent to share positions."""

    def __init__(self, session: Session) -> None:
        org = auth_service.create_org(session, slug=f"kkh-{uuid.uuid4().hex[:6]}", name="KKH")
        user = auth_service.create_user(
            session,
            org_id=org.id,
            username=f"ctl{uuid.uuid4().hex[:6]}",
            password="correct horse battery 42",
            role="movement_controller",
        )
        self.who = Principal(org_id=org.id, role="movement_controller", user_id=user.id)
        self.org_id = org.id
        self.driver = personnel.create_person(
            session,
            principal=self.who,
            ref="drv",
            name="Driver",
            device_id="trk-1",
            channels=["mqtt"],
            location_consent=True,
            now=NOW,
        )
        self.movement = movements.request_movement(
            session,
            principal=self.who,
            origin="Besham",
            destination="Dasu",
            via=["Pattan"],
            departure=NOW + timedelta(minutes=5),
            arrival=NOW + timedelta(hours=3),
            party_ids=[self.driver.id],
            policy=NO_RULES,
            now=NOW,
        )
        movements.start(
            session,
            principal=self.who,
            movement_id=self.movement.id,
            now=NOW + timedelta(minutes=6),
        )

    def report(self, session: Session, at: datetime, lat: float, lon: float) -> None:
        pos.ingest_positions(
            session,
            org_id=self.org_id,
            source="http",
            now=at,
            items=[pos.PositionIn(person="trk-1", at=at, lat=lat, lon=lon)],
        )

    def point(self, key: str) -> tuple[float, float]:
        m = self.movement
        if key == "destination":
            return m.destination_lat, m.destination_lon
        w = m.waypoints[int(key.split(":")[1])]
        return w["lat"], w["lon"]


def _check_ins(session: Session, m: Movement) -> list[MovementEvent]:
    return list(
        session.scalars(
            select(MovementEvent)
            .where(MovementEvent.movement_id == m.id, MovementEvent.kind == "check_in")
            .order_by(MovementEvent.id)
        )
    )


@pytest.fixture
def trip(session: Session) -> Trip:
    return Trip(session)


def test_waypoint_then_destination_each_checked_in_once(session: Session, trip: Trip) -> None:
    assert trip.movement.state == "under_way"
    assert len(trip.movement.waypoints) == 1
    t = NOW + timedelta(minutes=30)
    # on the road, far from any point: nothing
    trip.report(session, t, 34.95, 72.95)
    assert movements.auto_check_ins(session, now=t) == []
    # 300 m from Pattan: the waypoint is checked in
    lat, lon = trip.point("via:0")
    t += timedelta(minutes=40)
    trip.report(session, t, lat + 0.0027, lon)
    made = movements.auto_check_ins(session, now=t)
    assert [e.detail["point"] for e in made] == ["via:0"]
    assert made[0].actor == "system"
    assert made[0].detail["auto"] is True
    assert made[0].detail["person_id"] == str(trip.driver.id)
    assert made[0].detail["position_at"] == t.isoformat()
    # running again (every minute) adds nothing
    assert movements.auto_check_ins(session, now=t + timedelta(minutes=1)) == []
    # at Dasu: the destination; the movement stays under way until someone confirms arrival
    lat, lon = trip.point("destination")
    t += timedelta(hours=1)
    trip.report(session, t, lat, lon - 0.005)
    made = movements.auto_check_ins(session, now=t)
    assert [e.detail["point"] for e in made] == ["destination"]
    assert [e.detail["point"] for e in _check_ins(session, trip.movement)] == [
        "via:0",
        "destination",
    ]
    assert trip.movement.state == "under_way"
    audited = session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(trip.movement.id))
    ).all()
    assert audited.count("movement.auto_check_in") == 2


def test_positions_before_the_start_outside_the_radius_or_of_others_do_not_count(
    session: Session, trip: Trip
) -> None:
    lat, lon = trip.point("destination")
    # at the destination before the movement started (the previous trip)
    trip.report(session, NOW + timedelta(minutes=1), lat, lon)
    # 1.5 km away after the start
    trip.report(session, NOW + timedelta(minutes=50), lat + 0.0135, lon)
    assert movements.auto_check_ins(session, now=NOW + timedelta(hours=1)) == []
    # a wider radius takes the second one
    wide = movements.auto_check_ins(session, now=NOW + timedelta(hours=1), radius_km=2.0)
    assert [e.detail["point"] for e in wide] == ["destination"]
    # someone who is not a member of the movement, at the waypoint
    other = personnel.create_person(
        session,
        principal=trip.who,
        ref="oth",
        name="Not on this trip",
        device_id="trk-2",
        channels=["mqtt"],
        location_consent=True,
        now=NOW,
    )
    assert other.id != trip.driver.id
    wlat, wlon = trip.point("via:0")
    at = NOW + timedelta(hours=2)
    pos.ingest_positions(
        session,
        org_id=trip.org_id,
        source="http",
        now=at,
        items=[pos.PositionIn(person="trk-2", at=at, lat=wlat, lon=wlon)],
    )
    assert movements.auto_check_ins(session, now=at) == []


def test_movements_not_on_the_road_are_left_alone(session: Session, trip: Trip) -> None:
    movements.arrive(
        session, principal=trip.who, movement_id=trip.movement.id, now=NOW + timedelta(hours=2)
    )
    lat, lon = trip.point("destination")
    trip.report(session, NOW + timedelta(hours=2, minutes=5), lat, lon)
    assert movements.auto_check_ins(session, now=NOW + timedelta(hours=3)) == []


def test_a_bad_radius_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="radius_km"):
        movements.auto_check_ins(session, now=NOW, radius_km=0)
