"""A seeded demo store for the report tests, built once per module: the demo organisations,
sites, people and incidents, two forecasts (so there are level changes), a movement, an alert
with answers, and one incident whose text tries to inject HTML."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from silkguard.alerts import service as alerts_service
from silkguard.alerts.models import AlertRecipient
from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.tlp import TLP
from silkguard.demo.seed import seed_demo
from silkguard.incidents import review as incidents_review
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.journeys import service as movements_service
from silkguard.journeys.policy import load_policy
from silkguard.migrations import upgrade
from silkguard.people.models import Person
from silkguard.risk import service as risk_service
from silkguard.risk.models import LevelChange
from tests.api.conftest import _url_for
from tests.conftest import _admin_engine

DEMO_ORG = "corridor-power"
PERIOD = (date(2024, 1, 1), date(2024, 12, 31))
SCRIPT_SUMMARY = 'Attack on the <script>alert("x")</script> road & bridge'
SCRIPT_PLACE = "Hub <b>Chowki</b>"


@dataclass(frozen=True)
class DemoStore:
    factory: sessionmaker[Session]
    org_id: uuid.UUID


def _seed(factory: sessionmaker[Session]) -> uuid.UUID:
    with session_scope(factory) as session:
        seed_demo(session, with_users=False)
    with session_scope(factory) as session:
        org_id = session.scalars(select(Organisation.id).where(Organisation.slug == DEMO_ORG)).one()
        analyst = Principal(org_id=org_id, role="analyst")
        inc = incidents_review.create_draft(
            session,
            principal=analyst,
            data=IncidentCreate(
                occurred_at=datetime(2024, 6, 10, 6, tzinfo=UTC),
                attack_type=AttackType.IED,
                target_type=TargetType.CONVOY,
                latitude=25.08,
                longitude=66.75,
                place=SCRIPT_PLACE,
                killed=2,
                injured=5,
                tlp=TLP.GREEN,
                summary=SCRIPT_SUMMARY,
            ),
        )
        incidents_review.confirm(session, principal=analyst, incident_id=inc.id)
    for as_of in (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 9, 1, tzinfo=UTC)):
        with session_scope(factory) as session:
            outcome = risk_service.run_forecast(
                session, model="naive", as_of=as_of, resolution=5, actor="test"
            )
            # the forecasts were "made" on their as_of date: their changes fall in the period
            session.execute(
                update(LevelChange)
                .where(LevelChange.forecast_id == outcome.run.id)
                .values(created_at=as_of)
            )
    with session_scope(factory) as session:
        controller = Principal(org_id=org_id, role="movement_controller")
        policy = load_policy(
            'version = 1\nname = "t"\nrevision = 1\n'
            '[[rule]]\nid = "r"\ndescription = "d"\nwhen = { min_level = 1 }\napprovals = 1\n'
        )
        movements_service.request_movement(
            session,
            principal=controller,
            origin="Gwadar",
            destination="Turbat",
            departure=datetime(2024, 7, 2, 3, tzinfo=UTC),
            arrival=datetime(2024, 7, 2, 9, tzinfo=UTC),
            policy=policy,
            now=datetime(2024, 7, 1, tzinfo=UTC),
        )
        people = session.scalars(select(Person.id).where(Person.org_id == org_id)).all()[:3]
        alert = alerts_service.raise_alert(
            session,
            principal=controller,
            org_id=org_id,
            area={"type": "Circle", "center": [62.33, 25.13], "radius_km": 3},
            severity="high",
            category="security",
            messages={
                "en": {"headline": "Blast near Gwadar port", "body": "Stay inside."},
                "zh": {"headline": "瓜达尔港附近爆炸", "body": "请留在室内。"},
            },
            secret="test",
            extra_people=dict.fromkeys(people, "manual"),
            now=datetime(2024, 7, 3, tzinfo=UTC),
        )
        recipients = session.scalars(
            select(AlertRecipient).where(AlertRecipient.alert_id == alert.id)
        ).all()
        recipients[0].answer = "safe"
        recipients[1].answer = "need_help"
    return org_id


@pytest.fixture(scope="module")
def demo_store(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStore]:
    url, schema = _url_for(database_url, tmp_path_factory.mktemp("sitrep"))
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    org_id = _seed(factory)
    yield DemoStore(factory, org_id)
    engine.dispose()
    if schema is not None:
        admin = _admin_engine(database_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def keep_artifacts(*paths: Path) -> None:
    """Copy the files to $SILKGUARD_ARTIFACTS when it is set (to look at them by eye)."""
    target = os.environ.get("SILKGUARD_ARTIFACTS")
    if not target:
        return
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copy2(path, folder / path.name)
