"""Situation reports on the demo store: the PDF's text, counts checked against the database
directly, every page rendered and not blank; the HTML self-contained and escaped; an empty
period; bad periods and formats."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from silkguard.alerts.models import Alert, AlertRecipient
from silkguard.core.access import Principal
from silkguard.core.errors import InvalidInput
from silkguard.incidents.models import Incident
from silkguard.journeys.models import Movement
from silkguard.reports import (
    build_sitrep,
    make_period,
    parse_date,
    parse_format,
    render_html,
    render_pdf,
)
from silkguard.reports.layout import NONE_TEXT, SECTIONS
from silkguard.reports.sitrep import Sitrep
from silkguard.risk import service as risk_service
from tests.reports.conftest import PERIOD, SCRIPT_PLACE, SCRIPT_SUMMARY, DemoStore, keep_artifacts

KARACHI = ZoneInfo("Asia/Karachi")
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, dtime(), KARACHI)
    return start, datetime.combine(last + timedelta(days=1), dtime(), KARACHI)


def _expected_counts(session: Session, first: date, last: date) -> dict[str, int]:
    """The summary's numbers, counted straight from the tables (not through the report)."""
    start, end = _bounds(first, last)
    incidents = session.execute(
        select(
            func.count(), func.coalesce(func.sum(Incident.killed), 0), func.sum(Incident.injured)
        ).where(
            Incident.status == "confirmed",
            Incident.occurred_at >= start,
            Incident.occurred_at < end,
        )
    ).one()
    movements = session.scalar(
        select(func.count()).where(
            Movement.departure_start >= start, Movement.departure_start < end
        )
    )
    alerts = session.scalar(
        select(func.count()).where(Alert.created_at >= start, Alert.created_at < end)
    )
    unaccounted = session.scalar(
        select(func.count())
        .select_from(AlertRecipient)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .where(
            AlertRecipient.answer == "unaccounted",
            Alert.created_at >= start,
            Alert.created_at < end,
        )
    )
    return {
        "Incidents": int(incidents[0]),
        "Killed": int(incidents[1] or 0),
        "Wounded": int(incidents[2] or 0),
        "Movements": int(movements or 0),
        "Alerts": int(alerts or 0),
        "People unaccounted": int(unaccounted or 0),
    }


def _sitrep(
    store: DemoStore, first: date, last: date, principal: Principal | None = None
) -> Sitrep:
    with store.factory() as session:
        return build_sitrep(
            session, principal=principal, period=make_period(first, last), now=NOW, reader="test"
        )


def _pdf_text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def _render_pages(pdf: bytes, folder: Path) -> list[Path]:
    """Every page as a PNG; each must have a size and some ink on it."""
    doc = pdfium.PdfDocument(pdf)
    paths = []
    try:
        for n in range(len(doc)):
            image = doc[n].render(scale=1).to_pil().convert("L")
            assert image.width > 0
            assert image.height > 0
            darkest, _lightest = image.getextrema()
            assert darkest < 200, f"page {n + 1} is blank"
            path = folder / f"sitrep-page-{n + 1}.png"
            image.save(path)
            paths.append(path)
    finally:
        doc.close()
    return paths


def test_the_pdf_has_every_section_and_the_counts_of_the_database(
    demo_store: DemoStore, tmp_path: Path
) -> None:
    first, last = PERIOD
    report = _sitrep(demo_store, first, last)
    started = time.perf_counter()
    pdf = render_pdf(report)
    elapsed = time.perf_counter() - started
    assert pdf.startswith(b"%PDF-")
    text, pages = _pdf_text(pdf)
    flat = " ".join(text.split())
    for heading in ["Situation report", *SECTIONS]:
        assert heading in flat, heading
    assert flat.index("Summary") < flat.index("Incidents on the map") < flat.index("Incident list")
    with demo_store.factory() as session:
        expected = _expected_counts(session, first, last)
    assert expected["Incidents"] >= 5
    assert expected["Movements"] == 1
    assert expected["Alerts"] == 1
    for label, value in expected.items():
        assert re.search(rf"{label}\s*{value}\b", text), (label, value)
    assert "PKT" in flat
    assert "Gwadar" in flat  # the period's demo incidents and the movement start there
    assert "Gwadar → Turbat" in flat
    assert "Blast near Gwadar port" in flat
    assert "None in this period." not in flat  # every section has something
    assert pages >= 2
    pdf_path = tmp_path / "sitrep-demo.pdf"
    pdf_path.write_bytes(pdf)
    pngs = _render_pages(pdf, tmp_path)
    assert len(pngs) == pages
    keep_artifacts(pdf_path, *pngs)
    assert elapsed < 20, f"the PDF took {elapsed:.1f} s"


def test_the_summary_matches_the_database_for_an_organisation(demo_store: DemoStore) -> None:
    """Seen as the demo organisation: its own movement and alert, every CLEAR/GREEN incident."""
    first, last = PERIOD
    admin = Principal(org_id=demo_store.org_id, role="admin")
    report = _sitrep(demo_store, first, last, admin)
    with demo_store.factory() as session:
        expected = _expected_counts(session, first, last)
    s = report.summary
    assert (s.incidents, s.killed, s.wounded) == (
        expected["Incidents"],
        expected["Killed"],
        expected["Wounded"],
    )
    assert (s.movements, s.alerts, s.unaccounted) == (1, 1, expected["People unaccounted"])
    stranger = Principal(org_id=uuid.UUID(int=1), role="admin")
    outsider = _sitrep(demo_store, first, last, stranger)
    assert outsider.summary.incidents == s.incidents  # the incidents are CLEAR/GREEN
    assert (outsider.summary.movements, outsider.summary.alerts) == (0, 0)
    assert outsider.forecast is not None
    assert {r.scope for r in outsider.forecast.top} == {"district"}
    with demo_store.factory() as session:  # the ranking draws on the levels each may see
        run = risk_service.latest_run(session, principal=None)
        own = risk_service.stored_levels(session, run=run, principal=admin)
        theirs = risk_service.stored_levels(session, run=run, principal=stranger)
    assert {r.subject_kind for r in own} == {"district", "site"}
    assert {r.subject_kind for r in theirs} == {"district"}  # the demo sites are AMBER


def test_the_html_is_self_contained_and_escaped(demo_store: DemoStore, tmp_path: Path) -> None:
    first, last = PERIOD
    page = render_html(_sitrep(demo_store, first, last))
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page, heading
    assert re.findall(r'(?:src|href)\s*=\s*["\']?\s*https?:', page, flags=re.IGNORECASE) == []
    assert "<link" not in page
    assert "@import" not in page
    assert page.count("data:image/png;base64,") == 5
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "road &amp; bridge" in page
    assert "Hub &lt;b&gt;Chowki&lt;/b&gt;" in page
    assert SCRIPT_SUMMARY not in page
    assert SCRIPT_PLACE not in page
    path = tmp_path / "sitrep-demo.html"
    path.write_text(page, encoding="utf-8")
    keep_artifacts(path)


def test_an_empty_period_says_so_and_is_still_a_pdf(demo_store: DemoStore, tmp_path: Path) -> None:
    report = _sitrep(demo_store, date(2001, 2, 1), date(2001, 2, 28))
    assert report.summary.incidents == 0
    pdf = render_pdf(report)
    text, pages = _pdf_text(pdf)
    flat = " ".join(text.split())
    for heading in SECTIONS:
        assert heading in flat, heading
    # the five pictures, level changes, movements, alerts and the incident list
    assert flat.count(NONE_TEXT) == 9
    assert pages >= 1
    _render_pages(pdf, tmp_path)
    page = render_html(report)
    assert page.count(NONE_TEXT) == 9
    assert "data:image" not in page


def test_no_forecast_is_said_plainly(demo_store: DemoStore) -> None:
    report = _sitrep(demo_store, date(2001, 2, 1), date(2001, 2, 28))
    bare = Sitrep(period=report.period, generated_at=NOW, reader="test")
    text, _pages = _pdf_text(render_pdf(bare))
    assert "There is no risk forecast yet" in " ".join(text.split())


def test_unicode_text_prints(demo_store: DemoStore) -> None:
    """DejaVu Sans is embedded: text beyond latin-1 neither fails nor vanishes."""
    report = _sitrep(demo_store, *PERIOD)
    renamed = Sitrep(
        period=report.period,
        generated_at=NOW,
        reader="Ωmega — ہنزہ",
        incidents=report.incidents,
    )
    text, _pages = _pdf_text(render_pdf(renamed))
    assert "Ωmega —" in text


@pytest.mark.parametrize(
    ("first", "last", "field", "words"),
    [
        (date(2024, 5, 1), date(2024, 4, 1), "from", "is after to"),
        (date(2023, 1, 1), date(2024, 1, 2), "to", "at most 366 days"),
        (date(1900, 1, 1), date(1900, 1, 2), "from", "between 1970-01-01"),
    ],
)
def test_bad_periods_name_the_field(first: date, last: date, field: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words) as caught:
        make_period(first, last)
    assert caught.value.field == field


def test_a_leap_year_fits_and_bad_text_is_refused() -> None:
    assert make_period(date(2024, 1, 1), date(2024, 12, 31)).days == 366
    with pytest.raises(InvalidInput, match="YYYY-MM-DD") as caught:
        parse_date("31/12/2024", field_name="to")
    assert caught.value.field == "to"
    with pytest.raises(InvalidInput, match="html, pdf") as bad_format:
        parse_format("docx")
    assert bad_format.value.field == "format"
