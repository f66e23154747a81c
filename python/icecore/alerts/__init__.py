"""IceCube GCN alerts: parse every notice format, store safely, listen and replay from Kafka.

- :func:`parse` (format detection; :mod:`.kafka_json`, :mod:`.voevent`, :mod:`.classic` parse
  one format each) -> :class:`Alert`; :func:`to_kafka_json` writes one back as a Kafka notice;
- :func:`process` / :func:`ingest` (the pipeline: significance, record, storage) and
  :class:`AlertStore` (storage only);
- :func:`listen` / :func:`replay`: GCN Kafka (the ``kafka`` extra, gcn-kafka, is needed when
  they are called);
- :func:`load_icecat1` / :class:`Catalog`: the ICECAT-1 catalogue (:mod:`icecore.catalog`).

>>> from icecore.alerts import parse, AlertStore, process
>>> alert = parse(open("notice.xml", "rb").read())          # doctest: +SKIP
>>> process(alert, n_trials=1, store=AlertStore("alerts/"))  # doctest: +SKIP
"""

from __future__ import annotations

from ..catalog import Catalog, load_icecat1
from .kafka import listen, replay
from .kafka_json import to_kafka_json
from .model import ALERT_TYPES, KINDS, Alert, CoincidentEvent, alert_record, alert_schema
from .parse import MAX_MESSAGE_BYTES, parse
from .process import ProcessedAlert, ingest, process, significance_block
from .store import AlertStore, StoredAlert

__all__ = [
    "Alert",
    "CoincidentEvent",
    "alert_schema",
    "alert_record",
    "KINDS",
    "ALERT_TYPES",
    "MAX_MESSAGE_BYTES",
    "parse",
    "to_kafka_json",
    "AlertStore",
    "StoredAlert",
    "ProcessedAlert",
    "process",
    "ingest",
    "significance_block",
    "Catalog",
    "load_icecat1",
    "listen",
    "replay",
]
