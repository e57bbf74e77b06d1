"""`silkguard risk ...` as a new user runs it after `silkguard demo`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from silkguard.cli.main import app

runner = CliRunner()


def test_forecast_then_explain_the_demo_sites(demo: str) -> None:
    made = runner.invoke(app, ["risk", "forecast", "--model", "naive", "--as-of", "2024-07-01"])
    assert made.exit_code == 0, made.output
    assert "Highest district levels" in made.stdout
    assert "Sites" in made.stdout
    shown = runner.invoke(app, ["risk", "explain"])
    assert shown.exit_code == 0, shown.output
    for name in ("Gwadar port", "Dasu hydropower project", "Karachi"):
        assert name in shown.stdout
    assert "forecast rate" in shown.stdout
    assert "within 20 km in the last 30 days" in shown.stdout
    one = runner.invoke(
        app,
        ["risk", "explain", "--site", "dasu-hpp", "--district", "Gwadar", "--point", "25.12,62.33"],
    )
    assert one.exit_code == 0, one.output
    assert "Dasu hydropower project" in one.stdout
    assert "Gwadar district (Balochistan)" in one.stdout
    assert "25.1200,62.3300" in one.stdout
    assert "Karachi" not in one.stdout


def test_fit_prints_parameters(demo: str) -> None:
    fitted = runner.invoke(app, ["risk", "fit", "--model", "naive", "--until", "2015-01-01"])
    assert fitted.exit_code == 0, fitted.output
    assert "naive fitted on" in fitted.stdout


def test_refresh_once_is_idempotent_within_the_interval(demo: str) -> None:
    first = runner.invoke(app, ["risk", "refresh", "--once", "--model", "naive", "--every", "1h"])
    assert first.exit_code == 0, first.output
    assert "community: forecast " in first.stdout
    second = runner.invoke(app, ["risk", "refresh", "--once", "--model", "naive", "--every", "1h"])
    assert second.exit_code == 0, second.output
    assert "community: forecast is fresh, nothing to do" in second.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["risk", "fit", "--param", "window"], "--param 'window' must be NAME=VALUE"),
        (["risk", "fit", "--model", "oracle"], "risk model 'oracle' is not known"),
        (["risk", "forecast", "--as-of", "yesterday"], "--as-of 'yesterday' is not a date"),
        (["risk", "refresh", "--once", "--every", "soon"], "--every 'soon' is not a duration"),
        (
            ["risk", "fit", "--model", "naive", "--param", "colour=red"],
            "has no parameter(s) ['colour']",
        ),
    ],
)
def test_errors_say_what_to_do(demo: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_explain_before_any_forecast(demo: str) -> None:
    result = runner.invoke(app, ["risk", "explain"])
    assert result.exit_code == 3, result.output  # not found
    assert "no risk forecast yet; run `silkguard risk forecast`" in result.stderr


def test_point_must_be_lat_lon(demo: str) -> None:
    runner.invoke(app, ["risk", "forecast", "--model", "naive", "--as-of", "2024-07-01"])
    result = runner.invoke(app, ["risk", "explain", "--point", "Gwadar"])
    assert result.exit_code == 2
    assert "--point 'Gwadar' must be LAT,LON" in result.stderr


def test_backtest_a_file_writes_table_json_and_plot(
    demo: str, shared_data: Path, tmp_path: Path
) -> None:
    out, png = tmp_path / "bt.json", tmp_path / "bt.png"
    result = runner.invoke(
        app,
        [
            "risk",
            "backtest",
            str(shared_data / "pk_incidents_2007_2015.csv"),
            "--map",
            "pk_incidents_2007_2015",
            "--held-out",
            "2014",
            "--period",
            "month",
            "--model",
            "naive",
            "--model",
            "kde",
            "--resolution",
            "5",
            "--json",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pk_incidents_2007_2015.csv: 495 rows, 463 usable events" in result.stdout
    assert "Backtest on" in result.stdout
    assert "hit@5%" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["models"] == ["naive", "kde"]
    assert data["windows"] == {"month": 12}
    for model in ("naive", "kde"):
        month = data["metrics"][model]["month"]
        assert 0.0 <= month["hit_rate_5pct"] <= 1.0
        assert month["log_score_per_window"] < 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "stored as backtest " in result.stdout


def test_backtest_the_store(demo: str) -> None:
    result = runner.invoke(
        app,
        [
            "risk",
            "backtest",
            "--held-out",
            "2013",
            "--period",
            "month",
            "--model",
            "naive",
            "--resolution",
            "4",
            "--no-store",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "store: " in result.stdout
    assert "naive" in result.stdout
    assert "stored as backtest" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--held-out", "recent"], "--held-out 'recent' must be years like 2012-2015"),
        (["--period", "fortnight"], "--period 'fortnight' is not known; use week or month"),
        (["--model", "oracle"], "risk model 'oracle' is not known"),
        (["--held-out", "1990"], "has 0 usable events before 1990 and 0 in 1990-1990"),
    ],
)
def test_backtest_errors(demo: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["risk", "backtest", "--model", "naive", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
