"""The alert pipeline: store each alert, plan its follow-ups, run them, publish their products.

Flow: a notice (Kafka listener or ``POST /api/alerts``) is parsed and stored by
:class:`icecore.alerts.AlertStore` (idempotent); :meth:`Orchestrator.record` then writes the
alert row and its plan (one ``plan_steps`` row per step) in one transaction, *before* the
listener commits the Kafka offset, so a crash at any point re-reads the message and the same
alert twice plans once. A background loop claims pending steps (atomically: several processes
may share the database), runs them and publishes each product (:mod:`.products`). A step killed
mid-run is re-queued when its owner is found dead; the product store reuses a product whose
inputs are unchanged, so re-running never duplicates.

The plan of an IceCube track or cascade alert
--------------------------------------------
``significance``  the stored p-value/FAR route with the configured trials factor;
``association``   catalogue sources in the 90 % region, with chance probabilities (:mod:`.catalogues`);
``ps_followup``   the point-source follow-up in fixed windows on public data (icecore.ps, :mod:`.followup`),
                  at the alert position and over its 90 % error circle (trials with the same maximisation);
``scan``          when an event file is submitted for the alert (``POST /api/alerts/{key}/event``).

IceCube's LVK coincidence notices (``lvk_nu_track_search``) get ``significance`` only. LVK GW
alerts themselves (``igwn.gwalert`` JSON, LVK VOEvents: :mod:`.lvk`) get ``lvk_followup``: the
LVK follow-up (:mod:`icecore.lvk`, through :func:`.followup.run_lvk_followup`) on the configured
neutrino events, products notice JSON, circular text, sky-map plot and summary.

A revision re-plans; steps whose inputs did not change reuse the earlier product. A
retraction marks the alert, its plan and its products retracted and cancels its scans.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..errors import InputError, ParseError
from . import db
from .config import ServiceConfig
from .leases import LEASE_S, OWNER, owner_alive
from .lvk import LVK_KIND, is_lvk_topic
from .products import ProductStore, input_hash

__all__ = ["Orchestrator", "TRACK_KINDS", "plan_for"]

log = logging.getLogger(__name__)

TRACK_KINDS = ("gold", "bronze", "cascade", "hese")
_DONE = ("done", "skipped", "failed", "retracted")


def plan_for(record: dict[str, Any], config: ServiceConfig) -> list[str]:
    """The follow-up steps of one stored alert record."""
    if record["alert_type"] == "retraction":
        return []
    steps = ["significance"]
    if record["kind"] in TRACK_KINDS and record.get("ra_deg") is not None:
        if config.catalogues:
            steps.append("association")
        if config.ps_data is not None:
            steps.append("ps_followup")
    if record["kind"] == LVK_KIND:
        return ["lvk_followup"]
    return steps


def _iso_mjd(iso: str | None) -> float:
    from astropy.time import Time

    if not iso:
        return float(Time.now().mjd)
    return float(Time(iso.rstrip("Z"), scale="utc").mjd)


def _position(rec: dict[str, Any]) -> dict[str, Any]:
    return {"ra_deg": rec.get("ra_deg"), "dec_deg": rec.get("dec_deg"), "error90_deg": rec.get("error90_deg"),
            "error_rect_deg": rec.get("error_rect_deg")}


class Orchestrator:
    """Plans and runs alert follow-ups (see the module docstring)."""

    def __init__(self, config: ServiceConfig, database: db.Database, products: ProductStore, scans: Any) -> None:
        from ..alerts import AlertStore

        self.config = config
        self.db = database
        self.products = products
        self.scans = scans
        self.store = AlertStore(config.alerts_dir)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._catalogues: dict[str, Any] | None = None
        self._ps_data: Any = None
        self._lvk: tuple[Any, Any] | None = None
        self._hashes: dict[tuple[str, int, int], str] = {}
        self.stats: dict[str, int] = {"received": 0, "planned": 0, "duplicates": 0, "dead_lettered": 0,
                                      "steps_done": 0, "steps_failed": 0}
        #: seconds from receiving an alert revision to its last product (the last 1000)
        self.latencies: list[float] = []

    # ------------------------------------------------------------------ ingestion
    def ingest(self, raw: bytes, *, topic: str | None = None) -> dict[str, Any]:
        """Parse, store and plan one notice. Raises ParseError (after dead-lettering it)."""
        from ..alerts import parse, process
        from .lvk import parse_lvk

        if is_lvk_topic(topic, self.config.lvk_topics):
            return self.ingest_lvk(raw, topic=topic)
        self.stats["received"] += 1
        try:
            alert = parse(raw, topic=topic)
        except ParseError as exc:
            try:  # an LVK GW alert posted without its topic
                lvk = parse_lvk(bytes(raw), self.config.lvk_skymap_dir)
            except Exception:  # noqa: BLE001 - not an LVK alert either: dead-lettered with the first error
                lvk = None
            if lvk is not None:
                self.stats["received"] -= 1
                return self.ingest_lvk(raw, topic=topic, alert=lvk)
            self.store.dead_letter(bytes(raw), str(exc), topic=topic)
            self.stats["dead_lettered"] += 1
            raise
        stored = process(alert, n_trials=self.config.n_trials, store=self.store)
        return self.record(stored)

    def _on_stored(self, result: Any, msg: Any) -> None:
        from ..alerts import StoredAlert

        self.stats["received"] += 1
        if isinstance(result, StoredAlert):
            self.record(result)
        else:
            self.stats["dead_lettered"] += 1

    def listen(self, *, stop: threading.Event | None = None, **kw: Any) -> Any:
        """Run the Kafka listener (:func:`icecore.alerts.listen`) into this orchestrator."""
        from ..alerts import listen
        from ..alerts.kafka import DEFAULT_TOPICS
        from .lvk import RoutingConsumer, gcn_consumer_factory

        topics = tuple(self.config.kafka_topics or DEFAULT_TOPICS)
        topics += tuple(t for t in self.config.lvk_topics if t not in topics)
        make = kw.pop("consumer_factory", None) or gcn_consumer_factory

        def factory(*args: Any) -> Any:
            return RoutingConsumer(make(*args), self._lvk_message, self.config.lvk_topics)

        return listen(self.store, topics, group_id=self.config.kafka_group_id, config=dict(self.config.kafka or {}),
                      stop=stop, handle_signals=False, n_trials=self.config.n_trials, on_stored=self._on_stored,
                      consumer_factory=factory, **kw)

    def _lvk_message(self, raw: bytes, topic: str) -> None:
        self.ingest_lvk(raw, topic=topic)

    def ingest_lvk(self, raw: bytes, *, topic: str | None = None, alert: Any = None) -> dict[str, Any]:
        """Store and plan one LVK GW alert (idempotent by content). Raises ParseError (dead-lettered)."""
        from ..errors import StorageError
        from .lvk import lvk_record, parse_lvk, store_raw

        raw = bytes(raw)
        self.stats["received"] += 1
        if alert is None:
            try:
                alert = parse_lvk(raw, self.config.lvk_skymap_dir)
            except ParseError as exc:
                self.store.dead_letter(raw, str(exc), topic=topic)
                self.stats["dead_lettered"] += 1
                raise
        try:
            sha, rel = store_raw(self.config.data_dir, alert.superevent_id, raw)
        except OSError as exc:
            raise StorageError(f"cannot store the LVK alert {alert.superevent_id}: {exc}") from exc
        key = f"gw_{alert.superevent_id}"
        t = db.alerts
        for _ in range(5):  # a concurrent writer may take the revision number: count again
            with self.db.begin() as conn:
                dup = conn.execute(sa.select(t.c.event_key, t.c.revision).where(t.c.raw_sha256 == sha)).first()
                if dup is not None:
                    self.stats["duplicates"] += 1
                    return {"event_key": dup[0], "revision": int(dup[1]), "created": False, "primary": True}
                prev = conn.execute(sa.select(t.c.revision, t.c.mjd).where(t.c.event_key == key)
                                    .order_by(t.c.revision.desc())).all()
            mjd = alert.time_mjd if alert.time_mjd is not None else (
                float(prev[0][1]) if prev else _iso_mjd(alert.notice_time_iso))
            from astropy.time import Time

            rec = lvk_record(alert, sha, rel, revision=len(prev), mjd=mjd,
                             time_iso=Time(mjd, format="mjd", scale="utc").isot + "Z")
            out = self._insert(rec, existing_is_duplicate=False)
            if out is not None:
                return out
        raise StorageError(f"could not record the LVK alert {key}: revision numbers kept changing")

    def record(self, stored: Any) -> dict[str, Any]:
        """Write the alert row and its plan (idempotent); returns ``{"event_key", "revision", "created"}``."""
        rec = stored.record
        if not stored.primary:  # another format of an already stored (event, revision)
            self.stats["duplicates"] += 1
            return {"event_key": rec["event_key"], "revision": int(rec["revision"]), "created": False,
                    "primary": False}
        out = self._insert(rec)
        if out is None:  # another process recorded it first
            self.stats["duplicates"] += 1
            return {"event_key": rec["event_key"], "revision": int(rec["revision"]), "created": False, "primary": True}
        return out

    def _insert(self, rec: dict[str, Any], *, existing_is_duplicate: bool = True) -> dict[str, Any] | None:
        """Insert the alert row and its plan; the outcome, or None when another writer won a race.

        An existing (event, revision) row is a duplicate (``existing_is_duplicate``) or, for LVK
        alerts whose revision is counted here, a race lost (None: count again).
        """
        key, rev = rec["event_key"], int(rec["revision"])
        out = {"event_key": key, "revision": rev, "created": False, "primary": True}
        now = time.time()
        try:
            with self.db.begin() as conn:
                if conn.execute(sa.select(db.alerts.c.status).where(db.alerts.c.event_key == key,
                                                                    db.alerts.c.revision == rev)).first():
                    if not existing_is_duplicate:
                        return None
                    self.stats["duplicates"] += 1
                    return out
                retracted = rec["alert_type"] == "retraction" or bool(conn.execute(
                    sa.select(db.alerts.c.event_key).where(db.alerts.c.event_key == key,
                                                           db.alerts.c.retracted.is_(True)).limit(1)).first())
                steps = [] if retracted else plan_for(rec, self.config)
                conn.execute(db.alerts.insert().values(
                    event_key=key, revision=rev, raw_sha256=rec["raw_sha256"], kind=rec["kind"],
                    event_name=rec.get("event_name"), alert_type=rec["alert_type"], test=bool(rec["test"]),
                    mjd=float(rec["mjd"]), time=rec["time"], ra_deg=rec.get("ra_deg"), dec_deg=rec.get("dec_deg"),
                    error90_deg=rec.get("error90_deg"), record_json=db.dumps(rec),
                    status="retracted" if retracted else ("pending" if steps else "done"), retracted=retracted,
                    received_at=now, updated_at=now))
                for step in steps:
                    conn.execute(db.plan_steps.insert().values(
                        event_key=key, revision=rev, step=step, status="pending",
                        input_hash=self._step_hash(step, rec), attempts=0, created_at=now, updated_at=now))
                if rec["alert_type"] == "retraction":
                    self._retract(conn, key)
        except IntegrityError:  # another process recorded it first
            return None
        self.stats["planned"] += 1
        self._wake.set()
        return {**out, "created": True, "steps": steps}

    def _retract(self, conn: Any, key: str) -> None:
        conn.execute(db.alerts.update().where(db.alerts.c.event_key == key).values(
            retracted=True, status="retracted", updated_at=time.time()))
        conn.execute(db.plan_steps.update().where(db.plan_steps.c.event_key == key,
                                                  db.plan_steps.c.status.in_(("pending", "waiting")))
                     .values(status="retracted", updated_at=time.time()))
        for (pid,) in conn.execute(sa.select(db.products.c.id).where(db.products.c.subject == key)).all():
            self.products.retract(conn, pid)
        for (sid,) in conn.execute(sa.select(db.scans.c.id).where(db.scans.c.alert_key == key,
                                                                  db.scans.c.status.in_(("queued", "running")))).all():
            conn.execute(db.scans.update().where(db.scans.c.id == sid).values(cancel_requested=True))
            conn.execute(db.scans.update().where(db.scans.c.id == sid, db.scans.c.status == "queued")
                         .values(status="cancelled", finished_at=time.time()))
        log.info("alert %s retracted", key)

    # ------------------------------------------------------------------ scans for alerts
    def submit_event(self, key: str, event: dict[str, Any], settings: dict[str, Any] | None = None,
                     executor: str | None = None, fitter_options: dict[str, Any] | None = None) -> str:
        """Queue a scan of ``event`` for the alert ``key`` (its latest revision's ``scan`` step)."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(db.alerts.c.revision, db.alerts.c.retracted)
                               .where(db.alerts.c.event_key == key)
                               .order_by(db.alerts.c.revision.desc()).limit(1)).first()
        if row is None:
            raise KeyError(key)
        if row[1]:
            raise InputError(f"argument 'event_key': alert {key!r} is retracted", "event_key")
        sid = self.scans.submit(event, settings, executor=executor, alert_key=key, fitter_options=fitter_options)
        now = time.time()
        with self.db.begin() as conn:
            t = db.plan_steps
            conn.execute(t.delete().where(t.c.event_key == key, t.c.revision == row[0], t.c.step == "scan"))
            conn.execute(t.insert().values(event_key=key, revision=row[0], step="scan", status="waiting",
                                           input_hash=hashlib.sha256(sid.encode()).hexdigest(), scan_id=sid,
                                           attempts=0, created_at=now, updated_at=now))
            conn.execute(db.alerts.update().where(db.alerts.c.event_key == key, db.alerts.c.revision == row[0])
                         .values(status="pending", updated_at=now))
        return sid

    def rerun(self, key: str) -> int | None:
        """Re-queue the failed steps of the latest revision of ``key`` (None: no such alert)."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(db.alerts.c.revision, db.alerts.c.retracted)
                               .where(db.alerts.c.event_key == key)
                               .order_by(db.alerts.c.revision.desc()).limit(1)).first()
            if row is None:
                return None
            if row[1]:
                raise InputError(f"argument 'event_key': alert {key!r} is retracted", "event_key")
            t = db.plan_steps
            res = conn.execute(t.update().where(t.c.event_key == key, t.c.revision == row[0], t.c.status == "failed",
                                                t.c.step != "scan").values(status="pending", updated_at=time.time()))
            if res.rowcount:
                conn.execute(db.alerts.update().where(db.alerts.c.event_key == key, db.alerts.c.revision == row[0])
                             .values(status="pending", updated_at=time.time()))
        self._wake.set()
        return int(res.rowcount)

    def _sync_scans(self) -> None:
        t = db.plan_steps
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(t.c.event_key, t.c.revision, t.c.scan_id).where(
                t.c.step == "scan", t.c.status == "waiting")).all()
            for key, rev, sid in rows:
                s = conn.execute(sa.select(db.scans.c.status, db.scans.c.product_id, db.scans.c.error)
                                 .where(db.scans.c.id == sid)).first()
                if s is None or s[0] in ("done", "failed", "cancelled"):
                    status = "failed" if s is None else {"done": "done", "failed": "failed",
                                                         "cancelled": "skipped"}[s[0]]
                    conn.execute(t.update().where(t.c.event_key == key, t.c.revision == rev, t.c.step == "scan")
                                 .values(status=status, product_id=None if s is None else s[1],
                                         error=None if s is None else s[2], updated_at=time.time()))
                    if status == "done":  # the association is re-run on the scan's contour
                        res = conn.execute(t.update().where(
                            t.c.event_key == key, t.c.revision == rev, t.c.step == "association",
                            t.c.status.in_(("done", "failed", "skipped")))
                            .values(status="pending", updated_at=time.time()))
                        if res.rowcount:
                            conn.execute(db.alerts.update().where(db.alerts.c.event_key == key,
                                                                  db.alerts.c.revision == rev)
                                         .values(status="pending", updated_at=time.time()))
                            self._wake.set()
                    self._maybe_finish(conn, key, rev)

    # ------------------------------------------------------------------ running steps
    def recover(self) -> int:
        t = db.plan_steps
        n = 0
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(t.c.event_key, t.c.revision, t.c.step, t.c.owner, t.c.updated_at)
                                .where(t.c.status == "running")).all()
            for key, rev, step, owner, upd in rows:
                if owner != OWNER and (not owner_alive(owner) or time.time() - float(upd) > LEASE_S):
                    conn.execute(t.update().where(t.c.event_key == key, t.c.revision == rev, t.c.step == step,
                                                  t.c.status == "running").values(status="pending", owner=None))
                    n += 1
        return n

    def claim(self) -> tuple[str, int, str] | None:
        t = db.plan_steps
        with self.db.begin() as conn:
            rows = conn.execute(sa.select(t.c.event_key, t.c.revision, t.c.step).where(t.c.status == "pending")
                                .order_by(t.c.created_at).limit(16)).all()
            for key, rev, step in rows:
                res = conn.execute(t.update().where(t.c.event_key == key, t.c.revision == rev, t.c.step == step,
                                                    t.c.status == "pending")
                                   .values(status="running", owner=OWNER, attempts=t.c.attempts + 1,
                                           updated_at=time.time()))
                if res.rowcount == 1:
                    return key, int(rev), step
        return None

    def run_step(self, key: str, rev: int, step: str) -> str:
        with self.db.begin() as conn:
            a = conn.execute(sa.select(db.alerts).where(db.alerts.c.event_key == key, db.alerts.c.revision == rev)
                             ).mappings().first()
        if a is None:
            return "failed"
        rec = db.loads(a["record_json"])
        status, product_id, error = "done", None, None
        if a["retracted"]:
            status = "retracted"
        else:
            try:
                before = self._step_hash(step, rec)
                product = getattr(self, f"_step_{step}")(rec)
                if product is None:
                    status, error = "skipped", f"{step}: not available in this installation"
                else:
                    product_id = product["id"]
                    self.stats["steps_done"] += 1
                    self._kill_hook("ICECORE_SERVICE_TEST_KILL_IN_STEP")  # product published, step not marked
                    if self._step_hash(step, rec) != before:  # e.g. a scan finished meanwhile: run again
                        status = "pending"
            except Exception as exc:
                log.exception("alert %s rev %d step %s failed", key, rev, step)
                status, error = "failed", f"{type(exc).__name__}: {exc}"
                self.stats["steps_failed"] += 1
        with self.db.begin() as conn:
            conn.execute(db.plan_steps.update().where(
                db.plan_steps.c.event_key == key, db.plan_steps.c.revision == rev, db.plan_steps.c.step == step)
                .values(status=status, product_id=product_id, error=error, owner=None, updated_at=time.time()))
            retracted = conn.execute(sa.select(db.alerts.c.retracted).where(
                db.alerts.c.event_key == key, db.alerts.c.revision == rev)).scalar()
            if retracted and product_id:  # retracted while running
                self.products.retract(conn, product_id)
            self._maybe_finish(conn, key, rev)
        self._kill_hook("ICECORE_SERVICE_TEST_KILL_AFTER_STEPS")
        return status

    def _kill_hook(self, name: str) -> None:
        """Tests: SIGKILL this process once ``steps_done`` reaches the value of the variable ``name``."""
        hook = os.environ.get(name)
        if hook and self.stats["steps_done"] >= int(hook):
            os.kill(os.getpid(), 9)

    def _maybe_finish(self, conn: Any, key: str, rev: int) -> None:
        t = db.plan_steps
        states = [r[0] for r in conn.execute(sa.select(t.c.status).where(t.c.event_key == key, t.c.revision == rev))]
        if states and all(s in _DONE for s in states):
            a = conn.execute(sa.select(db.alerts.c.retracted, db.alerts.c.received_at).where(
                db.alerts.c.event_key == key, db.alerts.c.revision == rev)).first()
            final = "retracted" if a and a[0] else ("failed" if "failed" in states else "done")
            conn.execute(db.alerts.update().where(db.alerts.c.event_key == key, db.alerts.c.revision == rev)
                         .values(status=final, updated_at=time.time()))
            if a is not None and "scan" not in [r[0] for r in conn.execute(  # alert -> products, scans excluded
                    sa.select(t.c.step).where(t.c.event_key == key, t.c.revision == rev))]:
                self.latencies.append(time.time() - float(a[1]))
                del self.latencies[:-1000]

    # ------------------------------------------------------------------ the steps
    def _step_hash(self, step: str, rec: dict[str, Any]) -> str:
        inputs, params = self._inputs(step, rec)
        return input_hash(inputs, params)

    def _inputs(self, step: str, rec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        cfg = self.config
        if step == "significance":
            return ({"far_per_year": rec.get("far_per_year"), "pval_generic": rec.get("pval_generic"),
                     "kind": rec["kind"]}, {"n_trials": cfg.n_trials, "sided": 1, "far_window_years": 1.0})
        if step == "association":
            scan = self._scan_product(rec["event_key"])
            inputs = _position(rec)
            if scan is not None:  # the scan's contour replaces the notice's region
                inputs["scan_product"] = {"id": scan["id"], "input_hash": scan["input_hash"]}
            return (inputs, {"catalogues": {k: str(v) for k, v in sorted(cfg.catalogues.items())},
                             "density_band_deg": 10.0, **({"contour": "90", "convention": "wilks"} if scan else {})})
        if step == "ps_followup":
            return ({**_position(rec), "mjd": rec["mjd"]},
                    {"data": str(cfg.ps_data), "windows_s": [list(w) for w in cfg.windows_s],
                     "n_trials": cfg.ps_trials, "method": "icecore.ps.FlareSearch.fit_window",
                     "error_region": "max TS over a hexagonal grid in the 90% circle, step r90/2, same in trials"})
        if step == "lvk_followup":
            return ({"raw_sha256": rec["raw_sha256"], "superevent_id": rec["superevent_id"],
                     "alert_type": rec["alert_type"], "events": self._file_hash(cfg.lvk_events)},
                    {"background": str(cfg.lvk_background), "nside": cfg.lvk_nside, "n_trials": cfg.lvk_trials,
                     "skymap_dir": None if cfg.lvk_skymap_dir is None else str(cfg.lvk_skymap_dir)})
        return ({"event_key": rec["event_key"]}, {})

    def _file_hash(self, path: Path | None) -> str | None:
        if path is None:
            return None
        from .products import sha256_file

        st = Path(path).stat()
        k = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            if k not in self._hashes:
                self._hashes[k] = sha256_file(path)
            return self._hashes[k]

    def _publish(self, step: str, rec: dict[str, Any], summary: dict[str, Any],
                 releases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        inputs, params = self._inputs(step, rec)
        return self.products.publish(step, rec["event_key"], inputs=inputs, parameters=params, summary=summary,
                                     data_releases=releases)

    def _step_significance(self, rec: dict[str, Any]) -> dict[str, Any]:
        sig = rec.get("significance")
        summary = {"event_key": rec["event_key"], "revision": rec["revision"], "far_per_year": rec.get("far_per_year"),
                   "pval_generic": rec.get("pval_generic"), "signalness": rec.get("signalness"),
                   "significance": sig, "available": sig is not None}
        return self._publish("significance", rec, summary)

    def _cats(self) -> dict[str, Any]:
        with self._lock:
            if self._catalogues is None:
                from .catalogues import read_sources

                self._catalogues = {name: read_sources(path, name) for name, path in self.config.catalogues.items()}
            return self._catalogues

    def _scan_product(self, key: str) -> dict[str, Any] | None:
        """The product of the newest finished scan of the alert ``key`` (None: no scan done)."""
        s = db.scans
        with self.db.begin() as conn:
            pid = conn.execute(sa.select(s.c.product_id).where(s.c.alert_key == key, s.c.status == "done",
                                                               s.c.product_id.is_not(None))
                               .order_by(s.c.finished_at.desc(), s.c.id).limit(1)).scalar()
        return None if pid is None else self.products.get(pid)

    def _step_association(self, rec: dict[str, Any]) -> dict[str, Any]:
        from .catalogues import associate_contour, associate_region

        scan = self._scan_product(rec["event_key"])
        if scan is not None:
            from ..scan.skyreader import read_npz

            name = next(f["name"] for f in scan["metadata"]["files"] if f["name"].endswith(".npz"))
            result = read_npz(self.products.file(scan, name))
            tables = [associate_contour(src, result, notice=_position(rec)) for src in self._cats().values()]
        else:
            tables = [associate_region(src, rec["ra_deg"], rec["dec_deg"], error90_deg=rec.get("error90_deg"),
                                       rect=rec.get("error_rect_deg")) for src in self._cats().values()]
        summary = {"event_key": rec["event_key"], "revision": rec["revision"], "ra_deg": rec["ra_deg"],
                   "dec_deg": rec["dec_deg"], "region_from": "scan_contour" if scan else "notice",
                   "scan_id": scan["subject"] if scan else None, "catalogues": tables}
        return self._publish("association", rec, summary, [t["release"] for t in tables])

    def _data(self) -> Any:
        with self._lock:
            if self._ps_data is None:
                from ..ps import load_public_data

                self._ps_data = load_public_data(str(self.config.ps_data))
            return self._ps_data

    def _step_ps_followup(self, rec: dict[str, Any]) -> dict[str, Any]:
        from .followup import ps_followup

        data = self._data()
        ihash = self._step_hash("ps_followup", rec)
        summary = ps_followup(data, rec["ra_deg"], rec["dec_deg"], rec["mjd"], error90_deg=rec.get("error90_deg"),
                              windows_s=self.config.windows_s, n_trials=self.config.ps_trials,
                              seed=int(ihash[:8], 16), threads=self.config.scan_threads)
        summary.update(event_key=rec["event_key"], revision=rec["revision"])
        listing = sorted((str(p.relative_to(Path(data.path))), p.stat().st_size)
                         for p in Path(data.path).rglob("*") if p.is_file())
        doi = {"10y": "10.7910/DVN/VKL316", "14y": "10.7910/DVN/MMIIZA"}.get(data.release, "")
        release = {"name": f"IceCube public point-source data ({data.release} layout)", "doi": doi,
                   "path": str(data.path), "seasons": data.names,
                   "listing_sha256": hashlib.sha256(repr(listing).encode()).hexdigest()}
        return self._publish("ps_followup", rec, summary, [release])

    def _lvk_inputs(self) -> tuple[Any, Any] | None:
        """(neutrino events, background sample) of the LVK follow-up, loaded once; None: not configured."""
        cfg = self.config
        if cfg.lvk_events is None or cfg.lvk_background is None:
            return None
        with self._lock:
            if self._lvk is None:
                from ..lvk import load_ic86_2011, read_events_csv

                self._lvk = (read_events_csv(cfg.lvk_events), load_ic86_2011(cfg.lvk_background))
            return self._lvk

    def _step_lvk_followup(self, rec: dict[str, Any]) -> dict[str, Any] | None:
        from .followup import run_lvk_followup
        from .lvk import parse_lvk
        from .security import safe_path

        loaded = self._lvk_inputs()
        if loaded is None:
            return None
        events, sample = loaded
        raw = safe_path(self.config.data_dir, *rec["raw_path"].split("/")).read_bytes()
        alert = parse_lvk(raw, self.config.lvk_skymap_dir)
        ihash = self._step_hash("lvk_followup", rec)
        cfg = self.config

        def write(directory: Path) -> list[Path]:
            paths = run_lvk_followup(alert, events, sample, directory, nside=cfg.lvk_nside, n_trials=cfg.lvk_trials,
                                     seed=int(ihash[:8], 16), plot=cfg.scan_plots)
            return list(paths.values())

        release = {"name": "IceCube IC86-2011 point-source release (LVK background sample)",
                   "doi": "10.21234/B4F04V", "path": str(cfg.lvk_background),
                   "sha256": self._file_hash(Path(str(cfg.lvk_background)) / "upgoing_events.txt")}
        inputs, params = self._inputs("lvk_followup", rec)
        return self.products.publish("lvk_followup", rec["event_key"], inputs=inputs, parameters=params,
                                     summary=None, data_releases=[release], write=write)

    # ------------------------------------------------------------------ queries
    def list_alerts(self, *, kind: str | None = None, status: str | None = None, name: str | None = None,
                    include_tests: bool = True, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Latest revision of each alert, newest first."""
        t = db.alerts
        latest = sa.select(t.c.event_key, sa.func.max(t.c.revision).label("rev")).group_by(t.c.event_key).subquery()
        q = sa.select(t).join(latest, (t.c.event_key == latest.c.event_key) & (t.c.revision == latest.c.rev))
        if kind:
            q = q.where(t.c.kind == kind)
        if status:
            q = q.where(t.c.status == status)
        if name:
            q = q.where(t.c.event_name.contains(name) | t.c.event_key.contains(name))
        if not include_tests:
            q = q.where(t.c.test.is_(False))
        q = q.order_by(t.c.mjd.desc(), t.c.event_key).limit(limit).offset(offset)
        with self.db.begin() as conn:
            return [self._alert_row(r) for r in conn.execute(q).mappings()]

    @staticmethod
    def _alert_row(r: Any) -> dict[str, Any]:
        return {k: r[k] for k in ("event_key", "revision", "kind", "event_name", "alert_type", "mjd", "time", "ra_deg",
                                  "dec_deg", "error90_deg", "status", "received_at", "updated_at")} | {
            "test": bool(r["test"]), "retracted": bool(r["retracted"])}

    def alert(self, key: str) -> dict[str, Any] | None:
        """One alert: its revisions, each revision's plan, its products and scans."""
        with self.db.begin() as conn:
            revs = conn.execute(sa.select(db.alerts).where(db.alerts.c.event_key == key)
                                .order_by(db.alerts.c.revision)).mappings().all()
            if not revs:
                return None
            steps = conn.execute(sa.select(db.plan_steps).where(db.plan_steps.c.event_key == key)
                                 .order_by(db.plan_steps.c.revision, db.plan_steps.c.created_at)).mappings().all()
        latest = revs[-1]
        prods = {p["id"]: p for p in self.products.list_products(subject=key)}
        scan_rows = self.scans.list(alert_key=key)
        by_rev: dict[int, list[dict[str, Any]]] = {}
        for s in steps:
            by_rev.setdefault(int(s["revision"]), []).append(
                {"step": s["step"], "status": s["status"], "product_id": s["product_id"], "scan_id": s["scan_id"],
                 "error": s["error"], "attempts": s["attempts"], "updated_at": s["updated_at"]})
        products: dict[str, Any] = {}
        for st in by_rev.get(int(latest["revision"]), []):
            pid = st["product_id"]
            if pid and pid in prods:
                products[st["step"]] = prods[pid]
            elif pid:
                p = self.products.get(pid)
                if p is not None:
                    products[st["step"]] = p
        return {**self._alert_row(latest), "record": db.loads(latest["record_json"]),
                "revisions": [{**self._alert_row(r), "plan": by_rev.get(int(r["revision"]), [])} for r in revs],
                "plan": by_rev.get(int(latest["revision"]), []), "products": products,
                "scans": [{"id": s["id"], "status": s["status"]} for s in scan_rows]}

    def counts(self) -> dict[str, Any]:
        with self.db.begin() as conn:
            a: dict[Any, Any] = dict(conn.execute(sa.select(db.alerts.c.status, sa.func.count())
                                                  .group_by(db.alerts.c.status)).all())
            s: dict[Any, Any] = dict(conn.execute(sa.select(db.plan_steps.c.status, sa.func.count())
                                  .group_by(db.plan_steps.c.status)).all())
        return {"alerts_by_status": {str(k): int(v) for k, v in a.items()},
                "steps_by_status": {str(k): int(v) for k, v in s.items()}}

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            job = None
            try:
                self._sync_scans()
                job = self.claim()
            except Exception:  # pragma: no cover - database down: retry
                log.exception("orchestrator poll failed")
            if job is None:
                self._wake.wait(self.config.poll_interval_s)
                self._wake.clear()
                continue
            self.run_step(*job)

    def run_pending(self) -> int:
        """Run every pending step now in this thread (scripts, tests); returns how many ran."""
        n = 0
        while (job := self.claim()) is not None:
            self.run_step(*job)
            n += 1
        self._sync_scans()
        return n

    def start(self) -> None:
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="icecore-orchestrator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        self._stop.clear()

    def close(self) -> None:
        self.store.close()
