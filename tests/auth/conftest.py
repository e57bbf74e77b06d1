"""Fixtures of the auth tests: a pinned clock and an organisation with a user."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from silkguard.auth import service as auth_service
from silkguard.auth.models import Organisation, User
from silkguard.auth.roles import Role

PASSWORD = "correct horse 42 battery"


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
def org(session: Session) -> Organisation:
    return auth_service.create_org(session, slug="corridor-power", name="Corridor Power")


@pytest.fixture
def user(session: Session, org: Organisation) -> User:
    return auth_service.create_user(
        session, org_id=org.id, username="Li.Wei", password=PASSWORD, role=Role.ANALYST
    )
