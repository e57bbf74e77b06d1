"""Every role against every route, generated from ``ROLE_PERMISSIONS``; then TLP visibility
through every way of reading incidents (read, list, GeoJSON, CSV, filtered searches).

The route table below names, for each route under /api/v1, the permission it needs and how to
build a valid request for it. A test checks that the table and the application's routes are the
same set and that each route's ``require(...)`` dependency names the table's permission, so a new
route without an entry (or with another permission) fails here first.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import h3
import pytest
from fastapi import FastAPI
from shapely import Point
from shapely.geometry import shape
from sqlalchemy import select

from silkguard.alerts import service as alerts_service
from silkguard.alerts.models import AlertRecipient
from silkguard.api.app import API_PREFIX
from silkguard.auth import service as auth_service
from silkguard.auth.models import SharingGroupMember, User
from silkguard.auth.roles import Permission, Role, allowed
from silkguard.core.access import Principal, visible_in_python
from silkguard.core.clock import utcnow
from silkguard.core.tlp import TLP
from silkguard.incidents import review as incidents_review
from silkguard.incidents.models import Incident, IncidentRecipient, IncidentShare
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.intake import tips as tips_service
from silkguard.journeys import service as movements_service
from silkguard.journeys.policy import load_policy
from silkguard.people import personnel
from silkguard.people import service as people_service
from silkguard.risk import service as risk_service
from silkguard.sharing import pool as pool_service
from silkguard.sharing import pull as taxii_pull
from tests.api.conftest import ORGS, PASSWORD, World, build_world

PROBLEM = "application/problem+json"
# Routes anyone may call (no principal), and the documentation the app serves.
EXEMPT = {
    ("GET", f"{API_PREFIX}/health"),
    ("POST", f"{API_PREFIX}/auth/login"),
    ("POST", f"{API_PREFIX}/auth/refresh"),
    ("GET", f"{API_PREFIX}/openapi.json"),
    ("GET", f"{API_PREFIX}/docs"),
    # public by design: the one-time token is the key; the SMS gateway sends its shared token
    ("POST", f"{API_PREFIX}/rollcall/{{token}}"),
    ("POST", f"{API_PREFIX}/sms/inbound"),
    ("POST", f"{API_PREFIX}/sms/delivery-reports"),
    ("GET", f"{API_PREFIX}/public/alerts.atom"),
    ("POST", f"{API_PREFIX}/public/tips/{{org}}"),
    ("GET", f"{API_PREFIX}/public/tips/status/{{token}}"),
    ("POST", f"{API_PREFIX}/public/tips/status/{{token}}"),
    ("GET", f"{API_PREFIX}/public/alerts/{{alert_id}}.cap"),
}
ALERT_TEXT = {
    "en": {"headline": "Matrix alert", "body": "Stay inside."},
    "zh": {"headline": "测试警报", "body": "请留在室内。"},
}


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DEAD_PORT = _dead_port()  # nothing listens there once the socket is closed
CALLER_ORG = "alpha"
OTHER_ORG = "bravo"
BESHAM_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[72.7, 34.85], [73.0, 34.85], [73.0, 35.0], [72.7, 35.0], [72.7, 34.85]]],
}


# --- the route table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Objects:
    """Fresh objects in a world, made through the service layer so that a write route can run
    once per case without changing what the next case sees."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.factory = world.client.app.state.session_factory
        self._n = itertools.count(1)
        self._history_done = False
        self._forecasts: dict[str | None, uuid.UUID] = {}
        self._people: dict[tuple[str, Role | None], uuid.UUID] = {}

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self._n)}x{uuid.uuid4().hex[:6]}"

    def analyst(self, org: str) -> Principal:
        return Principal(
            org_id=self.world.orgs[org],
            role=Role.ANALYST.value,
            user_id=self.world.users[(org, Role.ANALYST)],
        )

    def draft(self, org: str) -> uuid.UUID:
        data = IncidentCreate(
            occurred_at=datetime(2024, 6, 1, 8, tzinfo=UTC),
            attack_type=AttackType.SHOOTING,
            target_type=TargetType.CONVOY,
            latitude=34.95,
            longitude=72.85,
            tlp=TLP.GREEN,
            summary=self.unique("matrix draft "),
        )
        with self.factory() as session:
            inc = incidents_review.create_draft(session, principal=self.analyst(org), data=data)
            session.commit()
            return inc.id

    def two_sources(self, org: str) -> tuple[uuid.UUID, uuid.UUID]:
        """An incident of two source records, and the id of one of them."""
        target, other = self.draft(org), self.draft(org)
        with self.factory() as session:
            inc = incidents_review.merge(
                session, principal=self.analyst(org), incident_id=target, others=[other]
            )
            record = inc.sources[-1].id
            session.commit()
            return target, record

    def user(self, org: str) -> uuid.UUID:
        with self.factory() as session:
            user = auth_service.create_user(
                session,
                org_id=self.world.orgs[org],
                username=self.unique("target."),
                password=PASSWORD,
                role=Role.STAFF,
            )
            session.commit()
            return user.id

    def key(self, org: str) -> uuid.UUID:
        with self.factory() as session:
            key, _ = auth_service.create_api_key(
                session, org_id=self.world.orgs[org], name=self.unique("key "), role=Role.STAFF
            )
            session.commit()
            return key.id

    def subscription(self, org: str) -> str:
        """A TAXII subscription of ``org`` to a collection on a loopback port where nothing
        listens (so an allowed pull answers 502 at once)."""
        with self.factory() as session:
            user = session.get_one(User, self.world.users[(org, Role.ANALYST)])
            sub = taxii_pull.subscribe(
                session,
                run_as=user,
                name=self.unique("feed-"),
                url=f"http://127.0.0.1:{DEAD_PORT}/taxii2/api/collections/x/",
                credential="remote-key",
                secret_key=self.world.settings.secret_key,
            )
            session.commit()
            return sub.name

    def confirmed(self, org: str) -> uuid.UUID:
        """A fresh confirmed AMBER incident of ``org``."""
        data = IncidentCreate(
            occurred_at=datetime(2024, 6, 2, 8, tzinfo=UTC),
            attack_type=AttackType.IED,
            target_type=TargetType.CONVOY,
            latitude=34.95,
            longitude=72.85,
            tlp=TLP.AMBER,
            summary=self.unique("matrix pooled "),
        )
        with self.factory() as session:
            principal = self.analyst(org)
            inc = incidents_review.create_draft(session, principal=principal, data=data)
            incidents_review.confirm(session, principal=principal, incident_id=inc.id)
            session.commit()
            return inc.id

    def contributable(self, org: str) -> uuid.UUID:
        """The caller's own fresh incident; another organisation's one the caller cannot see."""
        if org == CALLER_ORG:
            return self.confirmed(org)
        return self.world.incidents[(org, TLP.AMBER_STRICT)]

    def contributed(self, org: str) -> uuid.UUID:
        """An incident contributed to the world's sharing group (when it is the caller's)."""
        incident_id = self.contributable(org)
        if org == CALLER_ORG:
            with self.factory() as session:
                pool_service.contribute(
                    session,
                    principal=self.analyst(org),
                    incident_id=incident_id,
                    group_id=self.world.group_id,
                )
                session.commit()
        return incident_id

    def group(self, org: str) -> uuid.UUID:
        with self.factory() as session:
            group = auth_service.create_sharing_group(
                session, name=self.unique("group "), owner_org_id=self.world.orgs[org]
            )
            session.commit()
            return group.id

    def history(self) -> None:
        """Twelve confirmed GREEN attacks near Gwadar per organisation (once), so that both
        scopes have enough events to fit a model."""
        if self._history_done:
            return
        with self.factory() as session:
            for n, org in enumerate((CALLER_ORG, OTHER_ORG)):
                principal = self.analyst(org)
                for k in range(12):
                    data = IncidentCreate(
                        occurred_at=datetime(2023, 1 + k, 5 + n, 7, tzinfo=UTC),
                        attack_type=AttackType.IED,
                        target_type=TargetType.CONVOY,
                        latitude=25.1 + 0.03 * k,
                        longitude=62.3 + 0.04 * k + 0.2 * n,
                        tlp=TLP.GREEN,
                        summary=self.unique("matrix history "),
                    )
                    inc = incidents_review.create_draft(session, principal=principal, data=data)
                    incidents_review.confirm(session, principal=principal, incident_id=inc.id)
            session.commit()
        self._history_done = True

    def forecast(self, org: str | None) -> uuid.UUID:
        """A stored forecast: the community's (``None``) or an organisation's own (made once)."""
        if org not in self._forecasts:
            self.history()
            with self.factory() as session:
                outcome = risk_service.run_forecast(
                    session,
                    org_id=None if org is None else self.world.orgs[org],
                    model="naive",
                    as_of=datetime(2024, 7, 1, tzinfo=UTC),
                    resolution=4,
                )
                session.commit()
                self._forecasts[org] = outcome.run.id
        return self._forecasts[org]

    def backtest(self, org: str) -> uuid.UUID:
        with self.factory() as session:
            stored = risk_service.store_backtest(
                session,
                org_id=self.world.orgs[org],
                config={"source": "matrix", "models": ["naive"]},
                result={"models": ["naive"], "metrics": {}},
                n_events=12,
                actor="matrix",
            )
            session.commit()
            return stored.id

    def site(self, org: str) -> uuid.UUID:
        with self.factory() as session:
            site = people_service.create_site(
                session,
                org_id=self.world.orgs[org],
                slug=self.unique("site-"),
                name="Matrix camp",
                kind="project_site",
                latitude=25.13,
                longitude=62.33,
            )
            session.commit()
            return site.id

    def movement(self, org: str, state: str) -> uuid.UUID:
        """A movement of ``org``'s movement controller, brought to ``state`` (``draft``,
        ``submitted`` needing one approval, ``approved`` or ``under_way``)."""
        controller = Principal(
            org_id=self.world.orgs[org],
            role=Role.MOVEMENT_CONTROLLER.value,
            user_id=self.world.users[(org, Role.MOVEMENT_CONTROLLER)],
        )
        rule = (
            "when = { min_level = 1 }\napprovals = 1"
            if state == "submitted"
            else ("when = { min_vehicles = 90 }\nforbid = true")
        )
        policy = load_policy(
            'version = 1\nname = "matrix"\nrevision = 1\n'
            f'[[rule]]\nid = "r"\ndescription = "d"\n{rule}\n'
        )
        with self.factory() as session:
            m = movements_service.request_movement(
                session,
                principal=controller,
                origin="Gwadar",
                destination="Turbat",
                departure=datetime(2030, 1, 5, 4, tzinfo=UTC),
                arrival=datetime(2030, 1, 5, 9, tzinfo=UTC),
                submit=state != "draft",
                policy=policy,
            )
            if state in ("under_way", "arrived"):
                movements_service.start(session, principal=controller, movement_id=m.id)
            if state == "arrived":
                movements_service.arrive(session, principal=controller, movement_id=m.id)
            assert m.state == state, m.state
            session.commit()
            return m.id

    def person(self, org: str, *, linked_to: Role | None = None) -> uuid.UUID:
        """A person of ``org`` with consent (linked to the caller's user of ``linked_to``,
        made once per role, so a staff member's own device can report)."""
        key = (org, linked_to)
        if linked_to is not None and key in self._people:
            return self._people[key]
        user = None if linked_to is None else self.world.users[(org, linked_to)]
        with self.factory() as session:
            person = personnel.create_person(
                session,
                principal=self.analyst(org),
                ref=self.unique("p"),
                name="Matrix engineer",
                device_id=self.unique("dev"),
                user_id=user,
                location_consent=True,
            )
            session.commit()
        if linked_to is not None:
            self._people[key] = person.id
        return person.id

    def alert(self, org: str) -> uuid.UUID:
        """An active alert of ``org`` over Gwadar."""
        with self.factory() as session:
            made = alerts_service.raise_alert(
                session,
                principal=self.analyst(org),
                org_id=self.world.orgs[org],
                area={"type": "Circle", "center": [62.33, 25.13], "radius_km": 3},
                severity="high",
                category="security",
                messages=ALERT_TEXT,
                secret="matrix",
            )
            session.commit()
            return made.id

    def my_rollcall(self, role: Role) -> uuid.UUID:
        """An active alert with the caller's own person on its roll-call."""
        person = self.person(CALLER_ORG, linked_to=role)
        made = self.alert(CALLER_ORG)
        with self.factory() as session:
            session.add(
                AlertRecipient(
                    alert_id=made,
                    person_id=person,
                    reasons="site",
                    language="en",
                    token_hash=uuid.uuid4().hex * 2,
                )
            )
            session.commit()
        return made

    def escort(self, role: Role) -> uuid.UUID:
        """A running escort timer of the caller's own person."""
        person = self.person(CALLER_ORG, linked_to=role)
        with self.factory() as session:
            timer = alerts_service.start_escort(session, person_id=person, minutes=30)
            session.commit()
            return timer.id

    def tip(self, org: str) -> uuid.UUID:
        with self.factory() as session:
            made = tips_service.submit_tip(
                session, org_slug=org, what="Men filming the gate of the camp", where="Gwadar"
            )
            session.commit()
            return made.tip.id

    def revealable(self, org: str) -> uuid.UUID:
        """A person of ``org`` on the roll-call of an active alert, so their exact position
        may be shown (privacy by default hides it otherwise)."""
        person = self.person(org)
        with self.factory() as session:
            alerts_service.raise_alert(
                session,
                principal=self.analyst(org),
                org_id=self.world.orgs[org],
                area={"type": "Circle", "center": [62.33, 25.13], "radius_km": 1},
                severity="moderate",
                category="security",
                messages=ALERT_TEXT,
                secret="matrix",
                extra_people={person: "manual"},
            )
            session.commit()
        return person

    def policy_revision(self) -> int:
        return 1 + next(self._n)

    def refresh_token(self, org: str, role: Role) -> str:
        with self.factory() as session:
            user = auth_service.get_user(session, user_id=self.world.users[(org, role)])
            token = auth_service.issue_refresh_token(session, user=user, now=utcnow(), ttl_s=3600)
            session.commit()
            return token


Builder = Callable[[Objects, Role, str], Call]


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    permission: Permission | None  # None: any signed-in caller
    build: Builder
    ok: int
    owned: bool = False  # names an object of the given organisation (another's is a 404)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path.removeprefix(API_PREFIX)}"


def _p(path: str) -> str:
    return API_PREFIX + path


def _incident_body(o: Objects, _role: Role, _org: str) -> Call:
    return Call(
        "POST",
        _p("/incidents"),
        {
            "occurred_at": "2024-03-26T13:00:00+05:00",
            "attack_type": "suicide_vbied",
            "target_type": "convoy",
            "latitude": 34.93,
            "longitude": 72.87,
            "tlp": "AMBER",
            "summary": o.unique("matrix report "),
        },
    )


def _split(o: Objects, _role: Role, org: str) -> Call:
    incident, record = o.two_sources(org)
    return Call("POST", _p(f"/incidents/{incident}/split"), {"source_record_ids": [str(record)]})


def _merge(o: Objects, _role: Role, org: str) -> Call:
    target, other = o.draft(org), o.draft(org)
    return Call("POST", _p(f"/incidents/{target}/merge"), {"incident_ids": [str(other)]})


ROUTES: tuple[RouteCase, ...] = (
    RouteCase("GET", _p("/auth/me"), None, lambda _o, _r, _g: Call("GET", _p("/auth/me")), 200),
    RouteCase(
        "POST",
        _p("/auth/logout"),
        None,
        lambda o, r, _g: Call(
            "POST", _p("/auth/logout"), {"refresh_token": o.refresh_token(CALLER_ORG, r)}
        ),
        204,
    ),
    RouteCase(
        "GET",
        _p("/incidents"),
        Permission.INCIDENT_READ,
        lambda _o, _r, _g: Call("GET", _p("/incidents?q=test")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/incidents/export.csv"),
        Permission.INCIDENT_EXPORT,
        lambda _o, _r, _g: Call("GET", _p("/incidents/export.csv?province=Khyber%20Pakhtunkhwa")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/incidents/{incident_id}"),
        Permission.INCIDENT_READ,
        lambda o, _r, g: Call("GET", _p(f"/incidents/{o.world.incidents[(g, TLP.AMBER_STRICT)]}")),
        200,
        owned=True,
    ),
    RouteCase("POST", _p("/incidents"), Permission.INCIDENT_CREATE, _incident_body, 201),
    RouteCase(
        "PATCH",
        _p("/incidents/{incident_id}"),
        Permission.INCIDENT_UPDATE,
        lambda o, _r, g: Call(
            "PATCH",
            _p(f"/incidents/{o.draft(g)}"),
            {"summary": "corrected by the matrix", "killed": 2},
            {"If-Match": 'W/"1"'},
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/incidents/{incident_id}/confirm"),
        Permission.INCIDENT_REVIEW,
        lambda o, _r, g: Call("POST", _p(f"/incidents/{o.draft(g)}/confirm")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/incidents/{incident_id}/reject"),
        Permission.INCIDENT_REVIEW,
        lambda o, _r, g: Call(
            "POST", _p(f"/incidents/{o.draft(g)}/reject"), {"reason": "duplicate of a report"}
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/incidents/{incident_id}/merge"),
        Permission.INCIDENT_MERGE,
        _merge,
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/incidents/{incident_id}/split"),
        Permission.INCIDENT_MERGE,
        _split,
        201,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/incidents/{incident_id}/contributions"),
        Permission.INCIDENT_UPDATE,
        lambda o, _r, g: Call(
            "POST",
            _p(f"/incidents/{o.contributable(g)}/contributions"),
            {"group_id": str(o.world.group_id), "generalise_location": True},
        ),
        201,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/incidents/{incident_id}/contributions"),
        Permission.INCIDENT_UPDATE,
        lambda o, _r, g: Call("GET", _p(f"/incidents/{o.contributed(g)}/contributions")),
        200,
        owned=True,
    ),
    RouteCase(
        "DELETE",
        _p("/incidents/{incident_id}/contributions/{group_id}"),
        Permission.INCIDENT_UPDATE,
        lambda o, _r, g: Call(
            "DELETE", _p(f"/incidents/{o.contributed(g)}/contributions/{o.world.group_id}")
        ),
        204,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/incidents/{incident_id}/sightings"),
        Permission.INCIDENT_CREATE,
        # another organisation's incident the caller can see counts as well
        lambda o, _r, g: Call(
            "POST", _p(f"/incidents/{o.world.incidents[(g, TLP.GREEN)]}/sightings"), {"count": 2}
        ),
        201,
    ),
    RouteCase(
        "GET",
        _p("/incidents/{incident_id}/sightings"),
        Permission.INCIDENT_READ,
        lambda o, _r, g: Call(
            "GET", _p(f"/incidents/{o.world.incidents[(g, TLP.GREEN)]}/sightings")
        ),
        200,
    ),
    RouteCase(
        "GET", _p("/orgs"), Permission.ORG_READ, lambda _o, _r, _g: Call("GET", _p("/orgs")), 200
    ),
    RouteCase(
        "POST",
        _p("/orgs"),
        Permission.ORG_MANAGE,
        lambda o, _r, _g: Call(
            "POST",
            _p("/orgs"),
            {"slug": o.unique("org-"), "name": "A new partner", "kind": "partner"},
        ),
        201,
    ),
    RouteCase(
        "GET", _p("/users"), Permission.USER_READ, lambda _o, _r, _g: Call("GET", _p("/users")), 200
    ),
    RouteCase(
        "POST",
        _p("/users"),
        Permission.USER_MANAGE,
        lambda o, _r, _g: Call(
            "POST",
            _p("/users"),
            {"username": o.unique("new.user"), "password": PASSWORD, "role": "staff"},
        ),
        201,
    ),
    RouteCase(
        "POST",
        _p("/users/{user_id}/disable"),
        Permission.USER_MANAGE,
        lambda o, _r, g: Call("POST", _p(f"/users/{o.user(g)}/disable")),
        200,
        owned=True,
    ),
    RouteCase(
        "PUT",
        _p("/users/{user_id}/role"),
        Permission.USER_MANAGE,
        lambda o, _r, g: Call("PUT", _p(f"/users/{o.user(g)}/role"), {"role": "approver"}),
        200,
        owned=True,
    ),
    RouteCase(
        "GET", _p("/keys"), Permission.KEY_MANAGE, lambda _o, _r, _g: Call("GET", _p("/keys")), 200
    ),
    RouteCase(
        "POST",
        _p("/keys"),
        Permission.KEY_MANAGE,
        lambda o, _r, _g: Call(
            "POST", _p("/keys"), {"name": o.unique("gateway "), "role": "staff"}
        ),
        201,
    ),
    RouteCase(
        "DELETE",
        _p("/keys/{key_id}"),
        Permission.KEY_MANAGE,
        lambda o, _r, g: Call("DELETE", _p(f"/keys/{o.key(g)}")),
        204,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/sharing-groups"),
        Permission.ORG_READ,
        lambda _o, _r, _g: Call("GET", _p("/sharing-groups")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/sharing-groups"),
        Permission.SHARING_MANAGE,
        lambda o, _r, _g: Call("POST", _p("/sharing-groups"), {"name": o.unique("corridor ")}),
        201,
    ),
    RouteCase(
        "POST",
        _p("/sharing-groups/{group_id}/members"),
        Permission.SHARING_MANAGE,
        lambda o, _r, g: Call(
            "POST",
            _p(f"/sharing-groups/{o.group(g)}/members"),
            {"org_id": str(o.world.orgs["partner"])},
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/taxii-subscriptions"),
        Permission.SHARING_MANAGE,
        lambda _o, _r, _g: Call("GET", _p("/taxii-subscriptions")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/taxii-subscriptions"),
        Permission.SHARING_MANAGE,
        lambda o, _r, _g: Call(
            "POST",
            _p("/taxii-subscriptions"),
            {
                "name": o.unique("feed-"),
                "url": "https://partner.example/taxii2/api/collections/x/",
                "credential": "remote-key",
                "run_as": f"{CALLER_ORG}.analyst",
            },
        ),
        201,
    ),
    RouteCase(
        "DELETE",
        _p("/taxii-subscriptions/{name}"),
        Permission.SHARING_MANAGE,
        lambda o, _r, g: Call("DELETE", _p(f"/taxii-subscriptions/{o.subscription(g)}")),
        204,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/taxii-subscriptions/{name}/pull"),
        Permission.SHARING_MANAGE,
        lambda o, _r, g: Call("POST", _p(f"/taxii-subscriptions/{o.subscription(g)}/pull")),
        502,  # allowed: the remote server (nothing on that port) fails
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/audit"),
        Permission.AUDIT_READ,
        lambda _o, _r, _g: Call("GET", _p("/audit?action=incident.create&limit=5")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/audit/verify"),
        Permission.AUDIT_READ,
        lambda _o, _r, _g: Call("GET", _p("/audit/verify")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/risk/forecasts"),
        Permission.RISK_MANAGE,
        lambda o, _r, _g: (
            o.history(),
            Call(
                "POST",
                _p("/risk/forecasts"),
                {"model": "naive", "as_of": "2024-07-01T00:00:00Z", "resolution": 4},
            ),
        )[1],
        201,
    ),
    RouteCase(
        "GET",
        _p("/risk/forecasts"),
        Permission.RISK_READ,
        lambda _o, _r, _g: Call("GET", _p("/risk/forecasts")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/forecasts/{forecast_id}"),
        Permission.RISK_READ,
        lambda o, _r, g: Call("GET", _p(f"/risk/forecasts/{o.forecast(g)}")),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/risk/surface"),
        Permission.RISK_READ,
        lambda o, _r, _g: Call("GET", _p(f"/risk/surface?forecast={o.forecast(None)}&min_level=1")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/level"),
        Permission.RISK_READ,
        lambda o, _r, g: Call(
            "GET", _p(f"/risk/level?lat=25.13&lon=62.33&forecast={o.forecast(g)}")
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/risk/districts/{district}"),
        Permission.RISK_READ,
        lambda o, _r, _g: Call("GET", _p(f"/risk/districts/Gwadar?forecast={o.forecast(None)}")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/sites"),
        Permission.SITE_READ,
        lambda o, _r, _g: Call("GET", _p(f"/risk/sites?forecast={o.forecast(None)}")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/sites/{site_id}"),
        Permission.SITE_READ,
        lambda o, _r, g: Call("GET", _p(f"/risk/sites/{o.site(g)}?forecast={o.forecast(None)}")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/risk/route"),
        Permission.RISK_READ,
        lambda o, _r, _g: Call(
            "POST",
            _p(f"/risk/route?forecast={o.forecast(None)}"),
            {"type": "LineString", "coordinates": [[62.33, 25.13], [63.5, 25.3], [64.6, 25.6]]},
        ),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/level-changes"),
        Permission.RISK_READ,
        lambda _o, _r, _g: Call("GET", _p("/risk/level-changes?limit=5")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/policy"),
        Permission.RISK_READ,
        lambda _o, _r, _g: Call("GET", _p("/risk/policy")),
        200,
    ),
    RouteCase(
        "PUT",
        _p("/risk/policy"),
        Permission.RISK_MANAGE,
        lambda _o, _r, _g: Call(
            "PUT",
            _p("/risk/policy"),
            {
                "ratio_cuts": [0.25, 1, 3, 10, 30],
                "recent_cuts": [1, 2, 4, 8],
                "recent_days": 30,
                "recent_radius_km": 20,
                "horizon_days": 30,
            },
        ),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/backtests"),
        Permission.RISK_READ,
        lambda _o, _r, _g: Call("GET", _p("/risk/backtests")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/risk/backtests/{backtest_id}"),
        Permission.RISK_READ,
        lambda o, _r, g: Call("GET", _p(f"/risk/backtests/{o.backtest(g)}")),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/movements"),
        Permission.MOVEMENT_READ,
        lambda _o, _r, _g: Call("GET", _p("/movements?state=submitted")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/movements/board"),
        Permission.MOVEMENT_READ,
        lambda _o, _r, _g: Call("GET", _p("/movements/board")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/movements"),
        Permission.MOVEMENT_REQUEST,
        lambda _o, _r, _g: Call(
            "POST",
            _p("/movements"),
            {
                "origin": "Gwadar",
                "destination": "Turbat",
                "departure": "2030-01-05T09:00:00+05:00",
                "arrival": "2030-01-05T14:00:00+05:00",
                "submit": False,
            },
        ),
        201,
    ),
    RouteCase(
        "GET",
        _p("/movement-patterns"),
        Permission.MOVEMENT_READ,
        lambda _o, _r, _g: Call("GET", _p("/movement-patterns?days=30")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/movement-routes"),
        Permission.MOVEMENT_REQUEST,
        lambda _o, _r, _g: Call(
            "POST",
            _p("/movement-routes"),
            {
                "origin": "Gwadar",
                "destination": "Turbat",
                "departure": "2030-01-05T09:00:00+05:00",
                "arrival": "2030-01-05T14:00:00+05:00",
                "alternatives": 2,
            },
        ),
        200,
    ),
    RouteCase(
        "GET",
        _p("/movements/policy"),
        Permission.MOVEMENT_READ,
        lambda _o, _r, _g: Call("GET", _p("/movements/policy")),
        200,
    ),
    RouteCase(
        "PUT",
        _p("/movements/policy"),
        Permission.MOVEMENT_POLICY,
        lambda o, _r, _g: Call(
            "PUT",
            _p("/movements/policy"),
            {
                "document": f'version = 1\nname = "matrix"\nrevision = {o.policy_revision()}\n'
                '[[rule]]\nid = "a3"\ndescription = "one approval"\n'
                "when = { min_level = 3 }\napprovals = 1\n"
            },
        ),
        200,
    ),
    RouteCase(
        "GET",
        _p("/movements/{movement_id}"),
        Permission.MOVEMENT_READ,
        lambda o, _r, g: Call("GET", _p(f"/movements/{o.movement(g, 'submitted')}")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/submit"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call("POST", _p(f"/movements/{o.movement(g, 'draft')}/submit")),
        200,
        owned=True,
    ),
    RouteCase(
        "PUT",
        _p("/movements/{movement_id}/measures"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "PUT",
            _p(f"/movements/{o.movement(g, 'draft')}/measures"),
            {"measures": ["police_escort"]},
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/approve"),
        Permission.MOVEMENT_APPROVE,
        lambda o, _r, g: Call("POST", _p(f"/movements/{o.movement(g, 'submitted')}/approve")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/reject"),
        Permission.MOVEMENT_APPROVE,
        lambda o, _r, g: Call(
            "POST",
            _p(f"/movements/{o.movement(g, 'submitted')}/reject"),
            {"reason": "route closed"},
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/cancel"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "POST", _p(f"/movements/{o.movement(g, 'approved')}/cancel"), {"reason": "postponed"}
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/start"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call("POST", _p(f"/movements/{o.movement(g, 'approved')}/start")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/arrive"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call("POST", _p(f"/movements/{o.movement(g, 'under_way')}/arrive")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/incident"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "POST",
            _p(f"/movements/{o.movement(g, 'under_way')}/incident"),
            {"note": "stopped at a checkpoint"},
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/check-ins"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "POST",
            _p(f"/movements/{o.movement(g, 'under_way')}/check-ins"),
            {"lat": 25.5, "lon": 62.9, "note": "on time"},
        ),
        201,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/review"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "POST",
            _p(f"/movements/{o.movement(g, 'arrived')}/review"),
            {"summary": "Arrived on time", "measures_effective": True},
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/people"),
        Permission.PERSONAL_DATA_READ,
        lambda _o, _r, _g: Call("GET", _p("/people")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/people"),
        Permission.PERSON_MANAGE,
        lambda o, _r, _g: Call(
            "POST",
            _p("/people"),
            {"ref": o.unique("ref"), "name": "New engineer", "languages": ["zh", "en"]},
        ),
        201,
    ),
    RouteCase(
        "GET",
        _p("/people/{person_id}"),
        Permission.PERSONAL_DATA_READ,
        lambda o, _r, g: Call("GET", _p(f"/people/{o.person(g)}")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/people/{person_id}/consent"),
        Permission.PERSON_MANAGE,
        lambda o, _r, g: Call(
            "POST", _p(f"/people/{o.person(g)}/consent"), {"given": False, "note": "left"}
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/people/{person_id}/positions"),
        Permission.PERSONAL_DATA_READ,
        lambda o, _r, g: Call("GET", _p(f"/people/{o.revealable(g)}/positions?reason=matrix")),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/people/{person_id}/latest-position"),
        Permission.PERSONAL_DATA_READ,
        lambda o, _r, g: Call(
            "GET", _p(f"/people/{o.revealable(g)}/latest-position?reason=matrix")
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/positions"),
        Permission.POSITION_REPORT,
        lambda o, r, _g: Call(
            "POST",
            _p("/positions"),
            {
                "positions": [
                    {
                        "person": str(o.person(CALLER_ORG, linked_to=r)),
                        "at": utcnow().isoformat(),
                        "lat": 35.32,
                        "lon": 73.22,
                    }
                ]
            },
        ),
        200,
    ),
    RouteCase(
        "GET",
        _p("/alerts"),
        Permission.ALERT_READ,
        lambda _o, _r, _g: Call("GET", _p("/alerts")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/alerts"),
        Permission.ALERT_RAISE,
        lambda _o, _r, _g: Call(
            "POST",
            _p("/alerts"),
            {
                "area": {"type": "Circle", "center": [62.33, 25.13], "radius_km": 3},
                "severity": "moderate",
                "category": "security",
                "messages": ALERT_TEXT,
                "drill": True,
            },
        ),
        201,
    ),
    RouteCase(
        "GET",
        _p("/alerts/{alert_id}"),
        Permission.ALERT_READ,
        lambda o, _r, g: Call("GET", _p(f"/alerts/{o.alert(g)}")),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/alerts/{alert_id}/board"),
        Permission.ALERT_READ,
        lambda o, _r, g: Call("GET", _p(f"/alerts/{o.alert(g)}/board")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/alerts/{alert_id}/close"),
        Permission.ALERT_RAISE,
        lambda o, _r, g: Call("POST", _p(f"/alerts/{o.alert(g)}/close")),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/sos"),
        None,
        lambda o, r, _g: (
            o.person(CALLER_ORG, linked_to=r),
            Call("POST", _p("/sos"), {"lat": 25.13, "lon": 62.33}),
        )[1],
        201,
    ),
    RouteCase(
        "GET", _p("/map/outlines"), None, lambda _o, _r, _g: Call("GET", _p("/map/outlines")), 200
    ),
    RouteCase("GET", _p("/map/roads"), None, lambda _o, _r, _g: Call("GET", _p("/map/roads")), 200),
    RouteCase(
        "GET",
        _p("/reports/sitrep"),
        Permission.REPORT_READ,
        lambda _o, _r, _g: Call(
            "GET", _p("/reports/sitrep?from=2024-03-01&to=2024-03-07&format=html")
        ),
        200,
    ),
    RouteCase(
        "GET",
        _p("/me/rollcalls"),
        None,
        lambda o, r, _g: (o.my_rollcall(r), Call("GET", _p("/me/rollcalls")))[1],
        200,
    ),
    RouteCase(
        "POST",
        _p("/me/rollcalls/{alert_id}"),
        None,
        lambda o, r, _g: Call("POST", _p(f"/me/rollcalls/{o.my_rollcall(r)}"), {"answer": "safe"}),
        200,
    ),
    RouteCase(
        "POST",
        _p("/escort"),
        None,
        lambda o, r, _g: (
            o.person(CALLER_ORG, linked_to=r),
            Call("POST", _p("/escort"), {"minutes": 30}),
        )[1],
        201,
    ),
    RouteCase(
        "POST",
        _p("/escort/{timer_id}/cancel"),
        None,
        lambda o, r, _g: Call("POST", _p(f"/escort/{o.escort(r)}/cancel")),
        200,
    ),
    RouteCase(
        "GET",
        _p("/plans/sites"),
        Permission.PLAN_READ,
        lambda o, _r, _g: (
            o.site(CALLER_ORG),
            o.site(CALLER_ORG),
            Call("GET", _p("/plans/sites?teams=1")),
        )[2],
        200,
    ),
    RouteCase(
        "POST",
        _p("/plans/sites/calendar"),
        Permission.PLAN_MANAGE,
        lambda o, _r, _g: (
            o.site(CALLER_ORG),
            o.site(CALLER_ORG),
            Call("POST", _p("/plans/sites/calendar?teams=1&days=3&seed=7")),
        )[2],
        200,
    ),
    RouteCase(
        "POST",
        _p("/plans/routes"),
        Permission.PLAN_READ,
        lambda _o, _r, _g: Call(
            "POST",
            _p("/plans/routes"),
            {"pairs": [{"origin": "Gwadar", "destination": "Turbat", "party": 3}], "days": 1},
        ),
        200,
    ),
    RouteCase(
        "POST",
        _p("/plans/routes/calendar"),
        Permission.PLAN_MANAGE,
        lambda _o, _r, _g: Call(
            "POST",
            _p("/plans/routes/calendar"),
            {"pairs": [{"origin": "Gwadar", "destination": "Turbat"}], "days": 2, "seed": 7},
        ),
        200,
    ),
    RouteCase(
        "POST",
        _p("/intake/reports"),
        Permission.INCIDENT_CREATE,
        lambda o, _r, _g: Call(
            "POST",
            _p("/intake/reports"),
            {
                "text": f"Gunmen opened fire on a police checkpost near Turbat, killing two "
                f"constables ({o.unique('r')}).",
                "report_date": "2024-05-02",
            },
        ),
        201,
    ),
    RouteCase(
        "GET",
        _p("/tips"),
        Permission.INCIDENT_REVIEW,
        lambda _o, _r, _g: Call("GET", _p("/tips")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/tips/{tip_id}/triage"),
        Permission.INCIDENT_REVIEW,
        lambda o, _r, g: Call(
            "POST", _p(f"/tips/{o.tip(g)}/triage"), {"outcome": "not_actionable"}
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/alerts/{alert_id}/events"),
        Permission.ALERT_READ,
        lambda o, _r, g: Call("GET", _p(f"/alerts/{o.alert(g)}/events?max_s=1&poll_s=0.5")),
        200,
        owned=True,
    ),
    RouteCase(
        "GET",
        _p("/positions/summary"),
        Permission.SITE_READ,
        lambda _o, _r, _g: Call("GET", _p("/positions/summary")),
        200,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/departure"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "POST", _p(f"/movements/{o.movement(g, 'submitted')}/departure?seed=3")
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "POST",
        _p("/movements/{movement_id}/route-draw"),
        Permission.MOVEMENT_REQUEST,
        lambda o, _r, g: Call(
            "POST", _p(f"/movements/{o.movement(g, 'submitted')}/route-draw?seed=3")
        ),
        200,
        owned=True,
    ),
    RouteCase(
        "GET", _p("/sites"), Permission.SITE_READ, lambda _o, _r, _g: Call("GET", _p("/sites")), 200
    ),
    RouteCase(
        "POST",
        _p("/sites"),
        Permission.SITE_MANAGE,
        lambda o, _r, _g: Call(
            "POST",
            _p("/sites"),
            {
                "slug": o.unique("camp-"),
                "name": "Matrix camp",
                "kind": "camp",
                "latitude": 35.3,
                "longitude": 73.2,
            },
        ),
        201,
    ),
    RouteCase(
        "GET",
        _p("/sites/{site_id}"),
        Permission.SITE_READ,
        lambda o, _r, g: Call("GET", _p(f"/sites/{o.site(g)}")),
        200,
        owned=True,
    ),
)


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    """The application's routes, flattened (FastAPI keeps included routers nested)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept as such
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def _required_permissions(dependant: Any) -> set[Permission]:
    found: set[Permission] = set()
    for dep in dependant.dependencies:
        name = getattr(dep.call, "__name__", "")
        if name.startswith("require_"):
            found.add(Permission[name.removeprefix("require_").upper()])
        found |= _required_permissions(dep)
    return found


def app_route_permissions(app: FastAPI) -> dict[tuple[str, str], Permission | str | None]:
    """(method, path) -> the permission its dependencies require (None for any signed-in
    caller), for every route under the API prefix except :data:`EXEMPT`."""
    out: dict[tuple[str, str], Permission | str | None] = {}
    for route in _route_contexts(app):
        path = getattr(route, "path_format", None) or route.path or ""
        for method in sorted(route.methods or ()):
            if method == "HEAD" or not path.startswith(API_PREFIX) or (method, path) in EXEMPT:
                continue
            dependant = getattr(route, "dependant", None)
            if dependant is None:
                out[(method, path)] = "not an API route: no dependencies to read"
                continue
            perms = _required_permissions(dependant)
            assert len(perms) <= 1, f"{method} {path} requires several permissions: {perms}"
            out[(method, path)] = perms.pop() if perms else None
    return out


def test_route_table_matches_the_application(world: World) -> None:
    app = world.client.app
    declared = {(r.method, r.path): r.permission for r in ROUTES}
    actual = app_route_permissions(app)
    assert set(actual) - set(declared) == set(), "routes without an entry in the table"
    assert set(declared) - set(actual) == set(), "table entries for routes that do not exist"
    assert actual == declared
    assert len(ROUTES) == len(declared), "a route appears twice in the table"


def test_every_route_needs_a_principal(world: World) -> None:
    """Without credentials every route of the table answers 401 with a problem document."""
    for route in ROUTES:
        path = route.path.format(
            incident_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            key_id=uuid.uuid4(),
            group_id=uuid.uuid4(),
            forecast_id=uuid.uuid4(),
            site_id=uuid.uuid4(),
            backtest_id=uuid.uuid4(),
            movement_id=uuid.uuid4(),
            person_id=uuid.uuid4(),
            alert_id=uuid.uuid4(),
            timer_id=uuid.uuid4(),
            tip_id=uuid.uuid4(),
            district="Gwadar",
            name="feed",
        )
        r = world.client.request(route.method, path)
        assert r.status_code == 401, (route.id, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.fixture(scope="module")
def matrix(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Objects]:
    """A world of its own: the matrix writes (its write routes run once per case)."""
    for world in build_world(database_url, tmp_path_factory.mktemp("matrix")):
        yield Objects(world)


@pytest.mark.parametrize("owner", ["own", "other"])
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_role_on_route(matrix: Objects, role: Role, route: RouteCase, owner: str) -> None:
    """403 exactly when ROLE_PERMISSIONS withholds the route's permission; otherwise the
    route's success status on the caller's own objects and 404 on another organisation's
    (which the caller may not see)."""
    call = route.build(matrix, role, CALLER_ORG if owner == "own" else OTHER_ORG)
    headers = {**matrix.world.headers(CALLER_ORG, role), **call.headers}
    r = matrix.world.client.request(call.method, call.path, json=call.json, headers=headers)
    if route.permission is not None and not allowed(role, route.permission):
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert route.permission.value in r.json()["detail"]
        return
    expected = 404 if owner == "other" and route.owned else route.ok
    assert r.status_code == expected, r.text
    if expected == 404:
        assert r.headers["content-type"].startswith(PROBLEM)


# --- TLP visibility through every read route ---------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the visibility rule and the search filters need to know about one incident."""

    id: uuid.UUID
    org_id: uuid.UUID | None
    tlp: str
    status: str
    created_by: uuid.UUID | None
    groups: frozenset[uuid.UUID]
    recipients: frozenset[uuid.UUID]
    text: str
    province: str | None
    latitude: float | None
    longitude: float | None
    h3_r6: int | None


def _facts(world: World) -> dict[uuid.UUID, Facts]:
    with world.client.app.state.session_factory() as session:
        shares: dict[uuid.UUID, set[uuid.UUID]] = {}
        for incident_id, group_id in session.execute(
            select(IncidentShare.incident_id, IncidentShare.group_id)
        ):
            shares.setdefault(incident_id, set()).add(group_id)
        recipients: dict[uuid.UUID, set[uuid.UUID]] = {}
        for incident_id, user_id in session.execute(
            select(IncidentRecipient.incident_id, IncidentRecipient.user_id)
        ):
            recipients.setdefault(incident_id, set()).add(user_id)
        return {
            i.id: Facts(
                id=i.id,
                org_id=i.org_id,
                tlp=i.tlp,
                status=i.status,
                created_by=i.created_by,
                groups=frozenset(shares.get(i.id, ())),
                recipients=frozenset(recipients.get(i.id, ())),
                text=" ".join(
                    t for t in (i.summary, i.place, i.perpetrator, i.district) if t
                ).lower(),
                province=i.province,
                latitude=i.latitude,
                longitude=i.longitude,
                h3_r6=i.h3_r6,
            )
            for i in session.execute(select(Incident)).scalars()
        }


def _principal(world: World, org: str, role: Role) -> Principal:
    with world.client.app.state.session_factory() as session:
        groups = session.execute(
            select(SharingGroupMember.group_id).where(SharingGroupMember.org_id == world.orgs[org])
        ).scalars()
        return Principal(
            org_id=world.orgs[org],
            role=role.value,
            user_id=world.users[(org, role)],
            group_ids=frozenset(groups),
        )


def _sees(principal: Principal, f: Facts) -> bool:
    return visible_in_python(
        principal,
        org_id=f.org_id,
        tlp=f.tlp,
        status=f.status,
        created_by=f.created_by,
        group_ids=f.groups,
        recipients=f.recipients,
    )


READERS = [(org, role) for org in ORGS for role in Role if allowed(role, Permission.INCIDENT_READ)]


def _reader_id(value: tuple[str, Role]) -> str:
    return f"{value[0]}.{value[1].value}"


@dataclass(frozen=True)
class Filter:
    name: str
    params: dict[str, str]
    matches: Callable[[Facts], bool]


def _in_polygon(f: Facts) -> bool:
    if f.latitude is None or f.longitude is None:
        return False
    return bool(shape(BESHAM_POLYGON).covers(Point(f.longitude, f.latitude)))


def _filters(facts: dict[uuid.UUID, Facts]) -> list[Filter]:
    found = [
        Filter("all", {}, lambda _f: True),
        Filter("q=test", {"q": "test"}, lambda f: "test" in f.text),
        Filter(
            "province",
            {"province": "Khyber Pakhtunkhwa"},
            lambda f: (f.province or "").lower() == "khyber pakhtunkhwa",
        ),
        Filter(
            "bbox",
            {"bbox": "72.75,34.85,72.85,34.95"},
            lambda f: (
                f.longitude is not None
                and f.latitude is not None
                and 72.75 <= f.longitude <= 72.85
                and 34.85 <= f.latitude <= 34.95
            ),
        ),
        Filter("polygon", {"polygon": json.dumps(BESHAM_POLYGON)}, _in_polygon),
    ]
    for cell in sorted({f.h3_r6 for f in facts.values() if f.h3_r6 is not None}):
        found.append(
            Filter(
                f"h3={h3.int_to_str(cell)}",
                {"h3": h3.int_to_str(cell)},
                lambda f, cell=cell: f.h3_r6 == cell,
            )
        )
    return found


def _ids_from_pages(
    world: World, headers: dict[str, str], params: dict[str, str], *, geojson: str | None = None
) -> list[uuid.UUID]:
    """Every incident id of a search, following next_cursor to the end."""
    ids: list[uuid.UUID] = []
    query = {**params, "limit": "4"}
    hdrs = dict(headers)
    if geojson == "format":
        query["format"] = "geojson"
    elif geojson == "accept":
        hdrs["Accept"] = "application/geo+json"
    for _ in range(100):
        r = world.client.get(f"{API_PREFIX}/incidents", params=query, headers=hdrs)
        assert r.status_code == 200, r.text
        body = r.json()
        if geojson:
            assert r.headers["content-type"].startswith("application/geo+json")
            assert body["type"] == "FeatureCollection"
            ids += [uuid.UUID(feature["id"]) for feature in body["features"]]
        else:
            ids += [uuid.UUID(item["id"]) for item in body["items"]]
        if body["next_cursor"] is None:
            return ids
        query["cursor"] = body["next_cursor"]
    pytest.fail("more than 100 pages")


def _ids_from_csv(world: World, headers: dict[str, str], params: dict[str, str]) -> list[uuid.UUID]:
    r = world.client.get(f"{API_PREFIX}/incidents/export.csv", params=params, headers=headers)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    return [uuid.UUID(row["id"]) for row in rows]


@pytest.fixture(scope="module")
def facts(world: World) -> dict[uuid.UUID, Facts]:
    found = _facts(world)
    assert set(found) == set(world.incidents.values()) | set(world.drafts.values())
    return found


@pytest.mark.parametrize("reader", READERS, ids=_reader_id)
def test_read_each_incident(
    world: World, facts: dict[uuid.UUID, Facts], reader: tuple[str, Role]
) -> None:
    """GET /incidents/{id}: 200 exactly when the visibility rule allows it, else 404."""
    org, role = reader
    principal = _principal(world, org, role)
    headers = world.headers(org, role)
    for incident_id, f in facts.items():
        r = world.client.get(f"{API_PREFIX}/incidents/{incident_id}", headers=headers)
        if _sees(principal, f):
            assert r.status_code == 200, (f.tlp, f.status, r.text)
            assert r.json()["id"] == str(incident_id)
        else:
            assert r.status_code == 404, (f.tlp, f.status, r.text)
            assert r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("reader", READERS, ids=_reader_id)
def test_every_listing_shows_the_visible_set(
    world: World, facts: dict[uuid.UUID, Facts], reader: tuple[str, Role]
) -> None:
    """The list (all pages), GeoJSON (by parameter and by Accept), the CSV export and every
    filtered search return exactly the visible incidents that match, each once."""
    org, role = reader
    principal = _principal(world, org, role)
    headers = world.headers(org, role)
    for flt in _filters(facts):
        expected = {i for i, f in facts.items() if _sees(principal, f) and flt.matches(f)}
        outputs = {
            "json": _ids_from_pages(world, headers, flt.params),
            "geojson": _ids_from_pages(world, headers, flt.params, geojson="format"),
            "accept": _ids_from_pages(world, headers, flt.params, geojson="accept"),
        }
        if allowed(role, Permission.INCIDENT_EXPORT):
            outputs["csv"] = _ids_from_csv(world, headers, flt.params)
        for name, ids in outputs.items():
            assert len(ids) == len(set(ids)), (flt.name, name, "duplicates")
            assert set(ids) == expected, (flt.name, name)


def _everything_seen(
    world: World, facts: dict[uuid.UUID, Facts], org: str, role: Role
) -> set[uuid.UUID]:
    headers = world.headers(org, role)
    seen: set[uuid.UUID] = set()
    for flt in _filters(facts):
        seen |= set(_ids_from_pages(world, headers, flt.params))
        seen |= set(_ids_from_pages(world, headers, flt.params, geojson="format"))
        seen |= set(_ids_from_pages(world, headers, flt.params, geojson="accept"))
        seen |= set(_ids_from_csv(world, headers, flt.params))
    for incident_id in facts:
        r = world.client.get(f"{API_PREFIX}/incidents/{incident_id}", headers=headers)
        assert r.status_code in (200, 404), r.text
        if r.status_code == 200:
            seen.add(incident_id)
    return seen


def test_partner_sees_only_what_is_shared(world: World, facts: dict[uuid.UUID, Facts]) -> None:
    """The partner organisation never sees another organisation's AMBER+STRICT or RED object
    by any route; it sees alpha's AMBER (shared with its group) but not bravo's."""
    seen = _everything_seen(world, facts, "partner", Role.PARTNER)
    for owner in ("alpha", "bravo"):
        assert world.incidents[(owner, TLP.AMBER_STRICT)] not in seen
        assert world.incidents[(owner, TLP.RED)] not in seen
        assert world.incidents[(owner, TLP.CLEAR)] in seen
        assert world.incidents[(owner, TLP.GREEN)] in seen
        assert world.drafts[owner] not in seen
    assert world.incidents[("alpha", TLP.AMBER)] in seen
    assert world.incidents[("bravo", TLP.AMBER)] not in seen
    for f in facts.values():
        if f.id in seen:
            assert f.tlp not in (TLP.AMBER_STRICT, TLP.RED), f


def test_red_is_for_its_creator_not_its_organisation(
    world: World, facts: dict[uuid.UUID, Facts]
) -> None:
    """alpha's RED incident was created by alpha's analyst: only that user sees it."""
    red = world.incidents[("alpha", TLP.RED)]
    for role in Role:
        r = world.client.get(f"{API_PREFIX}/incidents/{red}", headers=world.headers("alpha", role))
        assert r.status_code == (200 if role is Role.ANALYST else 404), role
