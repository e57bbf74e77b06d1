"""Query parameters read into one model (api.query): read as FastAPI reads declared
parameters, refused with a 422 problem naming the parameter, and documented from the model."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from silkguard.api.problems import install_problem_handlers
from silkguard.api.query import QueryModel


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


class Filters(BaseModel):
    size: int = Field(10, ge=1, le=50, description="How many.")
    name: str | None = Field(None, max_length=5)
    kind: str | None = Field(None, alias="type")
    colour: list[Colour] | None = None


FILTERS = QueryModel(Filters)


async def filters(request: Request) -> Filters:
    return FILTERS.parse(request)


def _client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things", openapi_extra={"parameters": FILTERS.openapi})
    async def things(f: Annotated[Filters, Depends(filters)]) -> dict[str, Any]:
        return f.model_dump(mode="json")

    return TestClient(app)


def test_values_are_read_as_fastapi_reads_them() -> None:
    client = _client()
    got = client.get("/things?size=3&name=a&name=b&type=x&colour=red&colour=green&other=1")
    assert got.status_code == 200
    # a list takes every value, anything else the last; unknown parameters are ignored
    assert got.json() == {"size": 3, "name": "b", "kind": "x", "colour": ["red", "green"]}
    assert client.get("/things").json() == {
        "size": 10,
        "name": None,
        "kind": None,
        "colour": None,
    }


def test_a_bad_value_is_a_422_naming_the_parameter() -> None:
    client = _client()
    for query, name in (
        ("size=0", "size"),
        ("size=many", "size"),
        ("name=toolong", "name"),
        ("colour=red&colour=blue", "colour.1"),
    ):
        got = client.get(f"/things?{query}")
        assert got.status_code == 422, query
        assert got.headers["content-type"].startswith("application/problem+json")
        assert [p["name"] for p in got.json()["invalid_params"]] == [name], query


def test_the_parameters_are_documented_from_the_model() -> None:
    operation = _client().get("/openapi.json").json()["paths"]["/things"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert list(params) == ["size", "name", "type", "colour"]
    assert all(p["in"] == "query" and p["required"] is False for p in params.values())
    assert params["size"]["schema"]["maximum"] == 50
    assert params["size"]["description"] == "How many."
    # enums inlined: ``#/$defs/...`` would not resolve inside the OpenAPI document
    colours = params["colour"]["schema"]["anyOf"][0]["items"]
    assert colours["enum"] == ["red", "green"]
