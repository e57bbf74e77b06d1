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

import asyncio
from collections.abc import Callable

from anyio import to_thread
from sqlalchemy import BigInteger, Connection, Engine, String, inspect, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from silkguard.core.db import Base

__all__ = [
    "COUNTED",
    "INCIDENTS",
    "PRINCIPALS",
    "UNCOUNTED_COLUMNS",
    "ChangeCounter",
    "SharedCounterReads",
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


class SharedCounterReads:
    """Concurrent requests of one event loop share readings of the counters.

    A request gets a reading that *began after it asked*: whatever was committed before the
    request arrived is in it, exactly as if the request had read the counters itself (a
    revoked key is refused by the very next request). A reading runs on a worker thread; the
    requests that ask while it runs wait for the next one, which begins as soon as it ends
    and answers all of them. Under load one statement (and one thread hand-off) then serves
    a batch of requests instead of each paying for its own; alone, a request reads as
    before.

    ``read`` is called on a worker thread (current_counters of an autocommit engine). An
    error of a reading is raised in every request that waited for it."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[asyncio.Future[dict[str, int]]] = []
        self._reading = False
        self._task: asyncio.Task[None] | None = None  # kept, or it could be collected
        self.readings = 0  # statements sent (tests, benchmarks)

    async def get(self) -> dict[str, int]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._reading:
                # another event loop is being served (tests run apps on several): read alone
                self.readings += 1
                return await to_thread.run_sync(self._read)
            self._loop = loop
        waiter: asyncio.Future[dict[str, int]] = loop.create_future()
        self._waiting.append(waiter)
        if not self._reading:
            self._reading = True
            self._task = loop.create_task(self._serve())
        return await waiter

    async def _serve(self) -> None:
        batch: list[asyncio.Future[dict[str, int]]] = []
        try:
            while self._waiting:
                # every request of the batch asked before this reading begins
                batch, self._waiting = self._waiting, []
                self.readings += 1
                try:
                    counters = await to_thread.run_sync(self._read)
                except Exception as exc:  # noqa: BLE001 - handed to the requests that waited
                    for waiter in batch:
                        if not waiter.done():
                            waiter.set_exception(exc)
                else:
                    for waiter in batch:
                        if not waiter.done():
                            waiter.set_result(counters)
                batch = []
        finally:
            # reached without an await after the last answers: a request resumed by them
            # (or arriving later) starts a new reading, even if this loop is closing
            for waiter in (*batch, *self._waiting):
                waiter.cancel()
            self._waiting = []
            self._reading = False
            self._task = None


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
