"""The CLI as a new user meets it: exact messages, exit codes, every command documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from silkguard.auth import service as auth_service
from silkguard.cli.main import app
from silkguard.cli.store import unit_of_work
from silkguard.core.db import make_engine
from silkguard.incidents.models import Incident
from silkguard.migrations import head_revision
from tests.factories import GtdEvent, gtd_columns, write_gtd_csv

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _commands() -> list[str]:
    found: list[str] = []
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None
        for cmd in sub.registered_commands:
            assert cmd.name is not None
            found.append(f"silkguard {group.name} {cmd.name}")
    for cmd in app.registered_commands:
        assert cmd.name is not None
        found.append(f"silkguard {cmd.name}")
    return found


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [c for c in _commands() if f"`{c}" not in readme]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_db_upgrade_then_current(cli_env: str) -> None:
    head = head_revision(make_engine(cli_env))
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().endswith(f"schema empty -> {head}")
    current = runner.invoke(app, ["db", "current"])
    assert current.stdout.strip() == f"current: {head}; newest: {head}"


def test_demo_seeds_and_is_idempotent(cli_env: str) -> None:
    first = runner.invoke(app, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "demo organisations added: " in first.stdout
    assert "526 new" in first.stdout
    assert "sites added: 15;" in first.stdout
    assert "Threat levels of the demo sites" in first.stdout
    assert "Gwadar port" in first.stdout
    second = runner.invoke(app, ["demo", "--no-serve", "--no-forecast"])
    assert second.exit_code == 0, second.output
    again = (
        "demo organisations added: 0; users added: 0; sites added: 0; people added: 0; "
        "demo incidents: 0 new"
    )
    assert again in second.stdout
    assert "526 unchanged" in second.stdout


def test_incidents_show_explains(cli_env: str) -> None:
    runner.invoke(app, ["demo", "--no-serve", "--no-forecast"])
    shown = runner.invoke(app, ["incidents", "show", "CPEC-2024-03-26-besham"])
    assert shown.exit_code == 0, shown.output
    assert "suicide_vbied against convoy" in shown.stdout
    assert "Khyber Pakhtunkhwa" in shown.stdout
    assert "first report (native:silkguard-demo#CPEC-2024-03-26-besham)" in shown.stdout
    listed = runner.invoke(app, ["incidents", "list", "--limit", "3"])
    assert listed.exit_code == 0


def test_incidents_show_unknown(cli_env: str) -> None:
    result = runner.invoke(app, ["incidents", "show", "nothing-like-this"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: no incident matches 'nothing-like-this'")


def test_geocode_forward_and_reverse() -> None:
    found = runner.invoke(app, ["geocode", "D.I. Khan"])
    assert found.exit_code == 0, found.output
    assert "Dera Ismail Khan" in found.stdout
    assert "Khyber Pakhtunkhwa" in found.stdout
    back = runner.invoke(app, ["geocode", "--reverse", "24.86", "67.01"])
    assert back.exit_code == 0, back.output
    assert "province Sindh" in back.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["geocode", "--reverse", "91", "67"], "latitude"),
        (["geocode", "Xqzzyqx Wvvv"], "no place in Pakistan matches 'Xqzzyqx Wvvv'"),
        (["geocode"], "give a NAME to look up, or --reverse LAT LON"),
    ],
)
def test_geocode_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in {2, 3}
    assert message in result.stderr


def test_map_is_refused_for_gtd(cli_env: str, tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("eventid\n1\n")
    result = runner.invoke(app, ["import", "gtd", str(f), "--map", str(tmp_path / "m.toml")])
    assert result.exit_code == 2
    assert "--map is for `import csv` and `import jsonl`" in result.stderr


def test_gtd_import_twice_from_the_cli(cli_env: str, shared_data: Path, tmp_path: Path) -> None:
    events = [
        GtdEvent("201001010001", 2010, 1, 1, "Quetta", "Balochistan", 30.18, 67.0),
        GtdEvent("201002000001", 2010, 2, 0, "Besham", "Khyber Pakhtunkhwa", None, None),
    ]
    path = write_gtd_csv(tmp_path / "gtd.csv", events, gtd_columns(shared_data))
    first = runner.invoke(app, ["import", "gtd", str(path)])
    assert first.exit_code == 0, first.output
    assert f"imported {path} as source gtd:GTD: 2 new, 0 merged" in first.stdout
    assert "positions of new and merged rows by precision: place 2" in first.stdout
    second = runner.invoke(app, ["import", "gtd", str(path)])
    assert ": 0 new, 0 merged into existing incidents, 0 updated, 2 unchanged" in second.stdout


def test_import_owned_by_an_organisation(cli_env: str, tmp_path: Path) -> None:
    table = tmp_path / "own.csv"
    table.write_text(
        "id,date,place,province,attack_type,target_type\nO1,2024-01-05,Gwadar,Balochistan,ied,convoy\n"
    )
    unknown = runner.invoke(app, ["import", "csv", str(table), "--org", "nobody"])
    assert unknown.exit_code == 3
    assert "nobody" in unknown.stderr
    assert runner.invoke(app, ["orgs", "add", "port-sec", "Port security"]).exit_code == 0
    ok = runner.invoke(app, ["import", "csv", str(table), "--org", "port-sec", "--tlp", "AMBER"])
    assert ok.exit_code == 0, ok.output
    with unit_of_work() as session:
        inc = session.execute(select(Incident)).scalar_one()
        org = auth_service.get_org_by_slug(session, slug="port-sec")
        assert (inc.org_id, inc.tlp) == (org.id, "AMBER")
