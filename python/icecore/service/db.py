"""The service's database: SQLAlchemy Core tables, engine set-up and versioned migrations.

One layer for both back ends: SQLite (default; a file in the data directory, nothing to install)
and PostgreSQL (``postgresql://...``, driver psycopg 3, the ``postgres`` extra).

Migrations are a short ordered list of Python functions in this module (:data:`MIGRATIONS`),
recorded in the table ``schema_version``; :func:`migrate` applies the missing ones in one
transaction each, under a PostgreSQL advisory lock so that several service processes starting
together migrate once. A database written by a newer icecore (a version above the newest known
here) is refused rather than guessed at. (Alembic would add a dependency, an ``env.py`` and an
ini file to the wheel for the same few ``CREATE``/``ALTER`` statements; this list is tested on
both back ends.)

Tables
------
``scans`` (one row per submitted scan: state machine, settings, progress), ``scan_batches``
(the persisted result of every refinement batch: what a restarted scan replays),
``alerts`` (alerts known to the orchestrator, one row per event and revision), ``plan_steps``
(the follow-up plan of each alert revision), ``products`` (every product with its metadata
record). JSON values are stored as text (portable across both back ends).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import InputError, StorageError

__all__ = ["metadata", "scans", "scan_batches", "alerts", "plan_steps", "products", "schema_version",
           "MIGRATIONS", "SCHEMA_VERSION", "make_engine", "migrate", "current_version", "Database", "dumps",
           "loads"]

log = logging.getLogger(__name__)

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)

scans = sa.Table(
    "scans", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("event_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("event_kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("executor", sa.String(16), nullable=False),
    sa.Column("event_json", sa.Text, nullable=False),
    sa.Column("event_sha256", sa.String(64), nullable=False),
    sa.Column("settings_json", sa.Text, nullable=False),
    sa.Column("progress_json", sa.Text, nullable=False, default="{}"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("alert_key", sa.String(200), nullable=True, index=True),
    sa.Column("product_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
)

scan_batches = sa.Table(
    "scan_batches", metadata,
    sa.Column("scan_id", sa.String(32), sa.ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("round", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("nside", sa.Integer, nullable=False),
    sa.Column("pixels", sa.Integer, nullable=False),
    sa.Column("batch_sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("worker", sa.String(64), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("event_key", sa.String(200), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("raw_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False, index=True),
    sa.Column("event_name", sa.String(200), nullable=True),
    sa.Column("alert_type", sa.String(16), nullable=False),
    sa.Column("test", sa.Boolean, nullable=False),
    sa.Column("mjd", sa.Float, nullable=False, index=True),
    sa.Column("time", sa.String(40), nullable=False),
    sa.Column("ra_deg", sa.Float, nullable=True),
    sa.Column("dec_deg", sa.Float, nullable=True),
    sa.Column("error90_deg", sa.Float, nullable=True),
    sa.Column("record_json", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("retracted", sa.Boolean, nullable=False, default=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

plan_steps = sa.Table(
    "plan_steps", metadata,
    sa.Column("event_key", sa.String(200), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("step", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("input_hash", sa.String(64), nullable=False),
    sa.Column("product_id", sa.String(64), nullable=True),
    sa.Column("scan_id", sa.String(32), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

products = sa.Table(
    "products", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False, index=True),
    sa.Column("subject", sa.String(200), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("input_hash", sa.String(64), nullable=False, index=True),
    sa.Column("metadata_json", sa.Text, nullable=False),
    sa.Column("summary_json", sa.Text, nullable=False),
    sa.Column("retracted", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("kind", "subject", "version", name="uq_products_kind_subject_version"),
)


# --------------------------------------------------------------------------------------------
# migrations


def _m1_initial(conn: Connection) -> None:
    """Version 1: every table of the first release."""
    metadata.create_all(conn, tables=[scans, scan_batches, alerts, plan_steps, products])


#: (version, description, function(connection)); append only, never edit an applied entry.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "scans, scan batches, alerts, plan steps, products", _m1_initial),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """Schema version recorded in the database (0: empty database)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    v = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    return int(v or 0)


def migrate(engine: Engine, migrations: list[tuple[int, str, Callable[[Connection], None]]] | None = None) -> int:
    """Bring the schema to the newest version; returns the version reached.

    Raises
    ------
    StorageError
        When the database was written by a newer icecore (unknown version).
    """
    steps = MIGRATIONS if migrations is None else migrations
    newest = steps[-1][0] if steps else 0
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # one migrator at a time across processes
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7406231)"))
        schema_version.create(conn, checkfirst=True)
        have = current_version(conn)
        if have > newest:
            raise StorageError(f"the database schema is version {have}, newer than this icecore knows "
                               f"({newest}); upgrade icecore")
        for version, description, fn in steps:
            if version <= have:
                continue
            log.info("migrating database to version %d: %s", version, description)
            fn(conn)
            conn.execute(schema_version.insert().values(version=version, description=description,
                                                        applied_at=time.time()))
            have = version
    return have


# --------------------------------------------------------------------------------------------
# engine


def _normalise_url(url: str) -> str:
    if not isinstance(url, str) or "://" not in url:
        raise InputError(f"argument 'database': not a database URL: {url!r}", "database")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):  # SQLAlchemy's default driver is psycopg2; we ship psycopg 3
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if not url.startswith(("sqlite", "postgresql")):
        raise InputError("argument 'database': only sqlite:// and postgresql:// URLs are supported", "database")
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite: WAL journal, 30 s busy timeout, usable from threads)."""
    url = _normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30.0})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, record: Any) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ImportError("a PostgreSQL database needs psycopg: pip install 'icecore[postgres]'") from None
    return sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)


def dumps(obj: Any) -> str:
    """Compact JSON text of ``obj`` (numpy values converted; NaN/inf written as null)."""
    from .._cli import dumps as _dumps

    return _dumps(obj, indent=None)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Database:
    """An engine with the schema migrated, and a transaction helper.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.version = migrate(self.engine)
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction (committed on success, rolled back on an exception)."""
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:  # pragma: no cover - reported by the health endpoint
            return False

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"
