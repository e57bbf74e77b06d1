"""The triage context of a tip on the demo store: the Besham attack of 26 March 2024 beside
a tip about Besham two weeks later, and the threat level there from the stored forecast."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.demo.seed import seed_demo
from silkguard.incidents.models import Incident
from silkguard.intake import tips
from silkguard.risk import service as risk_service

AT = datetime(2024, 4, 10, 6, 0, tzinfo=UTC)


def test_a_tip_near_besham_sees_the_march_attack_and_the_level(session: Session) -> None:
    seed_demo(session, with_users=False)
    session.flush()
    org = session.scalars(select(Organisation).where(Organisation.slug == "corridor-power")).one()
    analyst = Principal(org_id=org.id, role="analyst")
    new = tips.submit_tip(
        session,
        org_slug="corridor-power",
        what="Men watching the road where the buses pass",
        lat=34.92,
        lon=72.87,
        now=AT,
    )
    before = tips.tip_context(session, principal=analyst, tip=new.tip)
    assert before["threat"] is None  # no forecast yet
    besham = session.scalars(
        select(Incident).where(
            Incident.occurred_at >= datetime(2024, 3, 26, tzinfo=UTC),
            Incident.occurred_at < datetime(2024, 3, 27, tzinfo=UTC),
        )
    ).all()
    assert besham, "the demo data has the Besham attack of 26 March 2024"
    assert before["nearby"][0]["id"] in {str(i.id) for i in besham}
    assert before["nearby"][0]["distance_km"] < 25
    assert all(n["distance_km"] <= tips.NEARBY_KM for n in before["nearby"])

    risk_service.run_forecast(session, model="naive", as_of=AT, resolution=5)
    after = tips.tip_context(session, principal=analyst, tip=new.tip)
    assert after["threat"] is not None
    assert 1 <= after["threat"]["level"] <= 6
    assert after["threat"]["reason"].startswith(f"Level {after['threat']['level']}")
