"""``GET /api/v1/reports/sitrep``: documents with their type and file name, what each reader
may see, refused periods and formats as problem documents, the audit entry."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from silkguard.api.app import API_PREFIX
from silkguard.auth.models import AuditEntry
from silkguard.auth.roles import Role
from tests.api.conftest import World

URL = f"{API_PREFIX}/reports/sitrep"
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}
PROBLEM = "application/problem+json"


def test_a_pdf_comes_as_an_attachment(world: World) -> None:
    r = world.client.get(
        URL, params={**MARCH, "format": "pdf"}, headers=world.headers("alpha", Role.ANALYST)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == (
        'attachment; filename="sitrep-2024-03-01-2024-03-31.pdf"'
    )
    reader = PdfReader(io.BytesIO(r.content))
    text = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    assert "Situation report" in text
    assert "alpha RED test incident" in text  # the analyst wrote it
    assert "bravo RED test incident" not in text  # RED goes to named recipients only


def test_html_is_the_default_pdf_alternative_and_is_audited(world: World) -> None:
    r = world.client.get(
        URL, params={**MARCH, "format": "html"}, headers=world.headers("alpha", Role.ADMIN)
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"].endswith('filename="sitrep-2024-03-01-2024-03-31.html"')
    assert r.text.startswith("<!DOCTYPE html>")
    with world.client.app.state.session_factory() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "report.sitrep")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).one()
    assert entry.actor == f"user:{world.users[('alpha', Role.ADMIN)]}"
    assert entry.detail["format"] == "html"
    assert entry.detail["from"] == "2024-03-01"
    assert entry.object_id == "sitrep-2024-03-01-2024-03-31.html"


def test_a_partner_sees_only_what_is_shared_with_it(world: World) -> None:
    r = world.client.get(
        URL, params={**MARCH, "format": "html"}, headers=world.headers("partner", Role.PARTNER)
    )
    assert r.status_code == 200, r.text
    assert "bravo GREEN test incident" in r.text
    assert "alpha AMBER test incident" in r.text  # shared with the partner's group
    assert "bravo AMBER test incident" not in r.text
    assert "alpha AMBER+STRICT test incident" not in r.text


def test_staff_may_not_read_reports(world: World) -> None:
    r = world.client.get(URL, params=MARCH, headers=world.headers("alpha", Role.STAFF))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith(PROBLEM)
    assert "report.read" in r.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "2024-04-01", "to": "2024-03-01"}, "from", "is after to"),
        ({"from": "2023-01-01", "to": "2024-06-30"}, "to", "at most 366 days"),
        ({"from": "1st of March", "to": "2024-03-31"}, "from", "date"),
        ({"from": "2024-03-01", "to": "2024-02-30"}, "to", "date"),
        ({**MARCH, "format": "docx"}, "format", "pdf"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from", "between 1970-01-01"),
        ({"to": "2024-03-31"}, "from", "required"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    world: World, params: dict[str, str], field: str, words: str
) -> None:
    r = world.client.get(URL, params=params, headers=world.headers("alpha", Role.ANALYST))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert [p["name"] for p in body["invalid_params"]] == [field]
    assert words in body["invalid_params"][0]["reason"] + body["detail"]


def test_the_operation_is_documented(world: World) -> None:
    spec = world.client.get(f"{API_PREFIX}/openapi.json").json()
    op = spec["paths"][URL]["get"]
    assert op["description"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["from"]["schema"]["format"] == "date"
    assert params["to"]["schema"]["format"] == "date"
    assert params["from"]["required"] is True
    fmt = params["format"]["schema"]
    enum = fmt.get("enum") or spec["components"]["schemas"][fmt["$ref"].split("/")[-1]]["enum"]
    assert sorted(enum) == ["html", "pdf"]
    assert set(op["responses"]["200"]["content"]) == {"application/pdf", "text/html"}
    assert {"403", "422"} <= set(op["responses"])
