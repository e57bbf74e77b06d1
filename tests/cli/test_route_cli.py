"""`silkguard route` and `silkguard network` as a new user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from silkguard.cli.main import app
from tests.network.test_osm import NODES, WAYS, write_pbf

runner = CliRunner()


def test_route_without_a_forecast_goes_by_time(cli_env: str, tmp_path: Path) -> None:
    out = tmp_path / "routes.geojson"
    result = runner.invoke(app, ["route", "Gilgit", "Islamabad", "--geojson", str(out)])
    assert result.exit_code == 0, result.output
    assert "no risk forecast yet: routes by travel time only" in result.stdout
    assert "Gilgit -> Islamabad" in result.stdout
    assert "recommended" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    line = data["features"][0]["geometry"]
    assert line["type"] == "LineString"
    assert line["coordinates"][0] == pytest.approx([74.31, 35.92], abs=0.1)  # Gilgit, lon/lat


def test_route_with_the_demo_forecast_names_the_riskiest_stretches(cli_env: str) -> None:
    seeded = runner.invoke(app, ["demo", "--no-serve", "--no-forecast"])
    assert seeded.exit_code == 0, seeded.output
    made = runner.invoke(app, ["risk", "forecast", "--model", "naive", "--as-of", "2024-07-01"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["route", "Karachi", "Gwadar", "--via", "Hub"])
    assert result.exit_code == 0, result.output
    assert "Karachi -> Hub -> Gwadar" in result.stdout
    assert "Riskiest stretches" in result.stdout
    assert "Level " in result.stdout
    assert "Schedule" not in result.stdout  # no departure, no schedule


def test_route_leaving_at_noon_reaches_gwadar_after_dark(cli_env: str, tmp_path: Path) -> None:
    seeded = runner.invoke(app, ["demo", "--no-serve", "--no-forecast"])
    assert seeded.exit_code == 0, seeded.output
    made = runner.invoke(app, ["risk", "forecast", "--model", "naive", "--as-of", "2024-07-01"])
    assert made.exit_code == 0, made.output
    out = tmp_path / "routes.geojson"
    args = ["route", "Karachi", "Gwadar", "--alternatives", "1", "--geojson", str(out)]
    noon = runner.invoke(app, [*args, "--depart", "2026-12-03T12:00"])
    assert noon.exit_code == 0, noon.output
    assert "Schedule" in noon.stdout
    assert "driven at night" in noon.stdout  # the riskiest stretch, at Gwadar after dark
    props = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert props["depart"] == "2026-12-03T12:00:00+05:00"
    assert props["night_exposure"] > props["exposure"]
    assert props["riskiest_at_night"][0] is True
    assert props["schedule"][-1]["at_night"] is True
    assert props["schedule"][-1]["leave"] == props["arrive"]
    dawn = runner.invoke(app, [*args, "--depart", "2026-12-03T06:00"])
    assert dawn.exit_code == 0, dawn.output
    assert "driven at night" not in dawn.stdout
    early = json.loads(out.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert early["night_s"] == 0
    assert early["night_exposure"] == pytest.approx(early["exposure"])
    assert not any(early["riskiest_at_night"])


def test_closed_area_that_cuts_the_only_road(cli_env: str, tmp_path: Path) -> None:
    besham = {
        "type": "Polygon",
        "coordinates": [[[72.7, 34.8], [73.1, 34.8], [73.1, 35.1], [72.7, 35.1], [72.7, 34.8]]],
    }
    area = tmp_path / "closed.geojson"
    area.write_text(json.dumps(besham), encoding="utf-8")
    result = runner.invoke(app, ["route", "Dasu", "Islamabad", "--avoid", str(area)])
    assert result.exit_code == 2, result.output
    assert "no road leads from node" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["route", "Atlantis", "Gwadar"], "place 'Atlantis' is not in the gazetteer"),
        (["route", "10.0,10.0", "Gwadar"], "km"),
        (["network", "import", "missing.osm.pbf", "out.npz"], "missing.osm.pbf"),
        (["network", "import", "x.osm.pbf", "o.npz", "--speed", "trunk"], "CLASS=KMH"),
    ],
)
def test_bad_input_says_what_to_fix(cli_env: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_network_import_then_info(tmp_path: Path) -> None:
    pbf = write_pbf(tmp_path / "town.osm.pbf", NODES, WAYS)
    out = tmp_path / "town.npz"
    made = runner.invoke(app, ["network", "import", str(pbf), str(out), "--speed", "tertiary=40"])
    assert made.exit_code == 0, made.output
    assert "13 nodes" in made.stdout
    shown = runner.invoke(app, ["network", "info", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "13 nodes" in shown.stdout
    assert "residential" in shown.stdout


def test_route_compares_departures_in_a_window(cli_env: str) -> None:
    result = runner.invoke(
        app,
        [
            "route",
            "Karachi",
            "Gwadar",
            "--depart",
            "2026-12-03T04:00",
            "--depart-until",
            "2026-12-03T12:00",
            "--every",
            "2h",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Departures, best first" in result.stdout
    # the routes table carries the arrival and night driving and the schedule table when
    # each road is driven (leaving at the first departure); the comparison comes last
    assert "Schedule" in result.stdout
    assert "night-weighted" in result.stdout
    table = result.stdout.split("Departures, best first")[1]
    rows = [line for line in table.splitlines() if "2026-12-03" in line]
    assert len(rows) == 5
    assert "06:00" in rows[0]  # the first departure that arrives before dark comes first
    assert "0.0 h" in rows[0]
    bad = runner.invoke(app, ["route", "Karachi", "Gwadar", "--depart", "tomorrow"])
    assert bad.exit_code != 0
    assert "--depart" in bad.output
