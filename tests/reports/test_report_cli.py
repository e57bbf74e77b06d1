"""`silkguard report sitrep`: a file written and audited; bad input is an exact error with a
non-zero exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from silkguard.auth.models import AuditEntry
from silkguard.cli.main import app
from silkguard.cli.store import settings, unit_of_work

runner = CliRunner()


def test_writes_the_report_and_audits_it(cli_env: str, tmp_path: Path) -> None:
    out = tmp_path / "march.html"
    done = runner.invoke(
        app,
        [
            *("report", "sitrep", "--from", "2024-03-01", "--to", "2024-03-31"),
            *("--format", "html", "--output", str(out)),
        ],
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(f"{out}: situation report 2024-03-01 to 2024-03-31, 0 incidents")
    page = out.read_text(encoding="utf-8")
    assert "None in this period." in page
    assert "There is no risk forecast yet" in page
    with unit_of_work(settings()) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "report.sitrep")
        ).one()
    assert entry.actor.startswith("cli:")
    assert entry.detail["format"] == "html"


def test_the_default_file_name_is_the_period(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["report", "sitrep", "--from", "2024-03-01", "--to", "2024-03-02"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "sitrep-2024-03-01-2024-03-02.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--from", "2024-04-01", "--to", "2024-03-01"],
            "Error: from 2024-04-01 is after to 2024-03-01; the period runs from the earlier "
            "date to the later one, so swap them",
        ),
        (
            ["--from", "1 March", "--to", "2024-03-01"],
            "Error: from '1 March' is not a date; write it as YYYY-MM-DD, e.g. 2024-03-26",
        ),
        (
            ["--from", "2024-01-01", "--to", "2024-03-01", "--format", "docx"],
            "Error: format 'docx' is not a report format; use one of html, pdf",
        ),
        (
            ["--from", "2020-01-01", "--to", "2024-03-01"],
            "Error: the period 2020-01-01 to 2024-03-01 is 1522 days long; a report covers at "
            "most 366 days, so move `from` or `to` closer together (or make one report per year)",
        ),
        (
            ["--from", "2024-01-01", "--to", "2024-03-01", "--org", "nobody"],
            "Error: no organisation has the slug 'nobody'; list them with `silkguard orgs list`",
        ),
    ],
)
def test_bad_input_is_a_clear_error(cli_env: str, args: list[str], message: str) -> None:
    done = runner.invoke(app, ["report", "sitrep", *args])
    assert done.exit_code in (2, 3)
    assert done.stderr.strip() == message
