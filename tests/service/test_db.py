"""The database layer on SQLite and PostgreSQL: migrations, engine URLs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from icecore.errors import InputError, StorageError
from icecore.service import db


def test_migrate_fresh_and_idempotent(db_url):
    eng = db.make_engine(db_url)
    assert db.migrate(eng) == db.SCHEMA_VERSION
    assert db.migrate(eng) == db.SCHEMA_VERSION  # nothing to do the second time
    with eng.connect() as c:
        rows = c.execute(sa.select(db.schema_version)).all()
        names = set(sa.inspect(c).get_table_names())
    assert [r.version for r in rows] == [1]
    assert {"scans", "scan_batches", "alerts", "plan_steps", "products", "schema_version"} <= names
    eng.dispose()


def test_a_later_migration_is_applied_once(db_url):
    eng = db.make_engine(db_url)
    db.migrate(eng)

    def add_column(conn):
        conn.execute(sa.text("ALTER TABLE scans ADD COLUMN note VARCHAR(50)"))

    steps = db.MIGRATIONS + [(2, "scans.note", add_column)]
    assert db.migrate(eng, steps) == 2
    assert db.migrate(eng, steps) == 2
    with eng.connect() as c:
        assert "note" in {col["name"] for col in sa.inspect(c).get_columns("scans")}
        assert db.current_version(c) == 2
    # the code of version 1 refuses a database of version 2 rather than guessing
    with pytest.raises(StorageError, match="newer"):
        db.migrate(eng)
    eng.dispose()


def test_database_helper(db_url):
    d = db.Database(db_url)
    assert d.version == db.SCHEMA_VERSION and d.ping()
    assert d.dialect in ("sqlite", "postgresql")
    assert "password" not in repr(d)
    d.close()


def test_urls():
    with pytest.raises(InputError):
        db.make_engine("mysql://x/y")
    with pytest.raises(InputError):
        db.make_engine("not a url")
    assert db._normalise_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db._normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
