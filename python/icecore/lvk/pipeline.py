"""The LVK alert pipeline: GW alerts from Kafka (igwn.gwalert) to stored alerts and follow-up products.

Per message (:meth:`LvkPipeline.ingest`, the same contract as :func:`icecore.alerts.process.ingest`):

1. parse it (:func:`~icecore.lvk.parse_lvk_alert`); a message that is not an LVK alert is
   dead-lettered (``<store>/dead_letter/``, the :class:`~icecore.alerts.AlertStore` convention);
2. store the alert and its raw message (:class:`~icecore.lvk.store.LvkAlertStore`, idempotent);
3. run the follow-up (:func:`~icecore.lvk.run_alert_followup`) with the configured events and
   background sample and write its products (notice.json, circular.txt, skymap.png, summary.json)
   into ``<store>/lvk/followups/<superevent>/<alert_type>__<sha16>/``; a retraction writes a
   retraction record and runs no search;
4. return, so that the Kafka loop commits the offset.

Guarantees (those of :func:`icecore.alerts.kafka.listen`, whose consumer loop is reused): fixed
consumer group id, auto-commit off, an offset committed only after the alert *and* its products
are on disk; a re-delivered message whose follow-up finished is a no-op, one whose follow-up was
interrupted (crash) is run again. A poison message (unparsable, no sky map, a follow-up that
fails) costs that message only: it is dead-lettered with the error and committed. A disk failure
(:class:`~icecore.errors.StorageError`) stops the listener without committing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._cli import dumps
from .._io import atomic_write
from ..errors import InputError, ParseError, StorageError
from .alert import LvkAlert, parse_lvk_alert
from .api import EventsSource, _events_for, read_events_csv, run_alert_followup
from .events import BackgroundModel, EventSample, load_ic86_2011, simulate_window
from .store import LvkAlertStore

__all__ = ["LVK_TOPICS", "LvkPipelineConfig", "LvkPipeline", "LvkOutcome", "listen"]

logger = logging.getLogger(__name__)

#: The LVK alert topic on GCN Kafka (JSON with the sky map embedded in base64).
LVK_TOPICS = ("igwn.gwalert",)


@dataclass(frozen=True)
class LvkPipelineConfig:
    """What every follow-up of the pipeline uses.

    Attributes
    ----------
    sample : EventSample or path
        Background sample (or the IC86-2011 point-source release folder), loaded once.
    events : EVENT_DTYPE array, CSV path or callable, optional
        The neutrino events (``events(alert)`` for a live source); see :data:`~icecore.lvk.api.EventsSource`.
    simulate_signal : int, optional
        Instead of ``events``: simulate each window (scrambled sample events at the alert time plus
        this many signal events at the map's most probable pixel) — tests and demonstrations only;
        the products then describe simulated data.
    nside, trials, single_trials, seed, threads, plot
        As :func:`~icecore.lvk.run_alert_followup`.
    skip_tests : bool
        Store test superevents (ids starting M or T) but run no search for them (default False).
    skymap_dir : path, optional
        Local folder (or file) of sky maps named by VOEvent URLs.
    """

    sample: EventSample | str | os.PathLike[str]
    events: EventsSource | None = None
    simulate_signal: int | None = None
    nside: int = 256
    trials: int = 10_000
    single_trials: int = 2_000
    seed: int = 0
    threads: int | None = None
    plot: bool = True
    skip_tests: bool = False
    skymap_dir: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.events is None and self.simulate_signal is None:
            raise InputError("LvkPipelineConfig: give 'events' (array, CSV or callable) or 'simulate_signal'",
                             "events")
        if self.simulate_signal is not None and self.simulate_signal < 0:
            raise InputError("LvkPipelineConfig: 'simulate_signal' must be >= 0", "simulate_signal")
        for name in ("trials", "single_trials"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"LvkPipelineConfig: '{name}' must be >= 1", name)


@dataclass(frozen=True)
class LvkOutcome:
    """What :meth:`LvkPipeline.process` did with one message."""

    status: str  # "searched", "retracted", "skipped", "duplicate", "dead_lettered"
    superevent_id: str | None
    record_path: Path | None
    products: dict[str, Path]
    summary: dict[str, Any] | None
    error: str | None = None


class LvkPipeline:
    """Parse, store and follow up LVK alerts in a store directory (see the module docstring).

    Parameters
    ----------
    store : path
        Root folder: dead letters in ``dead_letter/`` (an :class:`~icecore.alerts.AlertStore`),
        alerts and products in ``lvk/``.
    config : LvkPipelineConfig
    """

    def __init__(self, store: str | os.PathLike[str], config: LvkPipelineConfig) -> None:
        from ..alerts import AlertStore

        if not isinstance(config, LvkPipelineConfig):
            raise InputError(f"argument 'config': expected an LvkPipelineConfig, got {type(config).__name__}",
                             "config")
        self.config = config
        self.alert_store = AlertStore(store)
        self.lvk_store = LvkAlertStore(self.alert_store.directory)
        self._lock = threading.Lock()
        self._sample: EventSample | None = None
        self._background: BackgroundModel | None = None
        self._events: Any = None

    # -- lazily loaded inputs (one load for all alerts) ----------------------------------------------
    def _inputs(self) -> tuple[EventSample, BackgroundModel]:
        with self._lock:
            if self._sample is None:
                s = self.config.sample
                self._sample = s if isinstance(s, EventSample) else load_ic86_2011(s)
                self._background = BackgroundModel(self._sample)
                ev = self.config.events
                self._events = read_events_csv(ev) if isinstance(ev, (str, os.PathLike)) else ev
            assert self._background is not None
            return self._sample, self._background

    def _window_events(self, alert: LvkAlert, sample: EventSample, bg: BackgroundModel) -> np.ndarray:
        n_sig = self.config.simulate_signal
        if n_sig is not None:
            assert alert.time_mjd is not None
            src = alert.skymap().max_direction_deg() if n_sig > 0 else None
            return simulate_window(sample, alert.time_mjd, seed=self.config.seed, n_signal=n_sig, source_deg=src,
                                   background=bg)
        return _events_for(self._events, alert)

    # -- one message ---------------------------------------------------------------------------------
    def process(self, message: bytes | str | dict[str, Any], *, topic: str | None = None,
                meta: dict[str, Any] | None = None) -> LvkOutcome:
        """Parse, store and follow up one message (see the module docstring).

        Raises
        ------
        StorageError
            Only when the disk fails: the message must not be acknowledged.
        """
        raw = _raw(message)
        try:
            alert = parse_lvk_alert(message if isinstance(message, dict) else raw, skymap=self.config.skymap_dir)
        except ParseError as exc:
            p = self.alert_store.dead_letter(raw, f"not an LVK alert: {exc}", topic=topic, meta=meta)
            return LvkOutcome("dead_lettered", None, p, {}, None, str(exc))
        stored = self.lvk_store.put(alert, raw, meta=dict(meta or {}, topic=topic))
        if stored.followup_done:
            return LvkOutcome("duplicate", alert.superevent_id, stored.path, {}, None)
        out = stored.products_dir
        try:
            if self.config.skip_tests and alert.is_test and not alert.retracted:
                summary: dict[str, Any] = {"status": "skipped", "superevent_id": alert.superevent_id,
                           "reason": "test superevent (skip_tests)", "search_run": False}
                path = atomic_write(out / "summary.json", dumps(summary))
                return LvkOutcome("skipped", alert.superevent_id, stored.path, {"summary": path}, summary)
            if alert.retracted:
                summary, paths = run_alert_followup(alert, out_dir=out)
                logger.info("%s retracted: retraction record %s", alert.superevent_id, paths["retraction"])
                return LvkOutcome("retracted", alert.superevent_id, stored.path, paths, summary)
            sample, bg = self._inputs()
            c = self.config
            summary, paths = run_alert_followup(
                alert, events=self._window_events(alert, sample, bg), out_dir=out, sample=sample, background=bg,
                trials=c.trials, single_trials=c.single_trials, seed=c.seed, nside=c.nside, threads=c.threads,
                plot=c.plot)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - a poison message must never stop the pipeline
            logger.error("LVK follow-up of %s (%s) failed (%s: %s); dead-lettered", alert.superevent_id,
                         alert.alert_type, type(exc).__name__, exc)
            p = self.alert_store.dead_letter(raw, f"LVK follow-up failed: {type(exc).__name__}: {exc}", topic=topic,
                                             meta=dict(meta or {}, stage="lvk_followup",
                                                       superevent_id=alert.superevent_id))
            return LvkOutcome("dead_lettered", alert.superevent_id, p, {}, None, f"{type(exc).__name__}: {exc}")
        logger.info("%s (%s): p_generic = %.4g, p_bayesian = %.4g -> %s", alert.superevent_id, alert.alert_type,
                    summary["generic"]["pval"], summary["bayesian"]["pval"], out)
        return LvkOutcome("searched", alert.superevent_id, stored.path, paths, summary)

    def ingest(self, store: Any, message: Any, *, topic: str | None = None, n_trials: float = 1,
               meta: dict[str, Any] | None = None) -> Any:
        """:func:`icecore.alerts.process.ingest`'s contract, for :func:`icecore.alerts.kafka.listen` (``handler=``).

        Returns a :class:`~icecore.alerts.StoredAlert` (``created`` False for a duplicate) or the
        dead-letter Path. ``store`` and ``n_trials`` are the listener's and not used here.
        """
        from ..alerts.store import StoredAlert

        out = self.process(message, topic=topic, meta=meta)
        if out.status == "dead_lettered":
            assert out.record_path is not None
            return out.record_path
        record = {"status": out.status, "superevent_id": out.superevent_id,
                  "products": {k: str(v) for k, v in out.products.items()}}
        assert out.record_path is not None
        return StoredAlert(out.record_path, out.status != "duplicate", True, record)


def _raw(message: Any) -> bytes:
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    if isinstance(message, dict):
        import json

        return json.dumps(message, sort_keys=True, default=str).encode()
    return str(message).encode("utf-8", "replace")


def listen(store: str | os.PathLike[str], pipeline_config: LvkPipelineConfig, topics: Sequence[str] = LVK_TOPICS,
           *, group_id: str, **kafka: Any) -> Any:
    """Consume LVK alerts from Kafka and run the follow-up of each (extra ``kafka``).

    Parameters
    ----------
    store : path
        Root folder of the pipeline (see :class:`LvkPipeline`).
    pipeline_config : LvkPipelineConfig
        Events, background sample and search settings.
    topics : sequence of str
        Default :data:`LVK_TOPICS` (``igwn.gwalert``).
    group_id : str
        Fixed consumer group id (required: keeps the position across restarts).
    **kafka
        Everything else :func:`icecore.alerts.kafka.listen` takes: ``client_id``, ``client_secret``,
        ``domain``, ``config`` (e.g. ``{"bootstrap.servers": ...}`` for another broker), ``stop``,
        ``handle_signals``, ``max_messages``, ``idle_timeout``, ``poll_timeout``, ``on_stored``,
        ``broker_timeout``, ``consumer_factory``.

    Returns
    -------
    icecore.alerts.kafka.ListenStats
        ``stored`` counts follow-ups run (and retractions), ``duplicates`` re-delivered messages,
        ``dead_lettered`` poison messages.
    """
    from ..alerts.kafka import listen as kafka_listen

    if "handler" in kafka or "n_trials" in kafka:
        raise InputError("argument 'kafka': 'handler' and 'n_trials' are set by the LVK pipeline", "kafka")
    pipe = LvkPipeline(store, pipeline_config)
    cfg = dict(kafka.pop("config", None) or {})
    cfg.setdefault("fetch.message.max.bytes", 8 * 1024 * 1024)  # gwalert messages carry ~1 MB sky maps
    return kafka_listen(pipe.alert_store, topics, group_id=group_id, config=cfg, handler=pipe.ingest, **kafka)
