"""Safe on-disk storage of alerts: one JSON per (event, revision), raw message beside it.

Layout of an :class:`AlertStore` directory::

    records/<event>__rev<N>.json        normalised record (Alert.to_dict + significance)
    records/<event>__rev<N>.raw         the message exactly as received
    records/<event>__rev<N>.<sha8>.json a *different* message for an already stored
                                        (event, revision), e.g. the VOEvent twin of a text notice
    dead_letter/<sha16>.raw / .json     unparseable messages and the parse error
    index.sqlite                        query index (rebuildable from the JSON files)

File names come only from :func:`icecore._io.safe_child` of sanitised fields, so an id such as
``../../x`` stays inside the directory; every write is atomic and never replaces an existing
file (``atomic_write(..., overwrite=False)``), so bad or repeated input cannot damage what is
already stored. Re-storing the same message is a no-op.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_write, safe_child, safe_name
from ..errors import InputError, StorageError
from .model import Alert, alert_record

__all__ = ["AlertStore", "StoredAlert"]

logger = logging.getLogger(__name__)

_ALT = re.compile(r"\.[0-9a-f]{8}\.json$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    file TEXT PRIMARY KEY,
    event_key TEXT NOT NULL,
    revision INTEGER NOT NULL,
    raw_sha256 TEXT NOT NULL,
    is_primary INTEGER NOT NULL,
    kind TEXT NOT NULL,
    event_name TEXT,
    alert_type TEXT NOT NULL,
    test INTEGER NOT NULL,
    mjd REAL NOT NULL,
    time TEXT NOT NULL,
    ra_deg REAL,
    dec_deg REAL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_mjd ON alerts (mjd);
CREATE INDEX IF NOT EXISTS alerts_kind ON alerts (kind);
CREATE INDEX IF NOT EXISTS alerts_event ON alerts (event_key, revision);
"""
#: Columns of the rows returned by :meth:`AlertStore.list`.
_LIST_COLUMNS = ("file", "event_key", "revision", "kind", "event_name", "alert_type", "test", "mjd", "time",
                 "ra_deg", "dec_deg", "is_primary")


@dataclass(frozen=True)
class StoredAlert:
    """Outcome of :meth:`AlertStore.store`.

    Attributes
    ----------
    path : Path
        The record's JSON file (existing one when nothing new was written).
    created : bool
        False when the identical message was already stored (idempotent no-op).
    primary : bool
        False when another message already holds this (event, revision) and this one was kept
        beside it as an alternate.
    record : dict
        The stored record.
    """

    path: Path
    created: bool
    primary: bool
    record: dict[str, Any]


class AlertStore:
    """A directory of alerts with a sqlite3 query index.

    Parameters
    ----------
    directory : str or path-like
        Created if absent. Safe for several threads of one process (one sqlite connection per
        call; the index is only a cache of the JSON files, see :meth:`reindex`).
    """

    def __init__(self, directory: Any) -> None:
        if directory is None or (isinstance(directory, str) and not directory.strip()):
            raise InputError("argument 'directory': a directory path is required", "directory")
        self.directory = Path(directory).resolve()
        self.records_dir = self.directory / "records"
        self.dead_letter_dir = self.directory / "dead_letter"
        for d in (self.directory, self.records_dir, self.dead_letter_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.index_path = self.directory / "index.sqlite"
        self._lock = threading.Lock()
        self._local = threading.local()
        with self._connect() as con:
            con.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"AlertStore({str(self.directory)!r})"

    # ---- sqlite ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (opened once; use as ``with`` for one transaction)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.index_path, timeout=30.0)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    def close(self) -> None:
        """Close this thread's index connection (reopened on demand)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def _index(self, con: sqlite3.Connection, path: Path, rec: dict[str, Any], primary: bool) -> None:
        con.execute(
            "INSERT OR IGNORE INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                path.name, rec["event_key"], rec["revision"], rec["raw_sha256"], int(primary), rec["kind"],
                rec.get("event_name"), rec["alert_type"], int(bool(rec["test"])), rec["mjd"], rec["time"],
                rec.get("ra_deg"), rec.get("dec_deg"), rec.get("stored_at", time.time()),
            ),
        )

    # ---- storing --------------------------------------------------------------------------
    def _names(self, alert: Alert) -> tuple[Path, Path]:
        base = f"{safe_name(alert.event_key, max_len=100)}__rev{int(alert.revision)}"
        return safe_child(self.records_dir, base + ".json"), safe_child(self.records_dir, base + ".raw")

    def store(self, alert: Alert, *, significance: dict[str, Any] | None = None) -> StoredAlert:
        """Store one parsed alert (idempotent; never overwrites).

        Returns
        -------
        StoredAlert
        """
        if not isinstance(alert, Alert):
            raise InputError(f"argument 'alert': expected an Alert, got {type(alert).__name__}", "alert")
        rec = alert_record(alert, significance)
        rec["stored_at"] = time.time()
        with self._lock:
            return self._store_locked(alert, rec)

    def _store_locked(self, alert: Alert, rec: dict[str, Any]) -> StoredAlert:
        json_path, raw_path = self._names(alert)
        primary = True
        existing = _read_json(json_path)
        if existing is not None and existing.get("raw_sha256") != rec["raw_sha256"]:
            primary = False
            stem = json_path.name[: -len(".json")] + "." + rec["raw_sha256"][:8]
            json_path = safe_child(self.records_dir, stem + ".json")
            raw_path = safe_child(self.records_dir, stem + ".raw")
            existing = _read_json(json_path)
            logger.info("%s: a different message already holds %s rev %s; kept as %s",
                        self.directory, alert.event_key, alert.revision, json_path.name)
        if existing is not None:  # same message again: no-op (re-index in case a crash lost it)
            with self._connect() as con:
                self._index(con, json_path, existing, primary)
            return StoredAlert(json_path, False, primary, existing)
        try:
            _write_once(raw_path, alert.raw)
            _write_once(json_path, json.dumps(rec, indent=1, allow_nan=False, sort_keys=True) + "\n")
        except (OSError, ValueError) as exc:
            raise StorageError(f"could not store {alert.event_key} rev {alert.revision}: {exc}") from exc
        with self._connect() as con:
            self._index(con, json_path, rec, primary)
        return StoredAlert(json_path, True, primary, rec)

    def dead_letter(self, raw: bytes, error: str, *, topic: str | None = None,
                    meta: dict[str, Any] | None = None) -> Path:
        """Keep an unparseable message with its error (idempotent by content hash)."""
        sha = hashlib.sha256(raw).hexdigest()
        raw_path = safe_child(self.dead_letter_dir, sha[:16] + ".raw")
        info = {"error": error, "topic": topic, "raw_sha256": sha, "received": time.time(), "meta": meta or {}}
        try:
            _write_once(raw_path, raw)
            _write_once(safe_child(self.dead_letter_dir, sha[:16] + ".json"), json.dumps(info, indent=1, default=str))
        except OSError as exc:
            raise StorageError(f"could not dead-letter a message: {exc}") from exc
        logger.warning("dead-lettered message %s (topic %s): %s", sha[:16], topic, error)
        return raw_path

    # ---- querying -------------------------------------------------------------------------
    def list(self, *, kind: str | None = None, name: str | None = None, start: Any = None, end: Any = None,
             include_tests: bool = True, primary_only: bool = True) -> list[dict[str, Any]]:
        """Index rows ordered by trigger time.

        Parameters
        ----------
        kind : str, optional
            Only this alert kind.
        name : str, optional
            Substring of the event name or event key.
        start, end : time-like, optional
            Trigger-time range (anything :func:`icecore.coords.as_time` accepts, or MJD float).
        """
        q = f"SELECT {', '.join(_LIST_COLUMNS)} FROM alerts WHERE 1=1"
        args: builtins.list[Any] = []
        if kind is not None:
            q += " AND kind = ?"
            args.append(kind)
        if name is not None:
            q += " AND (event_name LIKE ? OR event_key LIKE ?)"
            args += [f"%{name}%", f"%{name}%"]
        if start is not None:
            q += " AND mjd >= ?"
            args.append(_mjd(start, "start"))
        if end is not None:
            q += " AND mjd <= ?"
            args.append(_mjd(end, "end"))
        if not include_tests:
            q += " AND test = 0"
        if primary_only:
            q += " AND is_primary = 1"
        q += " ORDER BY mjd, event_key, revision"
        with self._connect() as con:
            return [dict(zip(_LIST_COLUMNS, row)) for row in con.execute(q, args)]

    def get(self, event_key: str, revision: int | None = None) -> dict[str, Any]:
        """The stored record of an event (latest revision unless ``revision`` is given)."""
        q = "SELECT file FROM alerts WHERE event_key = ? AND is_primary = 1"
        args: builtins.list[Any] = [event_key]
        if revision is not None:
            q += " AND revision = ?"
            args.append(int(revision))
        q += " ORDER BY revision DESC LIMIT 1"
        with self._connect() as con:
            row = con.execute(q, args).fetchone()
        if row is None:
            raise KeyError(f"no stored alert {event_key!r}" + ("" if revision is None else f" rev {revision}"))
        rec = _read_json(safe_child(self.records_dir, row[0]))
        if rec is None:
            raise StorageError(f"index points to a missing file {row[0]}")
        return rec

    def records(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """All stored record files (primary and alternates), read from disk."""
        for p in sorted(self.records_dir.glob("*.json")):
            rec = _read_json(p)
            if rec is not None:
                yield p, rec

    def dead_letters(self) -> builtins.list[dict[str, Any]]:
        """The dead-lettered messages' error records."""
        return [r for p in sorted(self.dead_letter_dir.glob("*.json")) if (r := _read_json(p)) is not None]

    def reindex(self) -> int:
        """Rebuild the sqlite index from the JSON files; returns the number of records."""
        n = 0
        with self._lock, self._connect() as con:
            con.execute("DELETE FROM alerts")
            for p, rec in self.records():
                primary = _ALT.search(p.name) is None
                self._index(con, p, rec, primary)
                n += 1
        return n

    def __len__(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM alerts WHERE is_primary = 1").fetchone()[0])


def _write_once(path: Path, data: bytes | str) -> None:
    """Atomic write that never replaces: an existing identical file is accepted."""
    try:
        atomic_write(path, data, overwrite=False)
    except FileExistsError:
        payload = data.encode("utf-8") if isinstance(data, str) else data
        if path.suffix == ".raw" and path.read_bytes() != payload:
            raise StorageError(f"{path.name} exists with different content; not overwritten") from None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StorageError(f"stored record {path} is unreadable: {exc}") from exc


def _mjd(t: Any, name: str) -> float:
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    from ..coords import as_time

    return float(as_time(t, name).utc.mjd)
