"""Engine and session factories. Only edges (CLI commands, requests, jobs) open a unit of work
with :func:`session_scope`; services receive the session and only ``flush()``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Engine, Table, create_engine, event, insert
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from silkguard.core.errors import InvalidInput

__all__ = [
    "Base",
    "analyze",
    "autocommit_engine",
    "for_writing",
    "in_read_only_transaction",
    "insert_rows",
    "is_sqlite",
    "make_engine",
    "make_session_factory",
    "read_only",
    "read_only_engine",
    "session_scope",
]

_READ_ONLY = "silkguard_read_only"
_WRITE = "silkguard_write"
_NO_TRANSACTION = "silkguard_no_transaction"


class Base(DeclarativeBase):
    """Declarative base of every silkguard table."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class _SQLiteHintCompiler(SQLiteCompiler):
    """Renders table hints (``INDEXED BY ...``) that SQLAlchemy's SQLite compiler drops."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:  # noqa: ARG002
        return text


def _configure_sqlite(engine: Engine) -> None:
    engine.dialect.statement_compiler = _SQLiteHintCompiler

    # pysqlite opens transactions lazily and never around DDL; take over so that SAVEPOINTs and
    # all-or-nothing imports behave as on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    # IMMEDIATE takes the write lock when the transaction starts: a transaction that reads and
    # then writes can otherwise fail at once with "database is locked" when another writer got
    # in between (busy_timeout cannot wait out that deadlock). SQLite then runs one writing
    # transaction at a time; PostgreSQL is the choice for concurrent writes. A transaction
    # opened by read_only() is DEFERRED instead: in WAL mode readers run concurrently with
    # each other and with the writer, each on its own snapshot.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(_NO_TRANSACTION, False):
            return  # autocommit_engine: each statement on its own
        deferred = options.get(_READ_ONLY, False) and not options.get(_WRITE, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


def read_only(session: Session) -> None:
    """Open the session's next transaction for reading only (a no-op inside a transaction).
    On SQLite it is DEFERRED, so it neither waits for nor blocks other transactions; a write
    in it may fail with "database is locked" instead of waiting, so callers that might write
    retry in an ordinary transaction. On PostgreSQL nothing changes."""
    if not session.in_transaction():
        session.connection(execution_options={_READ_ONLY: True})


def in_read_only_transaction(session: Session) -> bool:
    """Whether the session is inside a transaction opened for reading only (see read_only;
    not one that for_writing opened)."""
    if not session.in_transaction():
        return False
    options = session.connection().get_execution_options()
    return bool(options.get(_READ_ONLY, False) and not options.get(_WRITE, False))


def autocommit_engine(engine: Engine) -> Engine:
    """The engine's twin (same pool) that runs each statement on its own, outside any
    transaction: no BEGIN and COMMIT around a single small read (on PostgreSQL two round
    trips fewer). Only for single statements that read."""
    if is_sqlite(engine):
        # pysqlite is left in autocommit (see _configure_sqlite); only the BEGIN is skipped
        return engine.execution_options(**{_NO_TRANSACTION: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def read_only_engine(engine: Engine) -> Engine:
    """The engine's twin (same pool) whose transactions are read-only: DEFERRED on SQLite,
    unchanged on PostgreSQL. Sessions bound to it read without taking the write lock."""
    return engine.execution_options(**{_READ_ONLY: True})


def for_writing(session: Session) -> None:
    """End the session's read-only transaction, if it has one, and open an ordinary one
    (IMMEDIATE on SQLite, waiting for the write lock) for what follows. GET routes read in
    read-only sessions; those that also write (an audit record of a read of personal data)
    call this first, and commit before they return."""
    if session.in_transaction():
        if not session.connection().get_execution_options().get(_READ_ONLY, False):
            return
        session.commit()
    session.connection(execution_options={_WRITE: True})


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (SQLite file or PostgreSQL via psycopg)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    elif url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = True
    else:
        msg = (
            f"database URL {url!r} is not supported; use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB (set SILKGUARD_DATABASE_URL)"
        )
        raise InvalidInput(msg)
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:  # psycopg is the optional extra
        msg = f"PostgreSQL needs the driver: pip install 'silkguard[postgres]' ({exc})"
        raise InvalidInput(msg) from exc
    if is_sqlite(engine):
        _configure_sqlite(engine)
    return engine


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows of ``model`` (all with the keys of the first) in the session's
    transaction.

    On PostgreSQL they stream through ``COPY``: psycopg's ``executemany`` sends one statement
    per row, which for the 10,000 roll-call rows of a large alert costs the server and the
    client about a second. Values go through the columns' bind processing first (aware
    datetimes to UTC), as an INSERT would. Elsewhere it is an ordinary ``executemany``."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    processors = [table.c[name].type.bind_processor(conn.dialect) for name in names]
    quote = conn.dialect.identifier_preparer
    sql = (
        f"COPY {quote.format_table(table)} ({', '.join(quote.quote(n) for n in names)}) FROM STDIN"
    )
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(
                    [
                        value if process is None else process(value)
                        for value, process in zip((row[n] for n in names), processors, strict=True)
                    ]
                )
    finally:
        cursor.close()


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics (after bulk imports): without them SQLite picks poor
    indexes for the visibility filter's OR terms. On PostgreSQL it also vacuums the incidents,
    which marks new rows all-visible so map searches are answered from the covering index
    alone (autovacuum would do that too, later)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM (ANALYZE) incidents")
            conn.exec_driver_sql("ANALYZE")
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
