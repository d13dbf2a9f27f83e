"""Opening a ledger, its transactions and its bulk writes: one SQLAlchemy Core code path.

* ``--db PATH`` (or ``SUBSIDY_DB``) is a SQLite file; ``sqlite:///…`` and ``postgresql://…`` URLs
  are used as given (``postgresql://`` is read with psycopg 3).
* A writing transaction takes the writer's lock first: ``BEGIN IMMEDIATE`` on SQLite (one writer
  at a time, others wait), ``SELECT … FOR UPDATE`` of the one ``ledger_head`` row on PostgreSQL (a
  row lock every writer takes first, so writers queue and each reads what the one before it
  committed). A command is one transaction: killed at any point, it leaves nothing half done.
* Bulk rows go in as ``executemany`` on SQLite and ``COPY`` on PostgreSQL, into the tables that
  :mod:`~jinhua_subsidy.ledger.schema` defines.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from jinhua_subsidy.ledger import schema

DB_ENV = "SUBSIDY_DB"
DEFAULT_DB = "subsidy-ledger.db"
#: How long a writer waits for the lock before giving up (SQLite busy timeout), in ms.
BUSY_MS = 600_000
HEAD_REVISION = "0001"


class LedgerError(Exception):
    """A ledger that cannot be opened or used (unreachable, not upgraded); the message is Chinese."""


class Refused(Exception):
    """A lifecycle step that is not allowed; the message is Chinese."""


def resolve_url(db: str | None) -> URL:
    """The URL of ``--db``: a path is a SQLite file; ``postgresql://`` uses psycopg 3."""
    text = db or os.environ.get(DB_ENV) or DEFAULT_DB
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except sa.exc.ArgumentError as exc:
        raise LedgerError(f"无法识别的台账数据库地址 {text!r}：{exc}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(f"台账只支持 SQLite 文件或 PostgreSQL（postgresql://…），而不是 {url.drivername}")
    return url


def shown(url: URL) -> str:
    """The URL as messages show it (no password)."""
    return url.render_as_string(hide_password=True)


class Ledger:
    """An open ledger: its SQLAlchemy engine and dialect."""

    def __init__(self, db: str | None = None) -> None:
        self.url = resolve_url(db)
        self.dialect = self.url.get_backend_name()
        if self.dialect == "sqlite":
            # check_same_thread off: ingest inserts its rows on a thread of its own (one at a time).
            self.engine: Engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool,
                                                   connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool,
                                           connect_args={"connect_timeout": 10})
        self.name = shown(self.url)
        self.path = Path(self.url.database) if self.dialect == "sqlite" and self.url.database else None

    @contextmanager
    def connect(self, create: bool = False) -> Iterator[Connection]:
        """A connection; an unreachable database is a :class:`LedgerError` with its first line. A
        SQLite file that does not exist is created only by ``upgrade`` (``create``)."""
        if self.path is not None and not create and not self.path.exists():
            raise LedgerError(f"台账文件 {self.path} 不存在：请先运行 subsidy ledger upgrade 创建")
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:
            raise LedgerError(f"无法连接台账数据库 {self.name}：{first_line(exc.orig or exc)}") from None
        with conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One writing transaction, holding the writer's lock, on a ledger at the head revision."""
        with self.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    self.require_head(conn)
                    conn.execute(sa.select(schema.head.c.id).where(schema.head.c.id == 1).with_for_update())
                    yield conn
            finally:
                conn.info.pop("write", None)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One reading transaction (a consistent snapshot on PostgreSQL, shared lock on SQLite)."""
        with self.connect() as conn, conn.begin():
            self.require_head(conn)
            yield conn

    def require_head(self, conn: Connection) -> None:
        rev = revision(conn)
        if rev != HEAD_REVISION:
            what = "尚未初始化" if rev is None else f"的结构版本为 {rev}，不是 {HEAD_REVISION}"
            raise LedgerError(f"台账数据库 {self.name} {what}：请先运行 subsidy ledger upgrade")

    def upgrade(self) -> tuple[str | None, str]:
        """Run the migrations up to the head; (revision before, revision after)."""
        from alembic import command
        from alembic.config import Config

        with self.connect(create=True) as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    before = revision(conn)
                    cfg = Config()
                    cfg.set_main_option("script_location", "jinhua_subsidy.ledger:migrations")
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    return before, revision(conn) or ""
            finally:
                conn.info.pop("write", None)


def revision(conn: Connection) -> str | None:
    """The Alembic revision of the ledger; None when it has none (a new or foreign database)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun below, as BEGIN IMMEDIATE when writing
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA cache_size = -262144")  # 256 MiB: bulk index inserts stay in memory
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")


def bulk_insert(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert many rows: executemany on SQLite, COPY on PostgreSQL; the same rows either way."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    sql = str(sa.insert(table).compile(dialect=conn.dialect, column_keys=list(columns)))
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()


def _copy(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f'COPY {table.name} ({names}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row(r)


def copy_csv(conn: Connection, table: sa.Table, columns: Sequence[str], text: str) -> None:
    """COPY a CSV text (no header; an unquoted empty cell is NULL) into ``table`` (PostgreSQL)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(text.encode("utf-8"))
