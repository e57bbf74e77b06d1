"""Change counters: one number per family of tables, raised by database triggers in the
transaction of every write to them, so a process can tell with one small read whether
anything it keeps in memory from those tables is still current.

- ``incidents``: incidents, their sharing-group shares and their RED recipients (the map
  index of incidents.mapindex).
- ``principals``: users, API keys, sharing groups and their members (the callers the API
  remembers between requests); not the bookkeeping of UNCOUNTED_COLUMNS (a key's last use,
  a user's sign-ins).

The triggers live in the database (migration 0015), not in the application, so no write
can forget them: the API, the importers, the jobs and a hand-typed SQL statement all count.
On SQLite a row trigger adds one to the counter (writers take turns there). On PostgreSQL a
deferred constraint trigger adds one at commit, once per transaction and family, so a long
transaction holds the counter's row lock only while it commits and concurrent writers do
not queue behind each other for it. A counter is raised in the same transaction as the
change: a reader that sees the old value sees the old data, and equal values read before
and after a read of the tables mean no change committed in between."""

from __future__ import annotations

from sqlalchemy import BigInteger, Connection, Engine, String, inspect, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from silkguard.core.db import Base

__all__ = [
    "COUNTED",
    "INCIDENTS",
    "PRINCIPALS",
    "UNCOUNTED_COLUMNS",
    "ChangeCounter",
    "create_triggers",
    "current_counters",
    "drop_triggers",
    "read_counters",
]

INCIDENTS = "incidents"
PRINCIPALS = "principals"
# counter -> the tables whose writes raise it
# Changing this needs a new migration that re-creates the triggers (0015 made these).
COUNTED: dict[str, tuple[str, ...]] = {
    INCIDENTS: ("incidents", "incident_shares", "incident_recipients"),
    PRINCIPALS: ("users", "api_keys", "sharing_groups", "sharing_group_members"),
}
# Bookkeeping columns that nothing remembered depends on: their writes are not counted, or a
# key's last use (written once a minute per key) and every sign-in would make each process
# forget every caller. Every other column counts, including columns added later (the triggers
# are made from the table's columns when the migration runs; a migration that adds a column
# to a counted table re-makes them, see tests/core/test_changes.py).
UNCOUNTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "api_keys": ("last_used_at",),
    "users": ("last_login_at", "failed_logins", "locked_until"),
}
_OPERATIONS = ("insert", "update", "delete")
_PG_FUNCTION = "silkguard_count_change"


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


_READ = text("SELECT name, value FROM change_counters")


def read_counters(session: Session | Connection) -> dict[str, int]:
    """Every counter's current value (in the caller's transaction)."""
    return {str(name): int(value) for name, value in session.execute(_READ)}


def current_counters(engine: Engine) -> dict[str, int]:
    """Every counter's value now, in one statement outside any transaction (``engine`` from
    core.db.autocommit_engine): what a request that may need nothing else reads first."""
    with engine.connect() as conn:
        return read_counters(conn)


def _trigger(table: str, operation: str) -> str:
    return f"count_{table}_{operation}"


def _counted_columns(conn: Connection, table: str) -> list[str] | None:
    """The columns whose update counts, or None for all of them."""
    uncounted = UNCOUNTED_COLUMNS.get(table)
    if uncounted is None:
        return None
    return [c["name"] for c in inspect(conn).get_columns(table) if c["name"] not in uncounted]


def _event(operation: str, columns: list[str] | None) -> str:
    if operation == "update" and columns is not None:
        return f"UPDATE OF {', '.join(columns)}"
    return operation.upper()


def _sqlite_ddl(conn: Connection) -> list[str]:
    # the names are this module's constants and the tables' own columns, never input
    return [
        f"CREATE TRIGGER {_trigger(table, op)} "  # noqa: S608
        f"AFTER {_event(op, _counted_columns(conn, table))} ON {table} BEGIN "
        f"UPDATE change_counters SET value = value + 1 WHERE name = '{name}'; END"
        for name, tables in COUNTED.items()
        for table in tables
        for op in _OPERATIONS
    ]


# Once per transaction and counter: a transaction-local setting records that this
# transaction has already counted (set_config(..., true) is undone at its end).
_PG_FUNCTION_DDL = """
CREATE FUNCTION silkguard_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('silkguard.counted_' || TG_ARGV[0], true), '') <> 'yes' THEN
    UPDATE change_counters SET value = value + 1 WHERE name = TG_ARGV[0];
    PERFORM set_config('silkguard.counted_' || TG_ARGV[0], 'yes', true);
  END IF;
  RETURN NULL;
END
$$
"""


def _postgresql_ddl(conn: Connection) -> list[str]:
    out = [_PG_FUNCTION_DDL]
    for name, tables in COUNTED.items():
        for table in tables:
            events = " OR ".join(_event(op, _counted_columns(conn, table)) for op in _OPERATIONS)
            out.append(
                f"CREATE CONSTRAINT TRIGGER {_trigger(table, 'write')} "
                f"AFTER {events} ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION {_PG_FUNCTION}('{name}')"
            )
            # TRUNCATE has no row triggers (nor deferred ones): counted at once
            out.append(
                f"CREATE TRIGGER {_trigger(table, 'truncate')} AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}('{name}')"
            )
    return out


def create_triggers(conn: Connection) -> None:
    """The counters' rows and the triggers that raise them (migration 0015)."""
    for name in COUNTED:
        conn.execute(
            text("INSERT INTO change_counters (name, value) VALUES (:name, 0)"), {"name": name}
        )
    ddl = _postgresql_ddl(conn) if conn.dialect.name == "postgresql" else _sqlite_ddl(conn)
    for statement in ddl:
        conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    postgresql = conn.dialect.name == "postgresql"
    for tables in COUNTED.values():
        for table in tables:
            if postgresql:
                for kind in ("write", "truncate"):
                    name = _trigger(table, kind)
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                for op in _OPERATIONS:
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_trigger(table, op)}")
    if postgresql:
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")
