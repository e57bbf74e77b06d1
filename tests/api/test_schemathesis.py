"""Property-based conformance of the REST API with its own OpenAPI document (schemathesis 4).

Every operation of ``/api/v1/openapi.json`` is exercised with generated requests, once as an
administrator of alpha (examples, coverage and fuzzing phases) and once as a partner (examples
and fuzzing; the coverage phase's request-shape cases already ran in the first pass and a
partner is refused most operations before its body is read). Each response must:

- not be a server error (5xx);
- have a documented status code, content type, headers and a body matching the schema (every
  4xx is an RFC 9457 problem document);
- reject schema-violating requests (negative data) with a 4xx, and answer an undeclared method
  with 405 and a correct ``Allow`` header.

``positive_data_acceptance`` is off: the schema cannot express business rules (a province that
exists, ``since`` before ``until``, a password policy), and such requests rightly get 422.

The schema is loaded from an application built at import time (the document does not depend on
the database); requests go to the world's application. Hypothesis runs derandomised, so the
cases, and any failure, are the same on every run. The suite runs on SQLite and, with
``--postgres``, on PostgreSQL (NUL characters, 32-bit integers and date ranges differ there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi

from silkguard.api.app import API_PREFIX, create_app
from silkguard.auth.roles import Role
from silkguard.core.settings import Environment, Settings
from tests.api.conftest import SECRET, World

EXAMPLES = 20


def _config(*, coverage: bool) -> SchemathesisConfig:
    data: dict[str, Any] = {
        "seed": 20240326,
        "generation": {
            "max-examples": EXAMPLES,
            "deterministic": True,
            # Credentials are ours (a bearer header per pass); generated ones only add 401s.
            "with-security-parameters": False,
        },
        "phases": {"coverage": {"enabled": coverage}},
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
    return SchemathesisConfig.from_dict(data)


_SPEC_APP = create_app(
    Settings(database_url="sqlite://", secret_key=SECRET, environment=Environment.TEST)
)
_SPEC = f"{API_PREFIX}/openapi.json"
admin_schema = schemathesis.openapi.from_asgi(_SPEC, _SPEC_APP, config=_config(coverage=True))
partner_schema = schemathesis.openapi.from_asgi(_SPEC, _SPEC_APP, config=_config(coverage=False))


@pytest.fixture(scope="module", autouse=True)
def _stop_lifespans(world: World) -> Iterator[None]:
    """schemathesis keeps the lifespan of every application it called running; end them
    before the world's database goes away."""
    yield
    asgi.shutdown_lifespans()


def test_the_document_is_openapi_with_problem_errors(world: World) -> None:
    spec = world.client.get(_SPEC).json()
    assert spec["openapi"].startswith("3.")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {
        **schemes["APIKeyHeader"],
        "in": "header",
        "name": "X-API-Key",
    }
    assert spec["paths"][f"{API_PREFIX}/auth/me"]["get"]["security"] == [
        {"HTTPBearer": []},
        {"APIKeyHeader": []},
    ]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert "application/problem+json" in response["content"], (
                        method,
                        path,
                        status,
                    )
    assert "$defs" not in str(spec["paths"])


@admin_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
def test_as_admin_of_alpha(case: schemathesis.Case, world: World) -> None:
    case.call_and_validate(app=world.client.app, headers=world.headers("alpha", Role.ADMIN))


@partner_schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
def test_as_partner(case: schemathesis.Case, world: World) -> None:
    case.call_and_validate(app=world.client.app, headers=world.headers("partner", Role.PARTNER))
