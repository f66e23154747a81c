"""One service process: database, products, scan manager, alert orchestrator, listener.

>>> from icecore.service import Service, ServiceConfig
>>> svc = Service(ServiceConfig(data_dir="state", tokens=("a-long-secret",)))   # doctest: +SKIP
>>> svc.start(); ...; svc.stop()                                                # doctest: +SKIP

:func:`icecore.service.api.create_app` serves it over HTTP; ``icecore serve`` does both.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .config import ServiceConfig
from .db import Database
from .metrics import Metrics
from .orchestrate import Orchestrator
from .products import ProductStore
from .scans import ScanManager

__all__ = ["Service"]

log = logging.getLogger(__name__)


class Service:
    """The parts of the service wired together (start/stop the background loops).

    Parameters
    ----------
    config : ServiceConfig
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database_url)
        self.products = ProductStore(config.products_dir, self.db)
        self.scans = ScanManager(self.db, self.products, threads=config.scan_threads, amqp_url=config.amqp_url,
                                 workers=config.scan_workers, poll_interval_s=config.poll_interval_s,
                                 plots=config.scan_plots, amqp_queue=config.amqp_queue)
        self.orchestrator = Orchestrator(config, self.db, self.products, self.scans)
        self.metrics = Metrics()
        self._listener: threading.Thread | None = None
        self._listener_stop = threading.Event()
        self.listener_stats: Any = None
        self.listener_error: str | None = None
        self.started = False

    def start(self, *, scans: bool = True, orchestrator: bool = True, listener: bool = True) -> None:
        """Start the background loops (each can be left off, e.g. in tests)."""
        if scans:
            self.scans.start()
        if orchestrator:
            self.orchestrator.start()
        if listener and self.config.kafka:
            self._listener = threading.Thread(target=self._listen, name="icecore-kafka", daemon=True)
            self._listener.start()
        self.started = True

    def _listen(self) -> None:
        try:
            self.listener_stats = self.orchestrator.listen(stop=self._listener_stop)
        except Exception as exc:  # reported by /api/health
            log.exception("the Kafka listener stopped")
            self.listener_error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        self._listener_stop.set()
        if self._listener is not None:
            self._listener.join(15)
        self.orchestrator.stop()
        self.scans.stop()
        self.started = False

    def close(self) -> None:
        self.stop()
        self.orchestrator.close()
        self.db.close()

    def health(self) -> dict[str, Any]:
        db_ok = self.db.ping()
        listener = None
        if self.config.kafka:
            listener = {"running": bool(self._listener and self._listener.is_alive()), "error": self.listener_error}
        return {"status": "ok" if db_ok and not self.listener_error else "degraded", "database": db_ok,
                "database_dialect": self.db.dialect, "schema_version": self.db.version, "listener": listener,
                "executor": "amqp" if self.config.amqp_url else "in-process"}
