"""IceCube GCN alerts: parse every notice format, store safely, listen and replay from Kafka.

>>> from icecore.alerts import parse, AlertStore, process
>>> alert = parse(open("notice.xml", "rb").read())          # doctest: +SKIP
>>> process(alert, n_trials=1, store=AlertStore("alerts/"))  # doctest: +SKIP

Kafka listening (:func:`listen`, :func:`replay`) needs the ``kafka`` extra (gcn-kafka).
"""

from __future__ import annotations

from .catalog import Catalog, load_icecat1
from .model import ALERT_TYPES, KINDS, Alert, CoincidentEvent, alert_schema
from .parse import MAX_MESSAGE_BYTES, parse
from .store import AlertStore, StoredAlert, process

__all__ = [
    "Alert",
    "CoincidentEvent",
    "alert_schema",
    "KINDS",
    "ALERT_TYPES",
    "MAX_MESSAGE_BYTES",
    "parse",
    "AlertStore",
    "StoredAlert",
    "process",
    "Catalog",
    "load_icecat1",
    "listen",
    "replay",
]


def __getattr__(name: str):  # lazy: confluent-kafka is an optional extra
    if name in ("listen", "replay"):
        from . import kafka

        return getattr(kafka, name)
    raise AttributeError(f"module 'icecore.alerts' has no attribute {name!r}")
