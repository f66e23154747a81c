"""Scans as a service: the persisted scan state machine, in-process or on RabbitMQ workers.

States: ``queued -> running -> done | failed | cancelled`` (``cancel`` moves a queued scan to
``cancelled`` at once and a running one at its next batch).

Resume after SIGKILL
--------------------
The scan runs through :func:`icecore.scan.run_problem` with a checkpointing executor: every
batch of directions the refinement loop asks for is evaluated (by the fitter in-process, or by
:class:`icecore.scan.amqp.AMQPExecutor`'s workers), and its result is committed to the
``scan_batches`` table *before* the loop sees it. A restarted service re-queues scans whose
owner died; running one again replays the committed batches in order (the C++ driver asks for
the same batches, checked by a SHA-256 of each batch) and evaluates only the rest, so the
result is identical to an uninterrupted scan's, and no completed batch is fitted twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import time
import uuid
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..errors import InputError
from . import db
from .leases import LEASE_S, OWNER, owner_alive
from .products import ProductStore

__all__ = ["ScanManager", "ScanCancelled", "STATES", "event_from_dict", "settings_from_dict"]

log = logging.getLogger(__name__)

STATES = ("queued", "running", "done", "failed", "cancelled")


class ScanCancelled(Exception):
    """Raised inside a running scan when it was cancelled or deleted."""


def event_from_dict(event: dict[str, Any]) -> Any:
    """A scannable event from its documented JSON layout.

    ``{"synthetic_event": {...}}`` is a :class:`icecore.scan.SyntheticEvent`; anything else is
    an :class:`icecore.likelihood.Event` JSON (``Event.to_json`` layout: pulses, geometry, time).
    """
    from ..scan import SyntheticEvent

    if not isinstance(event, dict):
        raise InputError("argument 'event': expected a JSON object", "event")
    text = json.dumps(event)
    try:
        if "synthetic_event" in event:
            return SyntheticEvent.from_json(text)
        # the scan package reads likelihood events through this bridge (no public text loader yet)
        from ..scan.likelihood_bridge import likelihood_event_from_json

        return likelihood_event_from_json(text)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"argument 'event': not a valid event ({type(exc).__name__}: {exc})", "event") from None


def settings_from_dict(settings: dict[str, Any] | None) -> Any:
    """:class:`icecore.scan.ScanSettings` from the request's ``settings`` (validated)."""
    from ..scan import ScanSettings

    s = {k: v for k, v in (settings or {}).items() if k != "fitter_options"}
    allowed = {"nsides", "extensions", "llh_diff_threshold", "max_refine_radius_deg", "max_rounds_per_level"}
    unknown = set(s) - allowed
    if unknown:
        raise InputError(f"argument 'settings': unknown keys {sorted(unknown)}", "settings")
    if "nsides" in s:
        s["nsides"] = tuple(int(n) for n in s["nsides"])
    if "extensions" in s:
        s["extensions"] = tuple(float(e) for e in s["extensions"])
    return ScanSettings(**s)  # checks itself on construction


def _settings_dict(st: Any) -> dict[str, Any]:
    return {"nsides": [int(n) for n in st.nsides], "extensions": [float(e) for e in st.extensions],
            "llh_diff_threshold": st.llh_diff_threshold, "max_refine_radius_deg": float(st.max_refine_radius_deg),
            "max_rounds_per_level": int(st.max_rounds_per_level)}


def _pack(res: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, neg_llh=np.asarray(res["neg_llh"], float), vertex=np.asarray(res["vertex"], float),
             n_eval=np.asarray(res["n_eval"], np.int32), status=np.asarray(res["status"], np.int32))
    return buf.getvalue()


def _unpack(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data)) as z:
        return {k: z[k].copy() for k in ("neg_llh", "vertex", "n_eval", "status")}


def _batch_sha(batch: np.ndarray) -> str:
    """sha256 of a batch of tasks (a SCAN_TASK_DTYPE structured array, or a mapping of its fields)."""
    h = hashlib.sha256()
    names = batch.dtype.names if isinstance(batch, np.ndarray) and batch.dtype.names else tuple(batch)
    for k in ("level", "pixel", "zenith", "azimuth", "seeds"):
        if k in names:
            h.update(np.ascontiguousarray(batch[k]).tobytes())
    return h.hexdigest()


class _Checkpointer:
    """``Executor`` for :func:`icecore.scan.run_problem` that persists and replays batches."""

    def __init__(self, manager: ScanManager, scan_id: str, inner: Any, threads: int | None) -> None:
        self.manager, self.scan_id, self.inner, self.threads = manager, scan_id, inner, threads
        self.replayed = 0
        self.evaluated = 0

    def open(self, problem: Any) -> _CheckpointSession:
        return _CheckpointSession(self, problem)


class _CheckpointSession:
    def __init__(self, owner: _Checkpointer, problem: Any) -> None:
        self.o = owner
        self.problem = problem
        self.round = 0
        self.inner_session: Any = None
        t = db.scan_batches
        with owner.manager.db.begin() as conn:
            rows = conn.execute(sa.select(t.c.round, t.c.batch_sha256, t.c.data).where(t.c.scan_id == owner.scan_id)
                                .order_by(t.c.round)).all()
        self.stored = {int(r[0]): (r[1], bytes(r[2])) for r in rows}

    def evaluate(self, batch: np.ndarray) -> Any:
        m, sid = self.o.manager, self.o.scan_id
        self.round += 1
        sha = _batch_sha(batch)
        have = self.stored.get(self.round)
        if have is not None and have[0] == sha:
            self.o.replayed += 1
            return _unpack(have[1])
        if have is not None:  # pragma: no cover - only if the code changed between runs
            log.warning("scan %s round %d: stored batch differs; recomputing from here", sid, self.round)
            with m.db.begin() as conn:
                conn.execute(db.scan_batches.delete().where(db.scan_batches.c.scan_id == sid,
                                                            db.scan_batches.c.round >= self.round))
            self.stored = {k: v for k, v in self.stored.items() if k < self.round}
        m.check_cancel(sid)
        t0 = time.perf_counter()
        if self.o.inner is not None:
            if self.inner_session is None:
                self.inner_session = self.o.inner.open(self.problem)
            res = self.inner_session.evaluate(batch)
            worker = "amqp"
        else:
            res = self.problem.fitter.fit_batch(batch["zenith"], batch["azimuth"], batch["seeds"],
                                                threads=self.o.threads or 0, nside=int(batch["nside"][0]))
            worker = OWNER
        seconds = time.perf_counter() - t0
        level = int(batch["level"][0])
        m.record_batch(sid, self.round, level, int(len(batch["pixel"])), sha, _pack(res), seconds, worker)
        self.o.evaluated += 1
        m.after_batch(sid)
        return res

    def close(self) -> None:
        if self.inner_session is not None:
            self.inner_session.close()


class ScanManager:
    """Submits, runs, cancels and reports scans; state in the database, products on disk.

    Parameters
    ----------
    database : Database
    products : ProductStore
    threads : int or None
        In-process fitting threads.
    amqp_url : str or None
        When set, scans submitted with ``executor="amqp"`` (or all, by default) go to workers.
    workers : int
        Scans run concurrently by this process.
    plots : bool
        Write PNG plots with the result (when matplotlib is installed).
    """

    def __init__(self, database: db.Database, products: ProductStore, *, threads: int | None = None,
                 amqp_url: str | None = None, workers: int = 1, poll_interval_s: float = 0.2,
                 plots: bool = True, amqp_queue: str = "icecore.scan.tasks") -> None:
        self.db = database
        self.products = products
        self.threads = threads
        self.amqp_url = amqp_url
        self.amqp_queue = amqp_queue
        self.n_workers = int(workers)
        self.poll = float(poll_interval_s)
        self.plots = bool(plots)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.owner = OWNER
        self.stats = {"submitted": 0, "completed": 0, "failed": 0, "cancelled": 0, "batches_replayed": 0,
                      "batches_evaluated": 0}

    # ------------------------------------------------------------------ submit / query
    def submit(self, event: dict[str, Any], settings: dict[str, Any] | None = None, *, executor: str | None = None,
               alert_key: str | None = None, fitter_options: dict[str, Any] | None = None) -> str:
        """Validate and queue a scan; returns its id (committed before returning).

        ``fitter_options`` go to the photon-likelihood fitter (e.g. ``{"n_ring": 0}``: one vertex
        seed per pixel instead of seven).
        """
        from ..scan import make_problem

        ev = event_from_dict(event)
        st = settings_from_dict(settings)
        executor = executor or ("amqp" if self.amqp_url else "in-process")
        if executor not in ("in-process", "amqp"):
            raise InputError("argument 'executor': 'in-process' or 'amqp'", "executor")
        if executor == "amqp" and not self.amqp_url:
            raise InputError("argument 'executor': this service has no RabbitMQ (start it with --amqp)", "executor")
        opts = dict(fitter_options or {})
        try:
            json.dumps(opts)
        except TypeError:
            raise InputError("argument 'fitter_options': must be JSON", "fitter_options") from None
        problem = make_problem(ev, fitter_options=opts or None)  # validates the event fully
        text = json.dumps(event, sort_keys=True)
        sid = uuid.uuid4().hex
        with self.db.begin() as conn:
            conn.execute(db.scans.insert().values(
                id=sid, run_id=int(problem.meta.get("run_id", 0)), event_id=int(problem.meta.get("event_id", 0)),
                event_kind="synthetic" if "synthetic_event" in event else "likelihood", status="queued",
                cancel_requested=False, executor=executor, event_json=text,
                event_sha256=hashlib.sha256(text.encode()).hexdigest(),
                settings_json=db.dumps({**_settings_dict(st), "fitter_options": opts}),
                progress_json=db.dumps({"levels": [], "rounds": 0}), attempts=0, alert_key=alert_key,
                created_at=time.time()))
        self.stats["submitted"] += 1
        self._wake.set()
        return sid

    def get(self, scan_id: str) -> dict[str, Any] | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(db.scans).where(db.scans.c.id == scan_id)).mappings().first()
        return None if row is None else dict(row)

    def list(self, *, run_id: int | None = None, event_id: int | None = None, status: str | None = None,
             alert_key: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        t = db.scans
        q = sa.select(t.c.id, t.c.run_id, t.c.event_id, t.c.status, t.c.executor, t.c.created_at, t.c.started_at,
                      t.c.finished_at, t.c.alert_key, t.c.progress_json, t.c.settings_json)
        if run_id is not None:
            q = q.where(t.c.run_id == run_id)
        if event_id is not None:
            q = q.where(t.c.event_id == event_id)
        if status is not None:
            q = q.where(t.c.status == status)
        if alert_key is not None:
            q = q.where(t.c.alert_key == alert_key)
        q = q.order_by(t.c.created_at.desc()).limit(limit).offset(offset)
        with self.db.begin() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def manifest(self, scan_id: str) -> dict[str, Any] | None:
        """Status, progress per nside level (pixels, batches, seconds), workers, timings, errors."""
        row = self.get(scan_id)
        if row is None:
            return None
        t = db.scan_batches
        with self.db.begin() as conn:
            batches = conn.execute(sa.select(t.c.level, t.c.nside, t.c.pixels, t.c.seconds, t.c.worker)
                                   .where(t.c.scan_id == scan_id).order_by(t.c.round)).all()
        st = db.loads(row["settings_json"])
        levels = [{"level": k, "nside": int(n), "pixels": 0, "batches": 0, "seconds": 0.0}
                  for k, n in enumerate(st["nsides"])]
        workers: set[str] = set()
        for lev, _ns, px, sec, wk in batches:
            levels[lev]["pixels"] += int(px)
            levels[lev]["batches"] += 1
            levels[lev]["seconds"] = round(levels[lev]["seconds"] + float(sec), 4)
            if wk:
                workers.add(str(wk))
        prog = db.loads(row["progress_json"]) or {}
        now = time.time()
        end = row["finished_at"] or now
        started = row["started_at"]
        return {
            "id": row["id"], "status": row["status"], "run_id": row["run_id"], "event_id": row["event_id"],
            "event_kind": row["event_kind"], "executor": row["executor"], "settings": st,
            "cancel_requested": bool(row["cancel_requested"]), "alert_key": row["alert_key"],
            "progress": {"levels": levels, "batches": len(batches),
                         "pixels": sum(lv["pixels"] for lv in levels),
                         "current_level": max((b[0] for b in batches), default=None),
                         "replayed_batches": prog.get("replayed", 0)},
            "workers": sorted(workers) + list(prog.get("amqp_workers", [])),
            "attempts": row["attempts"],
            "timings": {"created_at": row["created_at"], "started_at": row["started_at"],
                        "finished_at": row["finished_at"],
                        "queued_s": None if started is None else round(started - row["created_at"], 4),
                        "running_s": None if started is None else round(end - started, 4)},
            "error": row["error"], "product_id": row["product_id"],
        }

    # ------------------------------------------------------------------ cancel / delete
    def cancel(self, scan_id: str) -> str | None:
        """Cancel; returns the new status (None: no such scan)."""
        t = db.scans
        with self.db.begin() as conn:
            row = conn.execute(sa.select(t.c.status).where(t.c.id == scan_id)).first()
            if row is None:
                return None
            if row[0] == "queued":
                conn.execute(t.update().where(t.c.id == scan_id, t.c.status == "queued")
                             .values(status="cancelled", cancel_requested=True, finished_at=time.time()))
                return "cancelled"
            if row[0] == "running":
                conn.execute(t.update().where(t.c.id == scan_id).values(cancel_requested=True))
                return "running"
            return str(row[0])

    def delete(self, scan_id: str) -> bool:
        """Delete a scan, its checkpoints and its products (a running one stops at its next batch)."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(db.scans.c.product_id).where(db.scans.c.id == scan_id)).first()
            if row is None:
                return False
            conn.execute(db.scan_batches.delete().where(db.scan_batches.c.scan_id == scan_id))
            conn.execute(db.scans.delete().where(db.scans.c.id == scan_id))
            if row[0]:
                self.products.delete(conn, row[0])
        return True

    def check_cancel(self, scan_id: str) -> None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(db.scans.c.cancel_requested).where(db.scans.c.id == scan_id)).first()
        if row is None or row[0]:
            raise ScanCancelled(scan_id)

    # ------------------------------------------------------------------ checkpoints
    def record_batch(self, scan_id: str, rnd: int, level: int, pixels: int, sha: str, data: bytes, seconds: float,
                     worker: str) -> None:
        st = self.get(scan_id)
        if st is None:
            raise ScanCancelled(scan_id)
        nside = int(db.loads(st["settings_json"])["nsides"][level])
        with self.db.begin() as conn:
            conn.execute(db.scan_batches.insert().values(
                scan_id=scan_id, round=rnd, level=level, nside=nside, pixels=pixels, batch_sha256=sha, data=data,
                seconds=round(seconds, 4), worker=worker, created_at=time.time()))
            conn.execute(db.scans.update().where(db.scans.c.id == scan_id).values(heartbeat_at=time.time()))

    def after_batch(self, scan_id: str) -> None:
        """Hook after each committed batch (tests use it to kill the process mid-scan)."""
        hook = os.environ.get("ICECORE_SERVICE_TEST_KILL_AFTER_BATCHES")
        if hook:
            t = db.scan_batches
            with self.db.begin() as conn:
                n = conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.scan_id == scan_id)).scalar()
            if int(n or 0) >= int(hook):
                os.kill(os.getpid(), 9)

    # ------------------------------------------------------------------ running
    def recover(self) -> int:
        """Re-queue running scans whose owner is gone (dead process here, or an expired lease)."""
        t = db.scans
        n = 0
        now = time.time()
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.owner, t.c.heartbeat_at).where(t.c.status == "running")).all()
            for sid, owner, hb in rows:
                expired = hb is not None and now - float(hb) > LEASE_S
                if owner == self.owner:
                    continue
                if expired or not owner_alive(owner):
                    conn.execute(t.update().where(t.c.id == sid, t.c.status == "running")
                                 .values(status="queued", owner=None))
                    log.info("scan %s: owner %s gone; re-queued (resumes from its checkpoints)", sid, owner)
                    n += 1
        return n

    def claim(self) -> str | None:
        """Take the oldest queued scan (atomic across processes); returns its id."""
        t = db.scans
        with self.db.begin() as conn:
            ids = [r[0] for r in conn.execute(sa.select(t.c.id).where(t.c.status == "queued")
                                              .order_by(t.c.created_at).limit(8))]
            for sid in ids:
                res = conn.execute(t.update().where(t.c.id == sid, t.c.status == "queued").values(
                    status="running", owner=self.owner, heartbeat_at=time.time(),
                    started_at=sa.func.coalesce(t.c.started_at, time.time()), attempts=t.c.attempts + 1))
                if res.rowcount == 1:
                    return sid
        return None

    def run_one(self, scan_id: str) -> str:
        """Run (or resume) one claimed scan to its end state; returns that state."""
        from ..scan import make_problem, run_problem

        row = self.get(scan_id)
        if row is None:
            return "deleted"
        try:
            event = event_from_dict(json.loads(row["event_json"]))
            settings = settings_from_dict(db.loads(row["settings_json"]))
            problem = make_problem(event, fitter_options=db.loads(row["settings_json"]).get("fitter_options") or None)
            inner = None
            if row["executor"] == "amqp":
                from ..scan.amqp import AMQPExecutor

                inner = AMQPExecutor(self.amqp_url or "", queue=self.amqp_queue)
            ck = _Checkpointer(self, scan_id, inner, self.threads)
            result = run_problem(problem, settings, executor=ck, threads=self.threads, progress=False)
            self.stats["batches_replayed"] += ck.replayed
            self.stats["batches_evaluated"] += ck.evaluated
            amqp_workers = list(getattr(inner, "last_stats", {}).get("workers", [])) if inner else []
            self.check_cancel(scan_id)
            product = self._publish(row, result)
            self._finish(scan_id, "done", product_id=product["id"],
                         progress={"replayed": ck.replayed, "evaluated": ck.evaluated, "amqp_workers": amqp_workers})
            self.stats["completed"] += 1
            return "done"
        except ScanCancelled:
            if self.get(scan_id) is None:
                return "deleted"
            self._finish(scan_id, "cancelled")
            self.stats["cancelled"] += 1
            return "cancelled"
        except Exception as exc:
            log.exception("scan %s failed", scan_id)
            self._finish(scan_id, "failed", error=f"{type(exc).__name__}: {exc}")
            self.stats["failed"] += 1
            return "failed"

    def _publish(self, row: dict[str, Any], result: Any) -> dict[str, Any]:
        from .._optional import available
        from ..scan.products import write_products

        settings = db.loads(row["settings_json"])
        plots = self.plots and available("matplotlib")

        def write(directory: Any) -> list[Any]:
            summary = write_products(result, directory, plots=plots)
            return [p for p in map(_as_path, summary["files"]) if p.name != "summary.json"]

        return self.products.publish(
            "scan", row["id"], inputs={"event_sha256": row["event_sha256"]},
            parameters={"settings": settings, "executor": row["executor"]}, summary=None, write=write, reuse=False)

    def _finish(self, scan_id: str, status: str, *, product_id: str | None = None, error: str | None = None,
                progress: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": time.time(), "owner": None}
        if product_id is not None:
            values["product_id"] = product_id
        if error is not None:
            values["error"] = error[:4000]
        if progress is not None:
            values["progress_json"] = db.dumps(progress)
        with self.db.begin() as conn:
            conn.execute(db.scans.update().where(db.scans.c.id == scan_id).values(**values))

    def _loop(self) -> None:
        while not self._stop.is_set():
            sid = None
            try:
                sid = self.claim()
            except Exception:  # pragma: no cover - database down: retry
                log.exception("claiming a scan failed")
            if sid is None:
                self._wake.wait(self.poll)
                self._wake.clear()
                continue
            self.run_one(sid)

    def start(self) -> None:
        """Recover orphaned scans and start the worker threads."""
        self.recover()
        for i in range(self.n_workers):
            th = threading.Thread(target=self._loop, name=f"icecore-scan-{i}", daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for th in self._threads:
            th.join(timeout)
        self._threads.clear()

    def wait(self, scan_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the scan reaches an end state (for scripts and tests)."""
        t0 = time.monotonic()
        while True:
            row = self.get(scan_id)
            if row is None:
                raise KeyError(scan_id)
            if row["status"] in ("done", "failed", "cancelled"):
                return row
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"scan {scan_id} still {row['status']} after {timeout} s")
            time.sleep(0.05)

    def queue_depth(self) -> dict[str, int]:
        t = db.scans
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(t.c.status, sa.func.count()).group_by(t.c.status)).all()
        out = {s: 0 for s in STATES}
        out.update({str(s): int(n) for s, n in rows})
        return out


def _as_path(p: Any) -> Any:
    from pathlib import Path

    return Path(p)
