"""`silkguard intake evaluate|extract` as an analyst runs them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from silkguard.cli.main import app

runner = CliRunner()


def test_evaluate_prints_a_score_per_field(shared_data: Path) -> None:
    result = runner.invoke(app, ["intake", "evaluate", str(shared_data / "reports_dev.jsonl")])
    assert result.exit_code == 0, result.output
    for field in ("is_incident", "date", "place", "attack_type", "killed", "injured"):
        assert field in result.stdout


def test_extract_reads_standard_input() -> None:
    text = (
        "Two Chinese engineers and their driver were injured when gunmen fired on their car "
        "in Karachi yesterday."
    )
    result = runner.invoke(app, ["intake", "extract", "-", "--date", "2024-04-20"], input=text)
    assert result.exit_code == 0, result.output
    assert '"date": "2024-04-19"' in result.stdout
    assert '"injured": 3' in result.stdout


def test_evaluate_names_a_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = '{"id": "x", "text": "t", "report_date": "2024-01-01", "gold": {"is_incident": false}}'
    bad.write_text(good + "\nnot json\n")
    result = runner.invoke(app, ["intake", "evaluate", str(bad)])
    assert result.exit_code != 0
    assert "line 2" in result.output
