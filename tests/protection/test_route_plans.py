"""The escort game on the store: the segments of an organisation's planned movements in time
slots, seeded audited calendars, and a movement's route and departure drawn in step with it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import numpy as np
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
from silkguard.protection.movement_draw import draw_route
from silkguard.protection.route_draw import Candidate, choose
from silkguard.protection.route_plans import GameSettings, plan_routes, sample_routes

NO_RULES = load_policy(
    'version = 1\nname = "t"\nrevision = 1\n[[rule]]\nid = "r"\ndescription = "d"\n'
    "when = { min_vehicles = 90 }\nforbid = true\n"
)
NOW = datetime(2030, 1, 1, tzinfo=UTC)
DAY = date(2030, 1, 5)


def _org(session: Session, slug: str) -> Principal:
    org = auth_service.create_org(session, slug=slug, name=slug)
    session.flush()
    return Principal(org_id=org.id, role="admin", api_key_id=uuid.uuid4())


def _move(session: Session, who: Principal, a: str, b: str, hour: int, party: int) -> Movement:
    return movements.request_movement(
        session,
        principal=who,
        origin=a,
        destination=b,
        departure=datetime(2030, 1, 5, hour, tzinfo=UTC),
        departure_latest=datetime(2030, 1, 5, hour + 2, tzinfo=UTC),
        arrival=datetime(2030, 1, 5, hour + 8, tzinfo=UTC),
        party=party,
        policy=NO_RULES,
        now=NOW,
    )


def test_the_game_covers_the_planned_movements_segments(session: Session) -> None:
    who = _org(session, "rg-org")
    first = _move(session, who, "Karachi", "Gwadar", 3, 8)
    second = _move(session, who, "Gwadar", "Turbat", 4, 3)
    other = _org(session, "rg-other")
    _move(session, other, "Lahore", "Multan", 3, 50)  # another organisation's: not counted
    plan = plan_routes(
        session, principal=who, settings=GameSettings(teams=2, checkposts=1), days=2, start=DAY
    )
    assert plan.movement_ids == [str(first.id), str(second.id)]
    assert plan.forecast_id is None
    rows = plan.rows()
    assert len(rows) == 4 * len(plan.segmentation.segments)
    # the parties are counted where and when they travel; nothing else carries more than 1
    assert max(r["people"] for r in rows) == 8  # type: ignore[type-var]
    assert {r["consequence"] for r in rows if r["people"] == 0} == {1.0}
    assert all("Multan" not in str(r["segment"]) for r in rows)
    sol = plan.solution
    for res, q in zip(sol.game.resources, sol.schedule_probabilities, strict=True):
        assert q is not None
        assert float(q.sum()) <= res.count + 1e-7
    u = sol.game.payoffs.attacker_uncovered - sol.coverage * sol.game.payoffs.attacker_loss
    assert u[sol.attacker_target] == pytest.approx(u.max(), abs=1e-7)
    doc = plan.as_dict()
    assert doc["resources"] == {"escort team": 2, "checkpost": 1}
    assert "people on the worst day" in " ".join(str(r["reason"]) for r in rows)


def test_pairs_without_movements_and_clear_errors(session: Session) -> None:
    who = _org(session, "rg-pairs")
    with pytest.raises(InvalidInput, match="no movement of your organisation is submitted"):
        plan_routes(session, principal=who, start=DAY)
    plan = plan_routes(
        session,
        principal=who,
        pairs=[{"origin": "Gwadar", "destination": "Turbat", "party": 5}],
        days=1,
        start=DAY,
    )
    assert {r["people"] for r in plan.rows()} == {5.0}  # a pair counts in every slot
    with pytest.raises(InvalidInput, match="escort team unit"):
        plan_routes(
            session,
            principal=who,
            settings=GameSettings(teams=999),
            pairs=[{"origin": "Gwadar", "destination": "Turbat"}],
            start=DAY,
        )
    with pytest.raises(InvalidInput, match="one weight per slot"):
        plan_routes(
            session,
            principal=who,
            settings=GameSettings(slot_weights=(1.0, 2.0)),
            pairs=[{"origin": "Gwadar", "destination": "Turbat"}],
            start=DAY,
        )


def test_calendars_replay_from_their_audited_seed(session: Session) -> None:
    who = _org(session, "rg-cal")
    _move(session, who, "Karachi", "Gwadar", 3, 8)
    settings = GameSettings(teams=2, qrf=1)
    plan, cal = sample_routes(session, principal=who, settings=settings, days=3, start=DAY, seed=41)
    _, again = sample_routes(session, principal=who, settings=settings, days=3, start=DAY, seed=41)
    assert plan.calendar_days(cal) == plan.calendar_days(again)
    days = plan.calendar_days(cal)
    assert [d["date"] for d in days] == ["2030-01-05", "2030-01-06", "2030-01-07"]
    for d in days:
        units = d["units"]
        assert len(units) == 3  # two escort teams and one reaction force, every day
        for u in units:
            assert len(u["slots"]) <= 1  # a stretch within one slot (or reserve)
    seeds = [
        e.detail["seed"]
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "plan.routes.sample")
        )
    ]
    assert seeds == [41, 41]


def test_a_movement_draws_its_route_and_departure_within_policy(session: Session) -> None:
    who = _org(session, "rg-draw")
    _move(session, who, "Karachi", "Gwadar", 3, 8)
    m = _move(session, who, "Lahore", "Multan", 1, 4)
    drawn = draw_route(session, principal=who, movement_id=m.id, seed=5)
    again = draw_route(session, principal=who, movement_id=m.id, seed=5)
    assert (drawn.route, drawn.departure) == (again.route, again.departure)
    probs = [c["probability"] for c in drawn.candidates]
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)
    # the stated rule: p proportional to 1 / (uncovered + 1% of the least trip risk)
    eps = 0.01 * min(c["risk"] for c in drawn.candidates)
    w = np.array([1 / (c["uncovered"] + eps) for c in drawn.candidates])
    assert probs == pytest.approx(list(w / w.sum()), abs=1e-5)
    # and the drawn pair is the one the seed picks under those probabilities
    cands = [
        Candidate(c["route"], datetime.fromisoformat(c["departure"]), c["risk"], c["uncovered"])
        for c in drawn.candidates
    ]
    index, _ = choose(cands, 5)
    assert (cands[index].route, cands[index].depart) == (drawn.route, drawn.departure)
    assert all(m.departure_start <= c.depart <= m.departure_end for c in cands)
    notes = session.scalars(
        select(MovementEvent).where(MovementEvent.movement_id == m.id, MovementEvent.kind == "note")
    ).all()
    assert [n.detail["seed"] for n in notes] == [5, 5]
    assert notes[0].detail["action"] == "randomized_route"
    with pytest.raises(InvalidInput, match="tolerance"):
        draw_route(session, principal=who, movement_id=m.id, tolerance=-1.0)


def test_the_draw_mixes_routes_within_the_tolerance_only(session: Session) -> None:
    who = _org(session, "rg-mix")
    m = _move(session, who, "Peshawar", "Lahore", 3, 4)
    wide = draw_route(session, principal=who, movement_id=m.id, tolerance=0.5, seed=1)
    assert len({c["route"] for c in wide.candidates}) == 3
    narrow = draw_route(session, principal=who, movement_id=m.id, tolerance=0.1, seed=1)
    assert {c["route"] for c in narrow.candidates} == {0}
    assert sorted(e["route"] for e in narrow.excluded) == [1, 2]
    assert all("over 1.1 x the best" in e["why"] for e in narrow.excluded)
