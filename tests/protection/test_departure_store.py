"""A movement's departure drawn at random among the equally good departures of its window:
reproducible from its seed, never a worse (darker) departure, recorded in the history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.core.access import Principal
from silkguard.journeys import service as movements
from silkguard.journeys.departures import night_seconds
from silkguard.journeys.models import MovementEvent
from silkguard.journeys.policy import load_policy
from silkguard.protection.service import randomize_departure

NO_RULES = load_policy(
    'version = 1\nname = "t"\nrevision = 1\n[[rule]]\nid = "r"\ndescription = "d"\n'
    "when = { min_vehicles = 90 }\nforbid = true\n"
)


def test_random_departures_stay_among_the_best_and_replay_from_the_seed(session: Session) -> None:
    org = auth_service.create_org(session, slug="dep-org", name="Departures")
    session.flush()
    who = Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())
    # a window from 01:00 to 13:00 UTC (06:00-18:00 Pakistan time)
    m = movements.request_movement(
        session,
        principal=who,
        origin="Lahore",
        destination="Multan",
        departure=datetime(2030, 1, 10, 1, tzinfo=UTC),
        departure_latest=datetime(2030, 1, 10, 13, tzinfo=UTC),
        arrival=datetime(2030, 1, 10, 6, tzinfo=UTC),
        policy=NO_RULES,
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    trip = timedelta(seconds=float(m.route["time_s"]))
    first = randomize_departure(session, principal=who, movement_id=m.id, seed=11)
    again = randomize_departure(session, principal=who, movement_id=m.id, seed=11)
    assert first.chosen == again.chosen
    least = min(night_seconds(d, d + trip) for d in first.candidates)
    assert all(night_seconds(d, d + trip) <= least + 1 for d in first.candidates)
    assert night_seconds(first.chosen, first.chosen + trip) == least
    # a departure at night is never a candidate when daylight ones exist
    assert all(d.astimezone(UTC).hour < 13 for d in first.candidates)
    drawn = {
        randomize_departure(session, principal=who, movement_id=m.id, seed=s).chosen
        for s in range(12)
    }
    assert len(drawn) > 1  # it is a draw, not a fixed hour
    notes = session.scalars(
        select(MovementEvent).where(MovementEvent.movement_id == m.id, MovementEvent.kind == "note")
    ).all()
    assert [n.detail["seed"] for n in notes[:2]] == [11, 11]
