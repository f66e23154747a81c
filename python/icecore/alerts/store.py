"""Safe on-disk storage of alerts: one JSON per (event, revision), raw message beside it.

Layout of an :class:`AlertStore` directory::

    records/<event>__rev<N>.json        normalised record (Alert.to_dict + significance)
    records/<event>__rev<N>.raw         the message exactly as received
    records/<event>__rev<N>.<sha8>.json a *different* message for an already stored
                                        (event, revision), e.g. the VOEvent twin of a text notice
    dead_letter/<sha16>.raw / .json     messages that could not be parsed or processed, and why
    index.sqlite                        query index (rebuildable from the JSON files)

``<event>`` is the event key itself when it is a plain name (``[A-Za-z0-9+-]`` then
``[A-Za-z0-9._+-]``, at most 100 characters, no ``++``); any other key (``..``, ``‥``, a slash,
a long name) becomes its sanitised first 80 characters plus ``++`` and 16 hex digits of the
SHA-256 of the full key, so two keys never share a file name and no name leaves the directory.

Writes are atomic and never replace an existing file. A record is claimed by creating its JSON
(a hard link, which only one writer, thread or process, can win); the raw message is written
after its record, so a crash can leave a record whose raw is missing (repaired when the same
message arrives again) but never a raw without its record. Re-storing the same message is a
no-op (``created=False``), a different message for a held (event, revision) is kept beside it
as an alternate, whoever writes first. Temporary files of killed writers are removed by
:meth:`AlertStore.clean_temporary` (on opening, for files older than ten minutes).

Every failure of the disk or the index raises :class:`~icecore.errors.StorageError` naming
the path; a directory that cannot be written is opened read-only (its index is then built in
memory from the JSON files).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write, safe_child, safe_name
from ..errors import InputError, StorageError
from .model import INT_MAX, Alert, alert_record

__all__ = ["AlertStore", "StoredAlert", "ReindexReport"]

logger = logging.getLogger(__name__)

_ALT = re.compile(r"\.[0-9a-f]{8,64}\.json$")
_PLAIN_KEY = re.compile(r"(?!.*\+\+)[A-Za-z0-9+-][A-Za-z0-9._+-]{0,99}")
_NAME_MAX = 255  # bytes of a file name (NAME_MAX); the longest name built here has 194
_TMP = re.compile(r"^\..+\.tmp$")
#: Age (seconds) after which a temporary file is taken as left by a killed writer.
STALE_TMP_SECONDS = 600.0
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


def file_stem(event_key: str, revision: int) -> str:
    """The injective file stem of an (event key, revision): see the module docstring."""
    if _PLAIN_KEY.fullmatch(event_key):
        stem = event_key
    else:
        digest = hashlib.sha256(event_key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        stem = f"{safe_name(event_key, max_len=80)}++{digest}"
    return f"{stem}__rev{int(revision)}"


@dataclass(frozen=True)
class StoredAlert:
    """Outcome of :meth:`AlertStore.store`.

    Attributes
    ----------
    path : Path
        The record's JSON file (existing one when nothing new was written).
    created : bool
        False when the identical message was already stored (idempotent no-op); of several
        writers storing the same message at once exactly one gets True.
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


@dataclass
class ReindexReport:
    """What :meth:`AlertStore.reindex` found besides the records it indexed."""

    indexed: int = 0
    #: record files that could not be read or indexed (file name -> error); left in place
    corrupt: dict[str, str] = field(default_factory=dict)
    #: records whose raw message is missing (a crash between the two writes)
    missing_raw: list[str] = field(default_factory=list)
    #: raw files without a record (left by older versions)
    orphan_raw: list[str] = field(default_factory=list)


class AlertStore:
    """A directory of alerts with a sqlite3 query index.

    Parameters
    ----------
    directory : str or path-like
        Created if absent. Safe for several threads and several processes at once (one sqlite
        connection per thread; the index is only a cache of the JSON files, see :meth:`reindex`).
    read_only : bool, optional
        Open without writing anything (listing a store on a read-only disk or of another
        user); the index is then rebuilt in memory from the JSON files. Default: read-only
        exactly when the directory exists and cannot be written.
    """

    def __init__(self, directory: Any, *, read_only: bool | None = None) -> None:
        if directory is None or (isinstance(directory, str) and not directory.strip()):
            raise InputError("argument 'directory': a directory path is required", "directory")
        self.directory = Path(directory).resolve()
        self.records_dir = self.directory / "records"
        self.dead_letter_dir = self.directory / "dead_letter"
        self.index_path = self.directory / "index.sqlite"
        if read_only is None:
            read_only = self.directory.is_dir() and not _writable(self.directory)
        self.read_only = bool(read_only)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._memory_uri: str | None = None
        self._keeper: sqlite3.Connection | None = None
        self.last_reindex: ReindexReport | None = None
        if self.read_only:
            if not self.directory.is_dir():
                raise StorageError(f"{self.directory}: no alert store there")
            self._memory_uri = f"file:icecore-alerts-{uuid.uuid4().hex}?mode=memory&cache=shared"
            self._keeper = self._connect()
            with self._tx() as con:
                con.executescript(_SCHEMA)
            self.reindex()
            return
        try:
            for d in (self.directory, self.records_dir, self.dead_letter_dir):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.directory}: cannot create the alert store: {exc}") from exc
        with self._tx() as con:
            con.executescript(_SCHEMA)
        self.clean_temporary()

    def __repr__(self) -> str:
        return f"AlertStore({str(self.directory)!r}{', read_only=True' if self.read_only else ''})"

    # ---- sqlite ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (opened once)."""
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                if self._memory_uri is not None:
                    con = sqlite3.connect(self._memory_uri, uri=True, timeout=30.0)
                else:
                    con = sqlite3.connect(self.index_path, timeout=30.0)
                    con.execute("PRAGMA journal_mode=WAL")
                    con.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise StorageError(f"{self.index_path}: cannot open the index: {exc}") from exc
            self._local.con = con
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One index transaction; any sqlite failure (disk full, locked...) is a StorageError."""
        try:
            con = self._connect()
            with con:
                yield con
        except sqlite3.Error as exc:
            raise StorageError(f"{self.index_path}: index failure: {exc}") from exc

    def close(self) -> None:
        """Close this thread's index connection (reopened on demand)."""
        con = getattr(self._local, "con", None)
        if con is not None and con is not self._keeper:
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

    def _require_writable(self) -> None:
        if self.read_only:
            raise StorageError(f"{self.directory}: the alert store is open read-only")

    # ---- storing --------------------------------------------------------------------------
    def _stems(self, alert: Alert, sha: str) -> list[tuple[str, bool]]:
        """(file stem, primary) candidates: the primary name, then the alternates' names."""
        base = file_stem(alert.event_key, alert.revision)
        return [(base, True)] + [(f"{base}.{sha[:n]}", False) for n in (8, 16, 64)]

    def store(self, alert: Alert, *, significance: dict[str, Any] | None = None) -> StoredAlert:
        """Store one parsed alert (idempotent; never overwrites).

        Returns
        -------
        StoredAlert

        Raises
        ------
        InputError
            The record cannot be stored at all (not JSON-serialisable, an integer the index
            cannot hold): a property of the message, nothing was written.
        StorageError
            The disk or the index failed (full, read-only...); names the path.
        """
        if not isinstance(alert, Alert):
            raise InputError(f"argument 'alert': expected an Alert, got {type(alert).__name__}", "alert")
        self._require_writable()
        rec = alert_record(alert, significance)
        rec["stored_at"] = time.time()
        problem = _record_problem(rec)
        if problem is not None:
            raise InputError(f"argument 'alert': {alert.event_key} rev {alert.revision} cannot be stored: {problem}",
                             "alert")
        try:  # serialised before anything touches the disk
            text = json.dumps(rec, indent=1, allow_nan=False, sort_keys=True) + "\n"
        except (ValueError, TypeError, RecursionError) as exc:
            raise InputError(f"argument 'alert': the record of {alert.event_key} is not valid JSON ({exc})",
                             "alert") from None
        with self._lock:
            return self._store_locked(alert, rec, text)

    def _store_locked(self, alert: Alert, rec: dict[str, Any], text: str) -> StoredAlert:
        sha = rec["raw_sha256"]
        for stem, primary in self._stems(alert, sha):
            json_path = safe_child(self.records_dir, stem + ".json", max_len=_NAME_MAX)
            raw_path = safe_child(self.records_dir, stem + ".raw", max_len=_NAME_MAX)
            if json_path.name != stem + ".json":  # never: the stems are built safe and short
                raise StorageError(f"{self.records_dir}: file name {stem!r} is not safe")
            if _create(json_path, text):  # this writer claimed the name
                self._write_raw(raw_path, alert.raw)
                with self._tx() as con:
                    self._index(con, json_path, rec, primary)
                if not primary:
                    logger.info("%s: a different message already holds %s rev %s; kept as %s",
                                self.directory, alert.event_key, alert.revision, json_path.name)
                return StoredAlert(json_path, True, primary, rec)
            existing = _try_read_json(json_path)
            if existing is not None and existing.get("raw_sha256") == sha:  # the same message again
                self._write_raw(raw_path, alert.raw)  # repairs a raw lost by a crash between the writes
                with self._tx() as con:
                    self._index(con, json_path, existing, primary)
                return StoredAlert(json_path, False, primary, existing)
            if existing is None:
                logger.error("%s is unreadable; storing %s rev %s under another name",
                             json_path, alert.event_key, alert.revision)
        raise StorageError(f"{self.records_dir}: every file name of {alert.event_key} rev {alert.revision} "
                           "is held by a different message (hash collision)")

    def _write_raw(self, path: Path, raw: bytes) -> None:
        try:
            atomic_write(path, raw, overwrite=False)
            return
        except FileExistsError:
            pass
        except OSError as exc:
            raise StorageError(f"{path}: could not write the raw message: {exc}") from exc
        try:
            old = path.read_bytes()
            if old == raw:
                return
            # A raw file is only written after its record, so one with other content is an orphan
            # of an earlier version's crash: keep it as a dead letter, then put the right one.
            self.dead_letter(old, f"orphan raw file {path.name} without its record", meta={"file": path.name})
            logger.warning("%s: replaced an orphan raw file (kept in dead_letter/)", path)
            atomic_write(path, raw, overwrite=True)
        except OSError as exc:
            raise StorageError(f"{path}: could not write the raw message: {exc}") from exc

    def dead_letter(self, raw: bytes, error: str, *, topic: str | None = None,
                    meta: dict[str, Any] | None = None) -> Path:
        """Keep a message that could not be parsed or processed, with its error (idempotent by content hash)."""
        self._require_writable()
        sha = hashlib.sha256(raw).hexdigest()
        raw_path = safe_child(self.dead_letter_dir, sha[:16] + ".raw")
        info_path = safe_child(self.dead_letter_dir, sha[:16] + ".json")
        info = {"error": str(error)[:4000], "topic": topic, "raw_sha256": sha, "received": time.time(),
                "meta": meta or {}}
        try:
            _create(raw_path, raw)
            _create(info_path, json.dumps(info, indent=1, default=str))
        except OSError as exc:
            raise StorageError(f"{self.dead_letter_dir}: could not dead-letter a message: {exc}") from exc
        logger.warning("dead-lettered message %s (topic %s): %s", sha[:16], topic, str(error)[:300])
        return raw_path

    def clean_temporary(self, older_than_s: float = STALE_TMP_SECONDS) -> int:
        """Remove temporary files of killed writers older than ``older_than_s`` seconds; returns how many."""
        if self.read_only:
            return 0
        n, now = 0, time.time()
        for d in (self.records_dir, self.dead_letter_dir):
            try:
                entries = list(os.scandir(d))
            except OSError:
                continue
            for e in entries:
                if not _TMP.match(e.name):
                    continue
                try:
                    if now - e.stat().st_mtime >= older_than_s:
                        os.unlink(e.path)
                        n += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    logger.warning("could not remove stale temporary file %s: %s", e.path, exc)
        if n:
            logger.info("%s: removed %d stale temporary file(s)", self.directory, n)
        return n

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
        q += " ORDER BY mjd, event_key, revision, is_primary DESC, file"
        with self._tx() as con:
            return [dict(zip(_LIST_COLUMNS, row)) for row in con.execute(q, args)]

    def get(self, event_key: str, revision: int | None = None) -> dict[str, Any]:
        """The stored record of an event (latest revision unless ``revision`` is given)."""
        q = "SELECT file FROM alerts WHERE event_key = ? AND is_primary = 1"
        args: builtins.list[Any] = [event_key]
        if revision is not None:
            if isinstance(revision, bool) or not isinstance(revision, int) or not 0 <= revision <= INT_MAX:
                raise InputError(f"argument 'revision': expected an integer in [0, 2^63), got {revision!r}",
                                 "revision")
            q += " AND revision = ?"
            args.append(int(revision))
        q += " ORDER BY revision DESC LIMIT 1"
        with self._tx() as con:
            row = con.execute(q, args).fetchone()
        if row is None:
            raise KeyError(f"no stored alert {event_key!r}" + ("" if revision is None else f" rev {revision}"))
        path = safe_child(self.records_dir, row[0], max_len=_NAME_MAX)
        rec = _read_json(path)
        if rec is None:
            raise StorageError(f"{path}: the index points to a missing file")
        return rec

    def records(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        """All readable record files (primary and alternates), read from disk; unreadable ones are logged."""
        for p in sorted(self.records_dir.glob("*.json")):
            try:
                rec = _read_json(p)
            except StorageError as exc:
                logger.error("%s", exc)
                continue
            if rec is not None:
                yield p, rec

    def dead_letters(self) -> builtins.list[dict[str, Any]]:
        """The dead-lettered messages' error records."""
        out = []
        for p in sorted(self.dead_letter_dir.glob("*.json")):
            rec = _try_read_json(p)
            if rec is not None:
                out.append(rec)
        return out

    def reindex(self) -> int:
        """Rebuild the sqlite index from the JSON files; returns the number of records indexed.

        A record that cannot be read or indexed is logged and skipped (listed in
        ``self.last_reindex.corrupt``), never aborting the rebuild; records without their raw
        message and raw files without a record are listed too (:class:`ReindexReport`).
        """
        report = ReindexReport()
        names = {p.name for p in self.records_dir.glob("*")} if self.records_dir.is_dir() else set()
        with self._lock, self._tx() as con:
            con.execute("DELETE FROM alerts")
            for p in sorted(self.records_dir.glob("*.json")):
                try:
                    rec = _read_json(p)
                    problem = "not a record" if not isinstance(rec, dict) else _record_problem(rec)
                    if problem is not None:
                        raise ValueError(problem)
                    assert rec is not None
                    self._index(con, p, rec, _ALT.search(p.name) is None)
                except (StorageError, ValueError, TypeError, KeyError, OverflowError, sqlite3.IntegrityError,
                        sqlite3.InterfaceError) as exc:
                    report.corrupt[p.name] = str(exc)
                    logger.error("reindex: skipped %s: %s", p, exc)
                    continue
                report.indexed += 1
                if p.name[: -len(".json")] + ".raw" not in names:
                    report.missing_raw.append(p.name)
        report.orphan_raw = sorted(n for n in names if n.endswith(".raw") and n[: -len(".raw")] + ".json" not in names)
        self.last_reindex = report
        return report.indexed

    def __len__(self) -> int:
        with self._tx() as con:
            return int(con.execute("SELECT COUNT(*) FROM alerts WHERE is_primary = 1").fetchone()[0])


def _writable(d: Path) -> bool:
    return os.access(d, os.W_OK | os.X_OK) and all(
        not (d / sub).exists() or os.access(d / sub, os.W_OK | os.X_OK) for sub in ("records", "dead_letter"))


def _record_problem(rec: dict[str, Any]) -> str | None:
    """Why a record cannot go into the index (None when it can)."""
    for key in ("event_key", "raw_sha256", "kind", "alert_type", "time"):
        if not isinstance(rec.get(key), str):
            return f"{key} is not a string"
    rev = rec.get("revision")
    if isinstance(rev, bool) or not isinstance(rev, int) or not 0 <= rev <= INT_MAX:
        return f"revision {str(rev)[:30]} is not an integer in [0, 2^63)"
    mjd = rec.get("mjd")
    if isinstance(mjd, bool) or not isinstance(mjd, (int, float)) or not math.isfinite(mjd):
        return f"mjd {str(mjd)[:30]} is not a finite number"
    for key in ("ra_deg", "dec_deg"):
        v = rec.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            return f"{key} is not a finite number"
    return None


def _create(path: Path, data: bytes | str) -> bool:
    """Atomically create ``path`` with ``data``; False (nothing written) when it already exists."""
    try:
        atomic_write(path, data, overwrite=False)
    except FileExistsError:
        return False
    except OSError as exc:
        raise StorageError(f"{path}: could not write: {exc}") from exc
    return True


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        raise StorageError(f"stored record {path} is unreadable: {type(exc).__name__}: {exc}") from None


def _try_read_json(path: Path) -> dict[str, Any] | None:
    try:
        rec = _read_json(path)
    except StorageError as exc:
        logger.error("%s", exc)
        return None
    return rec if isinstance(rec, dict) else None


def _mjd(t: Any, name: str) -> float:
    if isinstance(t, bool):
        raise InputError(f"argument '{name}': expected a time or an MJD, got a boolean", name)
    if isinstance(t, (int, float)):
        x = float(t)
        if not math.isfinite(x):
            raise InputError(f"argument '{name}': MJD must be finite", name)
        return x
    from ..coords import as_time

    return float(as_time(t, name).utc.mjd)
