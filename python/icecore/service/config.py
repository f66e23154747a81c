"""Settings of the service (``icecore serve``): where state lives, what it talks to, limits.

Every setting has a default that works on a fresh install (SQLite in the data directory,
in-process scans, no Kafka, no catalogues); each can be given as a keyword, on the command
line (:mod:`icecore.service.cli`) or by an ``ICECORE_SERVICE_*`` environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["ServiceConfig", "DEFAULT_WINDOWS_S", "ENV_PREFIX"]

ENV_PREFIX = "ICECORE_SERVICE_"

#: Point-source follow-up windows around the alert time, seconds (before, after): the short
#: +-500 s window and the two-day window of IceCube's fast-response follow-ups.
DEFAULT_WINDOWS_S: tuple[tuple[float, float], ...] = ((-500.0, 500.0), (-86400.0, 86400.0))


@dataclass(frozen=True)
class ServiceConfig:
    """What one service process needs.

    Attributes
    ----------
    data_dir : Path
        The only directory the service writes: database (SQLite default), alert store,
        products, scan checkpoints. No API path leads outside it.
    database : str or None
        SQLAlchemy URL (``sqlite:///...`` or ``postgresql://user:pw@host/db``); None: SQLite
        file ``<data_dir>/service.sqlite``.
    tokens : tuple of str
        Bearer tokens accepted by write endpoints (submit, cancel, delete, re-run). Empty:
        write endpoints are refused (the service is read-only).
    max_body_bytes : int
        Largest accepted request body (413 above it).
    amqp_url : str or None
        Run scans on RabbitMQ workers (``icecore scan worker``) instead of in-process.
    amqp_queue : str
        Work queue of the RabbitMQ workers (``icecore scan worker --queue``).
    scan_threads : int or None
        Threads of in-process scans (None: all cores).
    scan_workers : int
        Scans run concurrently by this process.
    kafka : dict or None
        confluent-kafka settings of the alert listener (``bootstrap.servers``...); None: no
        listener (alerts can still be posted to the API).
    kafka_topics : tuple of str
        Topics of the listener (default: IceCube's GCN Kafka JSON topics).
    kafka_group_id : str
        Fixed consumer group (a restart continues where the last commit left).
    catalogues : dict name -> path
        Catalogues for association (4FGL FITS, ICECAT-1 CSV, TeV CSV lists).
    ps_data : Path or None
        Public point-source data release folder for the time-window follow-up.
    ps_trials : int
        Background trials per follow-up window.
    n_trials : float
        Trials factor of the alert significance.
    windows_s : tuple of (float, float)
        Follow-up windows relative to the alert time (s).
    lvk_topics : tuple of str
        Kafka topics of LVK GW alerts (igwn.gwalert JSON, LVK VOEvents), consumed by the same
        listener and routed to the LVK intake (:mod:`.lvk`).
    lvk_events : Path or None
        CSV of the neutrino events searched by the LVK follow-up (``icecore.lvk.read_events_csv``
        columns); None: the LVK step is skipped.
    lvk_background : Path or None
        The IC86-2011 point-source release folder (background sample of the LVK follow-up).
    lvk_skymap_dir : Path or None
        Where the sky maps named by LVK VOEvents are found (the Kafka JSON embeds its map).
    lvk_nside, lvk_trials : int
        Search resolution and background trials of the LVK follow-up.
    poll_interval_s : float
        How often the background loops look for new work.
    scan_plots : bool
        Write the PNG plots of scan results (needs matplotlib, the ``plot`` extra).
    """

    data_dir: Path = Path("icecore-service")
    database: str | None = None
    tokens: tuple[str, ...] = ()
    max_body_bytes: int = 8 * 1024 * 1024
    amqp_url: str | None = None
    amqp_queue: str = "icecore.scan.tasks"
    scan_threads: int | None = None
    scan_workers: int = 1
    kafka: dict[str, Any] | None = None
    kafka_topics: tuple[str, ...] = ()
    kafka_group_id: str = "icecore-service"
    catalogues: dict[str, Path] = field(default_factory=dict)
    ps_data: Path | None = None
    ps_trials: int = 200
    n_trials: float = 1.0
    windows_s: tuple[tuple[float, float], ...] = DEFAULT_WINDOWS_S
    lvk_topics: tuple[str, ...] = ("igwn.gwalert",)
    lvk_events: Path | None = None
    lvk_background: Path | None = None
    lvk_skymap_dir: Path | None = None
    lvk_nside: int = 128
    lvk_trials: int = 2000
    poll_interval_s: float = 0.2
    scan_plots: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())
        if self.max_body_bytes <= 0:
            raise InputError("argument 'max_body_bytes': must be positive", "max_body_bytes")
        if self.scan_workers < 1:
            raise InputError("argument 'scan_workers': must be >= 1", "scan_workers")
        if any(len(t) < 8 for t in self.tokens):
            raise InputError("argument 'tokens': a token must have at least 8 characters", "tokens")
        if self.amqp_url is not None and not self.amqp_url.startswith(("amqp://", "amqps://")):
            raise InputError("argument 'amqp_url': expected an amqp:// URL", "amqp_url")
        if self.lvk_nside < 1 or self.lvk_trials < 1:
            raise InputError("argument 'lvk_nside'/'lvk_trials': must be >= 1", "lvk_nside")
        for lo, hi in self.windows_s:
            if not lo < hi:
                raise InputError("argument 'windows_s': each window needs start < end", "windows_s")

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL in use (the SQLite default inside ``data_dir``)."""
        if self.database:
            return self.database
        return f"sqlite:///{self.data_dir / 'service.sqlite'}"

    @property
    def alerts_dir(self) -> Path:
        return self.data_dir / "alerts"

    @property
    def products_dir(self) -> Path:
        return self.data_dir / "products"

    def with_(self, **changes: Any) -> ServiceConfig:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceConfig:
        """Defaults, then ``ICECORE_SERVICE_{DATA_DIR,DATABASE,TOKENS,AMQP_URL,MAX_BODY_BYTES}``, then ``overrides``."""
        env = os.environ
        kw: dict[str, Any] = {}
        if env.get(ENV_PREFIX + "DATA_DIR"):
            kw["data_dir"] = Path(env[ENV_PREFIX + "DATA_DIR"])
        if env.get(ENV_PREFIX + "DATABASE"):
            kw["database"] = env[ENV_PREFIX + "DATABASE"]
        if env.get(ENV_PREFIX + "TOKENS"):
            kw["tokens"] = tuple(t.strip() for t in env[ENV_PREFIX + "TOKENS"].split(",") if t.strip())
        if env.get(ENV_PREFIX + "AMQP_URL"):
            kw["amqp_url"] = env[ENV_PREFIX + "AMQP_URL"]
        if env.get(ENV_PREFIX + "MAX_BODY_BYTES"):
            kw["max_body_bytes"] = int(env[ENV_PREFIX + "MAX_BODY_BYTES"])
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**kw)
