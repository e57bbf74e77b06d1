"""The risk service on a real store: forecasts stored with their window, levels of districts
and sites with reasons, level changes as events, scopes and TLP, the scheduled refresh test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput, NotFound
from silkguard.core.tlp import TLP
from silkguard.demo.seed import seed_demo
from silkguard.incidents import review as incidents_review
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.people.models import Site
from silkguard.risk import service as risk_service
from silkguard.risk.grid import Grid
from silkguard.risk.models import ForecastCell, LevelChange, ThreatLevelRecord

AS_OF = datetime(2024, 7, 1, tzinfo=UTC)
RES = 5


@pytest.fixture(scope="module")
def store(engine: Engine) -> Iterator[Session]:
    """The demo store (organisations, sites, 526 incidents) in a transaction rolled back at the
    end of the module; tests below add to it in SAVEPOINTs of their own."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        seed_demo(sess, with_users=False)
        sess.flush()
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@pytest.fixture
def s(store: Session) -> Iterator[Session]:
    nested = store.begin_nested()
    try:
        yield store
    finally:
        nested.rollback()
        store.expire_all()


def _site(session: Session, slug: str) -> Site:
    return session.execute(select(Site).where(Site.slug == slug)).scalar_one()


def test_a_forecast_is_stored_with_its_window_model_and_levels(s: Session) -> None:
    outcome = risk_service.run_forecast(s, model="naive", as_of=AS_OF, resolution=RES, actor="test")
    run = outcome.run
    assert run.model == "naive"
    assert run.model_version.split("/")[1] == "naive"
    assert run.trained_until == AS_OF
    assert run.trained_from is not None
    assert run.trained_from < datetime(2008, 1, 1, tzinfo=UTC)
    assert run.horizon_end - run.horizon_start == timedelta(days=30)
    assert run.tlp == TLP.GREEN.value  # community scope: CLEAR/GREEN incidents only
    assert run.n_events > 400
    assert run.params["model"] == "naive"  # describe() of the fitted model
    assert run.params["rate_per_day"] > 0
    assert run.policy["recent_days"] == 30
    assert run.created_by == "test"
    cells = s.scalar(select(func.count()).where(ForecastCell.forecast_id == run.id))
    assert cells == len(Grid.pakistan(RES))
    kinds = {r.subject_kind for r in outcome.levels}
    assert kinds == {"district", "site"}
    sites = {r.subject_name: r for r in outcome.levels if r.subject_kind == "site"}
    assert len(sites) == 15
    gwadar = sites["Gwadar port"]
    assert 1 <= gwadar.level <= 6
    assert gwadar.reason.startswith(f"Level {gwadar.level} (")
    assert "Balochistan average" in gwadar.reason
    assert gwadar.tlp == TLP.AMBER.value  # a site's level is as sensitive as the site
    assert outcome.changes == []  # a first run announces nothing


def test_past_levels_are_explained_from_the_stored_cells(s: Session) -> None:
    run = risk_service.run_forecast(s, model="naive", as_of=AS_OF, resolution=RES).run
    dasu = _site(s, "dasu-hpp")
    before = risk_service.level_for_site(s, run=run, site=dasu)
    stored = s.execute(
        select(ThreatLevelRecord).where(
            ThreatLevelRecord.forecast_id == run.id, ThreatLevelRecord.subject_key == str(dasu.id)
        )
    ).scalar_one()
    assert stored.level == before.level
    assert stored.reason == before.reason
    risk_service._SURFACES._items.clear()  # as after a restart: reload from the table
    again = risk_service.level_for_site(
        s, run=risk_service.get_run(s, principal=None, run_id=run.id), site=dasu
    )
    assert again.reason == before.reason


def _attack(session: Session, org: uuid.UUID, when: datetime, lat: float, lon: float) -> None:
    principal = Principal(org_id=org, role="analyst")
    inc = incidents_review.create_draft(
        session,
        principal=principal,
        data=IncidentCreate(
            occurred_at=when,
            attack_type=AttackType.IED,
            target_type=TargetType.CONVOY,
            latitude=lat,
            longitude=lon,
            tlp=TLP.GREEN,
            summary=f"test attack {uuid.uuid4().hex[:8]}",
        ),
    )
    incidents_review.confirm(session, principal=principal, incident_id=inc.id)


def test_recent_attacks_raise_a_site_and_the_change_is_an_event(s: Session) -> None:
    heard: list[LevelChange] = []
    listener = risk_service.on_level_change(lambda _s, change: heard.append(change))
    try:
        first = risk_service.run_forecast(s, model="naive", as_of=AS_OF, resolution=RES)
        dasu = _site(s, "dasu-hpp")
        old = next(r.level for r in first.levels if r.subject_key == str(dasu.id))
        org = auth_service.get_org_by_slug(s, slug="corridor-power").id
        later = AS_OF + timedelta(days=40)
        for k in range(8):
            _attack(s, org, later - timedelta(days=2 + 3 * k), 35.30 + 0.01 * k, 73.22)
        second = risk_service.run_forecast(s, model="naive", as_of=later, resolution=RES)
    finally:
        risk_service._LISTENERS.remove(listener)
    new = next(r for r in second.levels if r.subject_key == str(dasu.id))
    assert new.level == 6 > old
    assert new.reason.startswith("Level 6 (extreme): ")
    assert "8 IED attacks within 20 km in the last 30 days" in new.reason
    change = next(c for c in second.changes if c.subject_key == str(dasu.id))
    assert (change.old_level, change.new_level) == (old, 6)
    assert change.subject_kind == "site"
    assert change in heard
    followed = risk_service.level_changes(s, principal=None, after_id=0)
    assert change.id in {c.id for c in followed}


def test_organisation_scope_stays_within_the_organisation(s: Session) -> None:
    alpha = auth_service.get_org_by_slug(s, slug="corridor-power").id
    bravo = auth_service.get_org_by_slug(s, slug="makran-port").id
    run = risk_service.run_forecast(s, org_id=alpha, model="naive", as_of=AS_OF, resolution=RES).run
    assert run.org_id == alpha
    assert run.tlp == TLP.AMBER_STRICT.value
    sites = {
        r.subject_name
        for r in s.execute(
            select(ThreatLevelRecord).where(
                ThreatLevelRecord.forecast_id == run.id, ThreatLevelRecord.subject_kind == "site"
            )
        ).scalars()
    }
    assert "Dasu hydropower project" in sites
    assert "Gwadar port" not in sites  # another organisation's site
    own = Principal(org_id=alpha, role="analyst")
    other = Principal(org_id=bravo, role="analyst")
    assert risk_service.get_run(s, principal=own, run_id=run.id).id == run.id
    with pytest.raises(NotFound, match="not shared with your organisation"):
        risk_service.get_run(s, principal=other, run_id=run.id)


def test_policy_versions_and_the_policy_in_force_is_kept(s: Session) -> None:
    org = auth_service.get_org_by_slug(s, slug="silk-highway").id
    _, version = risk_service.get_policy(s, org_id=org)
    assert version == 0
    _, v1 = risk_service.set_policy(
        s, org_id=org, policy={"recent_days": 14, "recent_radius_km": 40}, actor="test"
    )
    _, v2 = risk_service.set_policy(s, org_id=org, policy={"recent_days": 21}, actor="test")
    assert (v1, v2) == (1, 2)
    run = risk_service.run_forecast(s, org_id=org, model="naive", as_of=AS_OF, resolution=RES).run
    assert run.policy["recent_days"] == 21
    assert run.policy["version"] == 2
    with pytest.raises(InvalidInput, match="ratio_cuts"):
        risk_service.set_policy(s, org_id=org, policy={"ratio_cuts": [3, 2, 1, 0, 5]}, actor=None)


def test_too_few_incidents_is_a_clear_error(s: Session) -> None:
    with pytest.raises(InvalidInput, match="a forecast needs at least 10"):
        risk_service.fit_model(
            s, org_id=None, model="naive", params=None, until=datetime(2005, 1, 1, tzinfo=UTC)
        )
    with pytest.raises(InvalidInput, match="risk model 'oracle' is not known"):
        risk_service.fit_model(s, org_id=None, model="oracle", params=None, until=AS_OF)


def test_refresh_is_due_only_when_the_newest_run_is_old(s: Session) -> None:
    now = datetime.now(UTC)
    hours6 = timedelta(hours=6)

    def due(at: datetime, model: str = "naive") -> bool:
        return risk_service.refresh_due(s, org_id=None, model=model, max_age=hours6, now=at)

    assert due(now)
    risk_service.run_forecast(s, model="naive", as_of=AS_OF, resolution=RES)
    assert not due(now)
    assert due(now + hours6 + timedelta(minutes=1))
    assert due(now, model="kde")  # each model has its own schedule


def test_surface_geojson_filters_by_level_and_box(s: Session) -> None:
    run = risk_service.run_forecast(s, model="naive", as_of=AS_OF, resolution=RES).run
    everything = risk_service.surface_geojson(s, run=run, min_level=1)
    assert len(everything["features"]) == len(Grid.pakistan(RES))
    high = risk_service.surface_geojson(s, run=run, min_level=4)
    assert 0 < len(high["features"]) < len(everything["features"])
    assert all(f["properties"]["level"] >= 4 for f in high["features"])
    box = risk_service.surface_geojson(s, run=run, min_level=1, bbox=(61.0, 24.5, 64.0, 26.5))
    for feature in box["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
        assert 60.5 < ring[0][0] < 64.5
    props = box["features"][0]["properties"]
    assert set(props) >= {
        "cell",
        "expected",
        "rate_per_day",
        "ratio_corridor",
        "level",
        "level_name",
    }
