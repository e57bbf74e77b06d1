"""The API test world (two operator organisations, a partner, a sharing group of alpha and the
partner, incidents under every marking) for sharing on the store, plus helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.roles import Role
from silkguard.core.access import Principal
from silkguard.core.db import make_engine, make_session_factory, session_scope
from tests.api.conftest import (
    World,
    WorldTemplate,
    _cheap_password_hashing,  # noqa: F401 - a fixture
    build_world,
    copy_world,
    world_template,  # noqa: F401 - a fixture
)

__all__ = ["World", "api_key", "open_session", "principal_of"]


@pytest.fixture(scope="module")
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(database_url, tmp_path_factory.mktemp("share-world"))


@pytest.fixture
def fresh_world(
    world_template: WorldTemplate,  # noqa: F811 - the fixture imported above
    database_url: str,
    tmp_path: Path,
) -> Iterator[World]:
    # The tests here run the pulls themselves: the app's scheduler would also pull a due
    # subscription once a minute, in the middle of a test (it did, in CI).
    yield from copy_world(world_template, database_url, tmp_path, run_schedules=False)


def principal_of(session: Session, world: World, org: str, role: Role) -> Principal:
    user_id = world.users[(org, role)]
    return Principal(
        org_id=world.orgs[org],
        role=role.value,
        user_id=user_id,
        group_ids=frozenset(auth_service.groups_of_org(session, org_id=world.orgs[org])),
    )


@contextmanager
def open_session(world: World) -> Iterator[Session]:
    engine = make_engine(world.settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def api_key(world: World, org: str, role: Role = Role.ANALYST) -> str:
    """A new API key of ``org`` acting as ``role``."""
    engine = make_engine(world.settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            _, text = auth_service.create_api_key(
                session, org_id=world.orgs[org], name=f"taxii-{uuid.uuid4().hex[:6]}", role=role
            )
    finally:
        engine.dispose()
    return text
