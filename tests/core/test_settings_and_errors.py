from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, Table, insert, select
from sqlalchemy.engine import Engine

from silkguard.core.errors import InvalidInput, RowError, RowErrors
from silkguard.core.settings import DEFAULT_SECRET_KEY, Environment, Settings
from silkguard.core.tlp import TLP, most_restrictive, parse_tlp
from silkguard.core.types import UTCDateTime


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SILKGUARD_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("SILKGUARD_DEDUP_RADIUS_KM", "12.5")
    cfg = Settings()
    assert cfg.database_url == "sqlite:///x.db"
    assert cfg.dedup_radius_km == 12.5


def test_default_database_is_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SILKGUARD_DATABASE_URL", raising=False)
    assert Settings().database_url.startswith("sqlite:///")


def test_production_refuses_default_secret() -> None:
    with pytest.raises(InvalidInput, match="SILKGUARD_SECRET_KEY"):
        Settings(environment=Environment.PRODUCTION, secret_key=DEFAULT_SECRET_KEY)
    assert Settings(environment=Environment.PRODUCTION, secret_key="x" * 40).secret_key == "x" * 40


def test_row_errors_message_lists_rows_and_fix() -> None:
    err = RowErrors("f.csv", [RowError(3, "latitude", "91", "outside -90..90 degrees", "fix it")])
    assert err.msg.splitlines() == [
        "f.csv: 1 bad row(s); nothing was imported, the store is unchanged. Fix the rows, or "
        "import the good ones with --skip-bad.",
        "f.csv:3, column 'latitude', value '91': outside -90..90 degrees. Fix: fix it",
    ]
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("TLP:AMBER+STRICT", TLP.AMBER_STRICT), ("white", TLP.CLEAR), ("red", TLP.RED)],
)
def test_parse_tlp(text: str, expected: TLP) -> None:
    assert parse_tlp(text) is expected


def test_tlp_rejects_unknown_and_orders() -> None:
    with pytest.raises(InvalidInput, match=r"not TLP 2\.0"):
        parse_tlp("PURPLE")
    assert most_restrictive(TLP.GREEN, TLP.RED, TLP.AMBER) is TLP.RED


def test_utc_datetime_round_trip(engine: Engine) -> None:
    table = Table("t_utc_probe", MetaData(), Column("at", UTCDateTime))
    with engine.connect() as conn:
        trans = conn.begin()
        table.create(conn)
        karachi = timezone(timedelta(hours=5))
        conn.execute(insert(table), [{"at": datetime(2024, 3, 26, 13, 0, tzinfo=karachi)}])
        got = conn.execute(select(table.c.at)).scalar_one()
        trans.rollback()
    assert got == datetime(2024, 3, 26, 8, 0, tzinfo=UTC)
    assert got.tzinfo is not None


def test_naive_datetime_is_refused(engine: Engine) -> None:
    table = Table("t_naive_probe", MetaData(), Column("at", UTCDateTime))
    with engine.connect() as conn:
        trans = conn.begin()
        table.create(conn)
        with pytest.raises(Exception, match="naive datetime"):
            conn.execute(insert(table), [{"at": datetime(2024, 1, 1)}])  # noqa: DTZ001
        trans.rollback()
