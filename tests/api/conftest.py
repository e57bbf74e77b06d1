"""An API world for tests: two operator organisations and a partner, one user per role in
each, a sharing group, and incidents under every TLP marking owned by each organisation."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from silkguard.api.app import create_app
from silkguard.auth import passwords
from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.auth.tokens import create_access_token
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from silkguard.core.settings import Environment, Settings
from silkguard.core.tlp import TLP
from silkguard.incidents import review as incidents_review
from silkguard.incidents.schemas import IncidentCreate
from silkguard.incidents.vocab import AttackType, TargetType
from silkguard.migrations import upgrade
from tests.conftest import _admin_engine, drop_pg_database, new_pg_database, pg_database_url

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct-horse-battery-9"
ORGS = ("alpha", "bravo", "partner")


@dataclass
class World:
    client: TestClient
    settings: Settings
    orgs: dict[str, uuid.UUID]
    users: dict[tuple[str, Role], uuid.UUID]  # (org slug, role) -> user id
    group_id: uuid.UUID  # alpha + partner
    incidents: dict[tuple[str, TLP], uuid.UUID] = field(default_factory=dict)  # confirmed
    drafts: dict[str, uuid.UUID] = field(default_factory=dict)

    def token(self, org: str, role: Role) -> str:
        return create_access_token(
            user_id=self.users[(org, role)],
            org_id=self.orgs[org],
            role=role,
            secret=SECRET,
            ttl_s=900,
            now=datetime.now(UTC),
        )

    def headers(self, org: str, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(org, role)}"}


def _url_for(database_url: str, tmp: Path) -> tuple[str, str | None]:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp / 'api.db'}", None
    schema = f"api_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(database_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


@dataclass(frozen=True)
class Seeded:
    """The rows ``_seed`` made: what a World names."""

    orgs: dict[str, uuid.UUID]
    users: dict[tuple[str, Role], uuid.UUID]
    group_id: uuid.UUID
    incidents: dict[tuple[str, TLP], uuid.UUID]
    drafts: dict[str, uuid.UUID]


def _seed(url: str) -> Seeded:
    """Migrate the empty database at ``url`` and add the organisations, users, group and
    incidents of a world."""
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    orgs: dict[str, uuid.UUID] = {}
    users: dict[tuple[str, Role], uuid.UUID] = {}
    with session_scope(factory) as session:
        for slug in ORGS:
            kind = "partner" if slug == "partner" else "operator"
            orgs[slug] = auth_service.create_org(
                session, slug=slug, name=slug.title(), kind=kind
            ).id
        for slug in ORGS:
            for role in Role:
                user = auth_service.create_user(
                    session,
                    org_id=orgs[slug],
                    username=f"{slug}.{role.value}",
                    password=PASSWORD,
                    role=role,
                )
                users[(slug, role)] = user.id
        group = auth_service.create_sharing_group(session, name="kkh", owner_org_id=orgs["alpha"])
        auth_service.add_group_member(session, group_id=group.id, org_id=orgs["partner"])
        group_id = group.id
    world_incidents: dict[tuple[str, TLP], uuid.UUID] = {}
    drafts: dict[str, uuid.UUID] = {}
    with session_scope(factory) as session:
        for n, slug in enumerate(("alpha", "bravo")):
            principal = Principal(
                org_id=orgs[slug], role="analyst", user_id=users[(slug, Role.ANALYST)]
            )
            for k, tlp in enumerate(TLP):
                data = IncidentCreate(
                    occurred_at=datetime(2024, 3, 1 + k, 9, tzinfo=UTC) + timedelta(days=10 * n),
                    attack_type=AttackType.IED,
                    target_type=TargetType.CONVOY,
                    latitude=34.9 + 0.01 * k,
                    longitude=72.8 + 0.1 * n,
                    place="Besham",
                    tlp=tlp,
                    summary=f"{slug} {tlp.value} test incident",
                    share_with_groups=[group_id] if tlp is TLP.AMBER and slug == "alpha" else [],
                )
                inc = incidents_review.create_draft(session, principal=principal, data=data)
                incidents_review.confirm(session, principal=principal, incident_id=inc.id)
                world_incidents[(slug, tlp)] = inc.id
            draft = incidents_review.create_draft(
                session,
                principal=principal,
                data=IncidentCreate(
                    occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
                    attack_type=AttackType.SHOOTING,
                    target_type=TargetType.PROJECT_SITE,
                    place="Dasu",
                    tlp=TLP.GREEN,
                    summary=f"{slug} draft",
                ),
            )
            drafts[slug] = draft.id
    engine.dispose()
    return Seeded(orgs, users, group_id, world_incidents, drafts)


def _serve(url: str, seeded: Seeded, *, run_schedules: bool) -> Iterator[World]:
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        environment=Environment.TEST,
        login_rate_per_minute=1000,
        run_schedules=run_schedules,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(  # copies: a test may add to its world's maps
            client,
            settings,
            dict(seeded.orgs),
            dict(seeded.users),
            seeded.group_id,
            dict(seeded.incidents),
            dict(seeded.drafts),
        )


def build_world(database_url: str, tmp: Path, *, run_schedules: bool = True) -> Iterator[World]:
    url, schema = _url_for(database_url, tmp)
    seeded = _seed(url)
    yield from _serve(url, seeded, run_schedules=run_schedules)
    if schema is not None:
        admin = _admin_engine(database_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Worlds create 18 users; argon2's production cost (64 MiB, 3 passes) is not under test.
    Module-scoped and autouse, so it is in force before each module's world is built."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_hasher", lambda: cheap)
        passwords.dummy_hash.cache_clear()  # made with the hasher in force when first used
        yield
    passwords.dummy_hash.cache_clear()


@pytest.fixture(scope="module")
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world per test module (reads and the permission matrix share it)."""
    yield from build_world(database_url, tmp_path_factory.mktemp("world"))


@dataclass(frozen=True)
class WorldTemplate:
    source: str  # a SQLite file, or a PostgreSQL database nothing is connected to
    seeded: Seeded


@pytest.fixture(scope="module")
def world_template(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, _cheap_password_hashing: None
) -> Iterator[WorldTemplate]:
    """A migrated and seeded world database, built once per module; each ``fresh_world``
    gets a copy of it (migrating and seeding per test cost more than copying)."""
    if database_url.startswith("sqlite"):
        path = tmp_path_factory.mktemp("world-template") / "world.db"
        yield WorldTemplate(str(path), _seed(f"sqlite:///{path}"))
        return
    name = new_pg_database(database_url)
    try:
        yield WorldTemplate(name, _seed(pg_database_url(database_url, name)))
    finally:
        drop_pg_database(database_url, name)


def copy_world(
    template: WorldTemplate, database_url: str, tmp: Path, *, run_schedules: bool = True
) -> Iterator[World]:
    """A world of its own: a copy of ``template``'s database served by a new app."""
    if database_url.startswith("sqlite"):
        copy = tmp / "api.db"
        shutil.copyfile(template.source, copy)
        yield from _serve(f"sqlite:///{copy}", template.seeded, run_schedules=run_schedules)
        return
    name = new_pg_database(database_url, template=template.source)
    try:
        url = pg_database_url(database_url, name)
        yield from _serve(url, template.seeded, run_schedules=run_schedules)
    finally:
        drop_pg_database(database_url, name)


@pytest.fixture
def fresh_world(
    world_template: WorldTemplate, database_url: str, tmp_path: Path
) -> Iterator[World]:
    """A world of its own for tests that change things."""
    yield from copy_world(world_template, database_url, tmp_path)
