"""Bad files, tried as a new user would: each gives a clear error naming the line and column,
and the store is unchanged afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from silkguard.cli.main import app
from silkguard.cli.store import unit_of_work
from silkguard.incidents.models import Incident, SourceRecord
from tests.factories import GtdEvent, gtd_columns, write_gtd_csv

HEADER = "id,date,place,province,latitude,longitude,attack_type,target_type,killed,injured\n"
GOOD = "A1,2015-03-01,Quetta,Balochistan,30.18,67.0,ied,police,2,3\n"
runner = CliRunner()


def _count() -> tuple[int, int]:
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(Incident)) or 0,
            session.scalar(select(func.count()).select_from(SourceRecord)) or 0,
        )


def _seed(tmp_path: Path) -> tuple[int, int]:
    seed = tmp_path / "seed.csv"
    seed.write_text(HEADER + "S1,2014-01-01,Karachi,Sindh,24.86,67.01,shooting,police,1,0\n")
    result = runner.invoke(app, ["import", "csv", str(seed)])
    assert result.exit_code == 0, result.output
    return _count()


BAD_FILES = {
    "impossible_date": (
        HEADER + GOOD + "A2,2015-02-30,Quetta,Balochistan,30.18,67.0,ied,police,1,1\n",
        ["bad.csv:3", "column 'date'", "'2015-02-30'", "impossible date"],
    ),
    "latitude_91": (
        HEADER + GOOD + "A2,2015-03-02,Quetta,Balochistan,91,67.0,ied,police,1,1\n",
        ["bad.csv:3", "column 'latitude'", "'91'", "outside -90..90"],
    ),
    "nan": (
        HEADER + GOOD + "A2,2015-03-02,Quetta,Balochistan,30.1,67.0,ied,police,NaN,1\n",
        ["bad.csv:3", "column 'killed'", "'NaN'", "NaN"],
    ),
    "duplicate_ids": (
        HEADER + GOOD + GOOD.replace("2015-03-01", "2015-03-05"),
        ["bad.csv:3", "column 'id'", "'A1'", "duplicate id: line 2"],
    ),
    "truncated_last_line": (
        HEADER + GOOD + "A2,2015-03-02,Quet",
        ["bad.csv:3", "the row has 3 cells but the header has 10 columns"],
    ),
    "unclosed_quote": (
        HEADER + GOOD + 'A2,2015-03-02,"Quetta,Balochistan,30.18,67.0,ied',
        ["bad.csv:", "CSV structure is broken", "cut off"],
    ),
    "unknown_vocabulary": (
        HEADER + GOOD + "A2,2015-03-02,Quetta,Balochistan,30.18,67.0,drone,police,1,1\n",
        ["bad.csv:3", "column 'attack_type'", "'drone'", "use one of"],
    ),
    "bad_province": (
        HEADER + GOOD + "A2,2015-03-02,Quetta,Atlantis,30.18,67.0,ied,police,1,1\n",
        ["bad.csv:3", "column 'province'", "'Atlantis'", "not a province"],
    ),
    "empty": ("", ["bad.csv: the file is empty", "header row"]),
    "missing_columns": (
        "id,place\nA1,Quetta\n",
        ["no column gives the required field(s) date, attack_type, target_type"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_rejected_whole(case: str, cli_env: str, tmp_path: Path) -> None:
    before = _seed(tmp_path)
    content, expected = BAD_FILES[case]
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["import", "csv", str(bad)])
    assert result.exit_code == 2, result.output
    for fragment in expected:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert result.stderr.startswith("Error: ")
    assert _count() == before


def test_non_utf8_file(cli_env: str, tmp_path: Path) -> None:
    before = _seed(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        (HEADER + GOOD + "A2,2015-03-02,Qu\xe9tta,Balochistan,30.18,67.0,ied,police,1,1\n").encode(
            "latin-1"
        )
    )
    result = runner.invoke(app, ["import", "csv", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv:3: the file is not valid UTF-8 (byte 0xe9)" in result.stderr
    assert "--encoding latin-1" in result.stderr
    assert _count() == before
    ok = runner.invoke(app, ["import", "csv", str(bad), "--encoding", "latin-1"])
    assert ok.exit_code == 0, ok.output
    assert "2 new" in ok.stdout


def test_gtd_missing_columns_are_named(cli_env: str, shared_data: Path, tmp_path: Path) -> None:
    columns = [c for c in gtd_columns(shared_data) if c not in {"iday", "nkill"}]
    path = write_gtd_csv(
        tmp_path / "gtd.csv",
        [GtdEvent("1", 2010, 1, 1, "Quetta", "Balochistan", 30.1, 67.0)],
        columns,
    )
    result = runner.invoke(app, ["import", "gtd", str(path)])
    assert result.exit_code == 2
    assert "gtd.csv:1: not a GTD file: the header lacks iday, nkill" in result.stderr


def test_skip_bad_imports_good_rows_and_writes_rejects(cli_env: str, tmp_path: Path) -> None:
    bad = tmp_path / "mixed.csv"
    bad.write_text(
        HEADER
        + GOOD
        + "A2,2015-02-30,Quetta,Balochistan,30.18,67.0,ied,police,1,1\n"
        + "A3,2015-03-03,Peshawar,KPK,,,shooting,police,0,2\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(
        app, ["import", "csv", str(bad), "--skip-bad", "--rejects", str(rejects)]
    )
    assert result.exit_code == 0, result.output
    assert "2 new" in result.stdout
    assert "1 rejected" in result.stdout
    lines = rejects.read_text().splitlines()
    assert lines[0] == "line,column,value,reason,fix"
    assert lines[1].startswith("3,date,2015-02-30,impossible date")
    assert _count() == (2, 2)
