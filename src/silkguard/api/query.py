"""Query parameters read into one pydantic model by one dependency, and documented in the
OpenAPI document from the same model.

FastAPI resolves each declared query parameter on every request (its field, its type, the
multi-dict lookup, a validation of its own), at about 9 microseconds each in the version we
use; a route with fifteen of them spends more on that than a map search from memory spends
on the search (docs/benchmarks.md, "API under load, session 11"). A busy route declares its
parameters as a model instead: one lookup per name and one validation of the whole model.
What the client sees is the same: the parameters in the OpenAPI document (from the model's
JSON schema, so they cannot drift from what is checked), and a 422 problem naming the
parameter, as FastAPI would give."""

from __future__ import annotations

import types
import typing
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

__all__ = ["QueryModel", "inline_refs"]

M = TypeVar("M", bound=BaseModel)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` substituted in place: FastAPI copies a schema
    given in ``responses=`` or ``openapi_extra=`` as is, and ``#/$defs/...`` does not resolve
    inside OpenAPI."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


def _is_list(annotation: Any) -> bool:
    """Whether a field takes every value of a repeated parameter (``list[X] | None``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return typing.get_origin(annotation) is list


class QueryModel(Generic[M]):
    """The query parameters of ``model``: each field is one parameter, named by its alias;
    a ``list[...]`` field takes every value of a repeated parameter, any other field the
    last one (as FastAPI reads them). Parameters the model does not name are ignored."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._names: list[tuple[str, bool]] = [
            (field.alias or name, _is_list(field.annotation))
            for name, field in model.model_fields.items()
        ]
        self.openapi: list[dict[str, Any]] = self._parameters()

    def parse(self, request: Request) -> M:
        """The model of ``request``'s query string; a RequestValidationError (a 422 problem
        naming each parameter at fault) when it is not valid."""
        query = request.query_params
        data: dict[str, Any] = {}
        for name, many in self._names:
            if many:
                values = query.getlist(name)
                if values:
                    data[name] = values
            else:
                value = query.get(name)
                if value is not None:
                    data[name] = value
        try:
            return self.model.model_validate(data)
        except ValidationError as exc:
            errors = [
                {**error, "loc": ("query", *error["loc"])}
                for error in exc.errors(include_url=False, include_context=False)
            ]
            raise RequestValidationError(errors) from None

    def _parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI parameter objects (for a route's ``openapi_extra``)."""
        schema = inline_refs(self.model.model_json_schema(by_alias=True))
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        parameters: list[dict[str, Any]] = []
        for name, _many in self._names:
            prop = properties[name]
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameters.append(parameter)
        return parameters
