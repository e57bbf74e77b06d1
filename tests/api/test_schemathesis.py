"""Property-based conformance of the REST API with its own OpenAPI document (schemathesis)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi

from silkguard.api.app import create_app
from silkguard.auth.roles import Role
from silkguard.core.settings import Environment, Settings
from tests.api.conftest import SECRET, World

CONFIG = {
    "seed": 20240326,
    "generation": {"max-examples": 20, "deterministic": True, "with-security-parameters": False},
    "checks": {"positive_data_acceptance": {"enabled": False}},
}
_SPEC_APP = create_app(
    Settings(database_url="sqlite://", secret_key=SECRET, environment=Environment.TEST)
)
schema = schemathesis.openapi.from_asgi(
    "/api/v1/openapi.json", _SPEC_APP, config=SchemathesisConfig.from_dict(CONFIG)
)


@pytest.fixture(scope="module", autouse=True)
def _stop_lifespans() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True)
def test_admin_of_alpha(case: schemathesis.Case, world: World) -> None:
    case.call_and_validate(app=world.client.app, headers=world.headers("alpha", Role.ADMIN))


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True)
def test_partner(case: schemathesis.Case, world: World) -> None:
    case.call_and_validate(app=world.client.app, headers=world.headers("partner", Role.PARTNER))
