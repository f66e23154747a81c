"""The alert pipeline: a parsed alert -> significance block -> record, stored when a store is given.

:func:`process` takes an :class:`~icecore.alerts.Alert`; :func:`ingest` takes a raw message
as received (Kafka, a file), parses it and processes it, dead-lettering what cannot be parsed.
Storage itself is :class:`~icecore.alerts.AlertStore`'s job; the record layout is
:func:`~icecore.alerts.model.alert_record`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, ParseError, StorageError
from .model import Alert, alert_record
from .parse import parse
from .store import AlertStore, StoredAlert

__all__ = ["ProcessedAlert", "process", "ingest", "significance_block"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ProcessedAlert(Mapping[str, Any]):
    """Outcome of :func:`process`: the record (read like a dict) and, when stored, where.

    Attributes
    ----------
    alert : Alert
        The alert processed.
    record : dict
        ``Alert.to_dict()`` plus ``significance`` (and ``stored_at`` when stored). For a message
        that was already stored this is the record on disk.
    stored : StoredAlert or None
        The outcome of :meth:`AlertStore.store`; None when no store was given.
    """

    alert: Alert
    record: dict[str, Any]
    stored: StoredAlert | None = None

    def __getitem__(self, key: str) -> Any:
        return self.record[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.record)

    def __len__(self) -> int:
        return len(self.record)

    @property
    def path(self) -> Path | None:
        """The record's JSON file, or None when not stored."""
        return None if self.stored is None else self.stored.path

    @property
    def created(self) -> bool:
        """True when this call wrote a new record (see :class:`StoredAlert`)."""
        return self.stored is not None and self.stored.created

    @property
    def primary(self) -> bool:
        """True when the stored record is the primary one of its (event, revision)."""
        return self.stored is not None and self.stored.primary


def significance_block(alert: Alert, *, n_trials: float = 1, sided: int = 1,
                       far_window_years: float = 1.0) -> dict[str, Any] | None:
    """The significance of an alert, or None when it carries no p-value or FAR.

    Routes: LVK coincidence searches use ``pval_generic`` (pre-trial); single-neutrino alerts
    with a FAR use the Poisson chance of at least one background alert as signal-like within
    ``far_window_years`` (1 − exp(−FAR·T)). ``n_trials`` is then applied by
    :func:`icecore.stats.significance`.
    """
    from ..stats import poisson_p_from_far, significance  # scipy: loaded on first use

    if alert.pval_generic is not None:
        p, route = alert.pval_generic, "pval_generic"
    elif alert.far_per_year is not None:
        p, route = float(poisson_p_from_far(alert.far_per_year, far_window_years)), "far_poisson"
    else:
        return None
    block = significance(p, n_trials=n_trials, sided=sided).to_dict()
    block["route"] = route
    if route == "far_poisson":
        block["far_window_years"] = float(far_window_years)
    return block


def process(alert: Alert, *, n_trials: float = 1, store: AlertStore | None = None, sided: int = 1,
            far_window_years: float = 1.0) -> ProcessedAlert:
    """Add the significance block to an alert and store it.

    Parameters
    ----------
    alert : Alert
        A parsed alert.
    n_trials : float
        Trials factor for the post-trial significance (>= 1).
    store : AlertStore, optional
        Where to store it; without one the record is only built.
    sided : {1, 2}
        Convention of the quoted sigmas (IceCube quotes one-sided).
    far_window_years : float
        Window of the FAR route (see :func:`significance_block`).

    Returns
    -------
    ProcessedAlert
        Reads like the record dict (``Alert.to_dict()`` plus ``significance``); ``.stored`` /
        ``.path`` say where it was stored.
    """
    if not isinstance(alert, Alert):
        raise InputError(f"argument 'alert': expected an Alert, got {type(alert).__name__}", "alert")
    kw: dict[str, Any] = {"n_trials": n_trials, "sided": sided, "far_window_years": far_window_years}
    if store is None:
        return ProcessedAlert(alert, alert_record(alert, significance_block(alert, **kw)))
    stored = _store(alert, store, **kw)
    return ProcessedAlert(alert, stored.record, stored)


def _store(alert: Alert, store: AlertStore, **significance_kw: Any) -> StoredAlert:
    return store.store(alert, significance=significance_block(alert, **significance_kw))


def ingest(store: AlertStore, message: Any, *, topic: str | None = None, n_trials: float = 1,
           meta: dict[str, Any] | None = None) -> StoredAlert | Path:
    """Parse one raw message, add the significance and store it; dead-letter what cannot be.

    Parameters
    ----------
    store : AlertStore
        Destination.
    message : bytes, str or dict
        The message as received (anything :func:`~icecore.alerts.parse` accepts).
    topic : str, optional
        Kafka topic it came from.
    n_trials : float
        Trials factor of the significance block.
    meta : dict, optional
        Kept with a dead-lettered message (Kafka partition, offset...).

    Returns
    -------
    StoredAlert or Path
        The storage outcome; for a message that cannot be parsed *or processed* (any error
        after parsing too: a significance that cannot be computed, a record that cannot be
        serialised...), which goes to the dead-letter folder together with the error, the path
        of the dead-lettered raw file. One bad message costs that message only.

    Raises
    ------
    icecore.errors.StorageError
        Only when the store itself fails (disk full, read-only...): the message is not lost,
        the caller must not acknowledge it (a Kafka listener stops without committing).
    """
    check_n_trials(n_trials)  # a bad setting is the caller's error, not every message's
    try:
        alert = parse(message, topic=topic)
    except ParseError as exc:
        return store.dead_letter(_raw_bytes(message), str(exc), topic=topic, meta=meta)
    try:
        return _store(alert, store, n_trials=n_trials)
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a poison message must never stop the pipeline
        logger.error("processing %s rev %s failed (%s: %s); dead-lettered",
                     alert.event_key, alert.revision, type(exc).__name__, exc)
        return store.dead_letter(alert.raw or _raw_bytes(message), f"processing failed: {type(exc).__name__}: {exc}",
                                 topic=topic, meta=dict(meta or {}, stage="process"))


def check_n_trials(n_trials: Any) -> float:
    """``n_trials`` as a float >= 1; InputError otherwise."""
    import math

    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, float)) or not math.isfinite(n_trials) \
            or n_trials < 1:
        raise InputError(f"argument 'n_trials': expected a finite number >= 1, got {n_trials!r}", "n_trials")
    return float(n_trials)


def _raw_bytes(message: Any) -> bytes:
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    try:
        return str(message).encode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - e.g. a circular or huge structure: keep what can be kept
        return repr(type(message)).encode()
