"""LVK gravitational-wave alerts in the service: routing, raw storage, the alert record.

The service listens to the LVK topics (``igwn.gwalert`` JSON, LVK VOEvents) with the same Kafka
listener as the IceCube topics: :class:`RoutingConsumer` wraps the consumer and hands each
message of an LVK topic to the intake, which stores it and records it *before* the offset is
committed (the same at-least-once + idempotent-store rule as :func:`icecore.alerts.listen`); a
storage failure propagates and stops the listener without committing.

An LVK alert is parsed by :func:`icecore.lvk.parse_lvk_alert`; its raw bytes are kept under
``<data_dir>/lvk/<superevent>/<sha256>.<json|xml>`` (atomic, idempotent by content hash; the
Kafka JSON carries its ~1 MB sky map), and the orchestrator gets a record with
``kind="lvk_gw"`` and ``event_key="gw_<superevent>"`` (IceCube's own ``lvk_nu_track_search``
notices are ``lvk_<superevent>``). A retraction is recorded like any retraction: the alert and
its products are marked retracted and no search runs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._io import atomic_write, safe_name
from ..errors import ParseError

__all__ = ["LVK_KIND", "is_lvk_topic", "parse_lvk", "store_raw", "lvk_record", "RoutingConsumer",
           "gcn_consumer_factory"]

log = logging.getLogger(__name__)

LVK_KIND = "lvk_gw"
_LVK_TOPIC_ENDINGS = ("igwn.gwalert",)
_LVK_CLASSIC = ("LVC_PRELIMINARY", "LVC_INITIAL", "LVC_UPDATE", "LVC_RETRACTION", "LVC_EARLY_WARNING")


def is_lvk_topic(topic: str | None, extra: tuple[str, ...] = ()) -> bool:
    """Whether ``topic`` carries LVK GW alerts (``igwn.gwalert``, ``gcn.classic.voevent.LVC_*``, or ``extra``)."""
    if not topic:
        return False
    return topic in extra or topic.endswith(_LVK_TOPIC_ENDINGS) or topic.rsplit(".", 1)[-1] in _LVK_CLASSIC


def parse_lvk(raw: bytes, skymap_dir: Path | None) -> Any:
    """The :class:`icecore.lvk.LvkAlert` of ``raw`` (ParseError when it is not an LVK alert)."""
    from ..lvk import parse_lvk_alert

    try:
        return parse_lvk_alert(raw, skymap=skymap_dir)
    except ParseError:
        raise
    except (ValueError, TypeError, KeyError, SyntaxError) as exc:  # SyntaxError: xml.etree's ParseError
        raise ParseError(f"not an LVK alert: {exc}") from None


def store_raw(root: Path, superevent_id: str, raw: bytes) -> tuple[str, str]:
    """Write the raw alert once; returns (sha256, path relative to ``root``)."""
    sha = hashlib.sha256(raw).hexdigest()
    ext = "xml" if raw.lstrip()[:1] == b"<" else "json"
    rel = f"lvk/{safe_name(superevent_id, max_len=40)}/{sha}.{ext}"
    path = root / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, raw)
    return sha, rel


def lvk_record(alert: Any, sha: str, rel: str, *, revision: int, mjd: float, time_iso: str) -> dict[str, Any]:
    """The orchestrator's record of one LVK alert (what the ``alerts`` row and the plan read)."""
    return {**alert.to_dict(), "event_key": f"gw_{alert.superevent_id}", "revision": int(revision),
            "kind": LVK_KIND, "event_name": alert.superevent_id,
            "alert_type": "retraction" if alert.retracted else alert.alert_type, "test": alert.is_test,
            "mjd": float(mjd), "time": time_iso, "ra_deg": None, "dec_deg": None, "error90_deg": None,
            "raw_sha256": sha, "raw_path": rel, "significance": None, "lvk_revision": alert.revision}


class RoutingConsumer:
    """A Kafka consumer whose LVK-topic messages go to ``handle(raw, topic)`` (then committed).

    Every other message is returned by :meth:`poll` to the IceCube listener unchanged. ``handle``
    raising :class:`icecore.errors.StorageError` propagates (no commit: re-read after restart).
    """

    def __init__(self, inner: Any, handle: Callable[[bytes, str], Any], lvk_topics: tuple[str, ...] = ()) -> None:
        self._inner = inner
        self._handle = handle
        self._topics = lvk_topics

    def poll(self, timeout: float) -> Any:
        msg = self._inner.poll(timeout)
        if msg is None or msg.error() or not is_lvk_topic(msg.topic(), self._topics):
            return msg
        try:
            self._handle(msg.value() or b"", msg.topic())
        except ParseError:
            pass  # dead-lettered by the handler: committed like any poison message
        self._inner.commit(message=msg, asynchronous=False)
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def gcn_consumer_factory(cfg: dict[str, Any], cid: str | None, secret: str | None, domain: str | None) -> Any:
    """The consumer :func:`icecore.alerts.listen` makes by default (gcn_kafka.Consumer)."""
    from .._optional import require

    gcn_kafka = require("gcn_kafka", "kafka", "GCN Kafka listening")
    return gcn_kafka.Consumer(config=cfg, client_id=cid, client_secret=secret, domain=domain)
