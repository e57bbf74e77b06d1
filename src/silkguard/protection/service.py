"""The protection planner on the store: a coverage game over an organisation's sites with
payoffs derived, transparently, from the risk engine and from what is at stake, solved
exactly (ORIGAMI), explained per site, and turned into seeded daily guard calendars whose
seeds go into the audit trail.

Payoffs of site ``t`` (docs/protection.md, "From the store"):

* consequence ``c_t = criticality_t * (1 + ln(1 + headcount_t))``: what an attack would cost;
* likelihood weight ``w_t = level_t / 6`` from the site's threat level (1 minimal .. 6 extreme)
  under the newest forecast the organisation may see (level 1 without a forecast);
* attacker: ``w_t * c_t`` if the site is uncovered, ``-0.5 * w_t * c_t`` if covered (a failed
  attack costs the attacker);
* defender: ``-c_t`` if the attacked site is uncovered, ``0`` if covered.

Nothing here scores people: only sites, their headcount and criticality, and the forecast.
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from silkguard.auth import audit
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.journeys import service as movements
from silkguard.journeys.departures import compare_departures
from silkguard.people import service as people_service
from silkguard.people.models import Site
from silkguard.protection.game import Payoffs, ResourceType, SecurityGame
from silkguard.protection.origami import origami
from silkguard.protection.sampling import Calendar, calendar
from silkguard.protection.solution import Solution
from silkguard.risk import service as risk_service

__all__ = ["SitePlan", "SiteTarget", "plan_sites", "sample_sites"]

MAX_TEAMS = 10_000


@dataclass(frozen=True)
class SiteTarget:
    site: Site
    level: int
    level_reason: str
    consequence: float
    likelihood: float


@dataclass(frozen=True)
class SitePlan:
    targets: list[SiteTarget]
    solution: Solution
    teams: int
    forecast_id: str | None

    def rows(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for i, t in enumerate(self.targets):
            out.append(
                {
                    "site_id": str(t.site.id),
                    "site": t.site.name,
                    "slug": t.site.slug,
                    "level": t.level,
                    "level_reason": t.level_reason,
                    "headcount": t.site.headcount,
                    "criticality": t.site.criticality,
                    "consequence": round(t.consequence, 4),
                    "likelihood": round(t.likelihood, 4),
                    "coverage": round(float(self.solution.coverage[i]), 6),
                    "why": self.solution.explain(i),
                }
            )
        return out


def _targets(session: Session, principal: Principal) -> tuple[list[SiteTarget], str | None]:
    sites = [
        s
        for s in people_service.get_sites(session, principal=principal)
        if s.org_id == principal.org_id
    ]
    if len(sites) < 2:
        msg = (
            "a protection plan needs at least two sites of your organisation to choose "
            f"between; you have {len(sites)} (add sites with POST /api/v1/sites)"
        )
        raise InvalidInput(msg)
    try:
        run = risk_service.latest_run(session, principal=principal)
    except NotFound:
        run = None
    out = []
    for site in sites:
        if run is not None:
            reading = risk_service.level_for_site(session, run=run, site=site)
            level, reason = int(reading.level), reading.reason
        else:
            level, reason = 1, "no risk forecast yet: every site counts as level 1"
        consequence = site.criticality * (1.0 + math.log1p(max(site.headcount, 0)))
        out.append(
            SiteTarget(
                site=site,
                level=level,
                level_reason=reason,
                consequence=consequence,
                likelihood=level / 6.0,
            )
        )
    return out, None if run is None else str(run.id)


def plan_sites(session: Session, *, principal: Principal, teams: int) -> SitePlan:
    """The optimal randomised coverage of the organisation's sites by ``teams`` guard teams."""
    if isinstance(teams, bool) or not 1 <= teams <= MAX_TEAMS:
        msg = f"teams {teams!r}: a whole number from 1 to {MAX_TEAMS}"
        raise InvalidInput(msg)
    targets, forecast_id = _targets(session, principal)
    if teams >= len(targets):
        msg = (
            f"{teams} teams for {len(targets)} sites: every site can be guarded every day, "
            "there is nothing to randomise; give fewer teams than sites"
        )
        raise InvalidInput(msg)
    c = np.array([t.consequence for t in targets])
    w = np.array([t.likelihood for t in targets])
    payoffs = Payoffs(
        defender_covered=np.zeros_like(c),
        defender_uncovered=-c,
        attacker_covered=-0.5 * w * c,
        attacker_uncovered=w * c,
    )
    game = SecurityGame.single(
        payoffs,
        [ResourceType("guard team", teams)],
        target_ids=[t.site.slug for t in targets],
    )
    return SitePlan(targets=targets, solution=origami(game), teams=teams, forecast_id=forecast_id)


def sample_sites(
    session: Session,
    *,
    principal: Principal,
    teams: int,
    days: int,
    seed: int | None = None,
    start: date | None = None,
) -> tuple[SitePlan, Calendar]:
    """A calendar of the next ``days`` days drawn from the optimal coverage; the seed (fresh
    from the operating system unless given) is written to the audit trail so the calendar can
    be reproduced and checked later."""
    plan = plan_sites(session, principal=principal, teams=teams)
    used = seed if seed is not None else int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    cal = calendar(plan.solution, days=days, seed=used, start=start or utcnow().date())
    audit.record(
        session,
        action="plan.sample",
        actor=principal.actor,
        org_id=principal.org_id,
        object_type="plan",
        object_id=None,
        detail={
            "teams": teams,
            "days": days,
            "seed": used,
            "forecast_id": plan.forecast_id,
            "coverage": {
                t.site.slug: round(float(x), 6)
                for t, x in zip(plan.targets, plan.solution.coverage, strict=True)
            },
        },
        now=utcnow(),
    )
    return plan, cal


# -- movements: an unpredictable departure ------------------------------------------------------

#: Departures whose score is within this share of the best are equally acceptable.
DEPARTURE_TOLERANCE = 0.05


@dataclass(frozen=True)
class DepartureChoice:
    movement_id: str
    chosen: datetime
    candidates: list[datetime]
    seed: int


def randomize_departure(
    session: Session,
    *,
    principal: Principal,
    movement_id: uuid.UUID,
    every: timedelta = timedelta(minutes=15),
    seed: int | None = None,
) -> DepartureChoice:
    """Draw the departure of a movement at random among the departures of its window that
    are as good as the best (night driving within :data:`DEPARTURE_TOLERANCE` of the least),
    so that watchers cannot learn a pattern; the draw, its seed and the candidates go into
    the movement's history and the audit trail."""
    m = movements.get_movement(session, principal=principal, movement_id=movement_id)
    if m.state not in ("draft", "submitted", "approved"):
        msg = (
            f"movement {movement_id} is {m.state}; only a movement not yet under way gets a "
            "departure"
        )
        raise InvalidInput(msg)
    options = compare_departures(
        trip_s=float(m.route.get("time_s", 0.0)),
        exposure=float(m.route.get("exposure") or 0.0),
        earliest=m.departure_start,
        latest=m.departure_end,
        every=every,
    )
    best = options[0].score
    ok = sorted(o.depart for o in options if o.score <= best * (1 + DEPARTURE_TOLERANCE) + 1e-9)
    used = seed if seed is not None else secrets.randbelow(2**62)
    chosen = ok[int(np.random.default_rng(used).integers(len(ok)))]
    at = utcnow()
    movements.record_note(
        session,
        principal=principal,
        movement_id=m.id,
        detail={
            "action": "randomized_departure",
            "departure": chosen.isoformat(),
            "candidates": len(ok),
            "seed": used,
        },
        now=at,
    )
    return DepartureChoice(movement_id=str(m.id), chosen=chosen, candidates=ok, seed=used)
