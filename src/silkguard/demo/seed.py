"""Seed the demo: organisations, users, sites, personnel (with consent and a recent position
for most) and the corridor's incidents, from data shipped in the package (so the demo runs
without ../shared). Re-running changes nothing."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.models import Organisation
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow
from silkguard.core.tlp import TLP
from silkguard.incidents import service as incidents_service
from silkguard.incidents.importers.pipeline import ImportFormat, plan_import
from silkguard.people import personnel, positions
from silkguard.people import service as people_service
from silkguard.people.models import Person, Site

__all__ = ["DEMO_PASSWORD", "DemoResult", "demo_file", "load_json", "seed_demo"]

DEMO_SOURCE = "silkguard-demo"


def demo_file(name: str) -> Path:
    return Path(str(resources.files("silkguard.demo").joinpath("data", name)))


def load_json(name: str) -> list[dict[str, Any]]:
    data = json.loads(demo_file(name).read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


# The one password of every demo user, printed by `silkguard demo` and in the README. The demo
# refuses to create these users when SILKGUARD_ENVIRONMENT=production.
DEMO_PASSWORD = "silkguard-demo-2026"  # noqa: S105 - documented demo credential


@dataclass(frozen=True)
class DemoResult:
    orgs_added: int
    users_added: int
    report: incidents_service.ImportReport
    sites_added: int = 0
    people_added: int = 0


def _seed_users(session: Session) -> int:
    orgs = {o.slug: o.id for o in auth_service.list_orgs(session)}
    have = {u.username for u in auth_service.list_users(session)}
    added = 0
    for user in load_json("demo_users.json"):
        if user["username"] in have:
            continue
        auth_service.create_user(
            session,
            org_id=orgs[user["org"]],
            username=user["username"],
            password=DEMO_PASSWORD,
            role=user["role"],
            full_name=user.get("full_name", ""),
            email=user.get("email"),
            languages=user.get("languages", ()),
        )
        added += 1
    return added


def _seed_sites(session: Session) -> int:
    """The demo organisations' sites (Gwadar port, Dasu, Karachi ...), each kept TLP:AMBER."""
    orgs = {o.slug: o.id for o in auth_service.list_orgs(session)}
    have = {(row[0], row[1]) for row in session.execute(select(Site.org_id, Site.slug))}
    added = 0
    for site in load_json("demo_sites.json"):
        org_id = orgs[site["org"]]
        if (org_id, site["slug"]) in have:
            continue
        people_service.create_site(
            session,
            org_id=org_id,
            slug=site["slug"],
            name=site["name"],
            kind=site["kind"],
            latitude=site["latitude"],
            longitude=site["longitude"],
            headcount=site.get("headcount", 0),
            criticality=site.get("criticality", 3),
            perimeter_radius_m=site.get("perimeter_radius_m", 500.0),
        )
        added += 1
    return added


def _seed_people(session: Session) -> int:
    """The demo personnel at their home sites; those who consented have a latest position a
    few hundred metres from their site, so alerts over a site find them by position too."""
    orgs = {o.slug: o.id for o in auth_service.list_orgs(session)}
    sites = {(s.org_id, s.slug): s for s in session.scalars(select(Site))}
    have = {(p.org_id, p.ref) for p in session.scalars(select(Person))}
    users = {u.username: u.id for u in auth_service.list_users(session)}
    added = 0
    now = utcnow()
    for k, row in enumerate(load_json("demo_people.json")):
        org_id = orgs[row["org"]]
        if (org_id, row["ref"]) in have:
            continue
        site = sites[(org_id, row["home_site"])]
        who = Principal(org_id=org_id, role="admin", api_key_id=uuid.UUID(int=0))
        person = personnel.create_person(
            session,
            principal=who,
            ref=row["ref"],
            name=row["name"],
            function=row["function"],
            phone=row["phone"],
            email=row["email"],
            languages=row["languages"],
            channels=row["channels"],
            home_site_id=site.id,
            # a tracker for those who consented: try `silkguard positions listen` with it
            device_id=f"tab-{row['ref'].lower()}" if row["location_consent"] else None,
            location_consent=row["location_consent"],
            user_id=users.get(row["user"]) if "user" in row else None,
            now=now,
        )
        if row["location_consent"]:
            positions.ingest_positions(
                session,
                org_id=org_id,
                source="http",
                now=now,
                items=[
                    positions.PositionIn(
                        person=str(person.id),
                        at=now - timedelta(minutes=5 + k),
                        lat=site.latitude + 0.002 * (k % 3),
                        lon=site.longitude - 0.002 * (k % 2),
                        accuracy_m=15.0,
                    )
                ],
            )
        added += 1
    return added


def seed_demo(session: Session, *, with_users: bool = True) -> DemoResult:
    """Add the demo organisations, users and sites and import the demo incidents (idempotent)."""
    have = set(session.execute(select(Organisation.slug)).scalars())
    added = 0
    for org in load_json("demo_orgs.json"):
        if org["slug"] in have:
            continue
        auth_service.create_org(
            session,
            slug=org["slug"],
            name=org["name"],
            kind=org.get("kind", "operator"),
            country=org.get("country", "PK"),
        )
        added += 1
    session.flush()
    users_added = _seed_users(session) if with_users else 0
    plan = plan_import(
        demo_file("demo_incidents.jsonl"),
        fmt=ImportFormat.JSONL,
        source_name=DEMO_SOURCE,
        default_tlp=TLP.CLEAR,
    )
    report = incidents_service.import_rows(session, plan=plan)
    sites_added = _seed_sites(session)
    session.flush()
    people_added = _seed_people(session)
    return DemoResult(added, users_added, report, sites_added, people_added)
