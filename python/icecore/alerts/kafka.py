"""Listening to and replaying the GCN Kafka IceCube topics (optional extra ``kafka``).

Production use connects to NASA GCN with :class:`gcn_kafka.Consumer` and OAuth credentials from
``GCN_CLIENT_ID`` / ``GCN_CLIENT_SECRET`` (or the ``client_id`` / ``client_secret`` arguments;
never hard-coded). Passing ``config={"bootstrap.servers": "host:port", "security.protocol":
"plaintext"}`` without credentials talks to any other broker (a local test cluster) instead.

Delivery is at-least-once: auto-commit is off and an offset is committed only after the alert
(or its dead-letter entry) is on disk; the idempotent :class:`~icecore.alerts.AlertStore` makes
that exactly-once on disk across crashes and restarts.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._optional import require
from ..errors import InputError, ServiceUnavailable
from .kafka_json import TOPIC_GOLD_BRONZE, TOPIC_LVK
from .process import ingest
from .store import AlertStore, StoredAlert

__all__ = ["listen", "replay", "ListenStats", "DEFAULT_TOPICS", "CLASSIC_TOPICS", "consumer_config"]

logger = logging.getLogger(__name__)

#: The IceCube Kafka JSON topics.
DEFAULT_TOPICS = (TOPIC_GOLD_BRONZE, TOPIC_LVK)
#: The classic IceCube topics (VOEvent / text / binary) carried on GCN Kafka.
CLASSIC_TOPICS = tuple(
    f"gcn.classic.{fmt}.{name}"
    for fmt in ("voevent", "text", "binary")
    for name in ("ICECUBE_ASTROTRACK_GOLD", "ICECUBE_ASTROTRACK_BRONZE", "ICECUBE_CASCADE")
)


@dataclass
class ListenStats:
    """Counters of a :func:`listen` or :func:`replay` run."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    broker_errors: int = 0
    stopped_by: str = ""
    paths: list[Path] = field(default_factory=list, repr=False)


def consumer_config(*, group_id: str | None, config: dict[str, Any] | None = None, client_id: str | None = None,
                    client_secret: str | None = None) -> tuple[dict[str, Any], str | None, str | None]:
    """The confluent-kafka configuration used by :func:`listen` / :func:`replay`.

    Returns (config, client_id, client_secret); credentials fall back to the environment
    variables GCN_CLIENT_ID / GCN_CLIENT_SECRET. Raises InputError when neither credentials nor
    an explicit ``bootstrap.servers`` are given.
    """
    cfg = dict(config or {})
    if group_id is not None:
        cfg["group.id"] = group_id
    cfg["enable.auto.commit"] = False
    cfg.setdefault("auto.offset.reset", "earliest")
    cfg.setdefault("enable.auto.offset.store", False)
    cid = client_id or os.environ.get("GCN_CLIENT_ID") or None
    secret = client_secret or os.environ.get("GCN_CLIENT_SECRET") or None
    if cid is None and "bootstrap.servers" not in cfg:
        raise InputError(
            "argument 'client_id': GCN credentials are needed (set GCN_CLIENT_ID and GCN_CLIENT_SECRET, "
            "or pass client_id/client_secret), or give config['bootstrap.servers'] for another broker",
            "client_id",
        )
    if cid is not None and secret is None:
        raise InputError("argument 'client_secret': GCN_CLIENT_SECRET (or client_secret) is required with a client id",
                         "client_secret")
    return cfg, cid, secret


def _confluent_kafka() -> Any:
    return require("confluent_kafka", "kafka", "GCN Kafka listening and replay")


def _make_consumer(cfg: dict[str, Any], cid: str | None, secret: str | None, domain: str | None) -> Any:
    gcn_kafka = require("gcn_kafka", "kafka", "GCN Kafka listening and replay")
    return gcn_kafka.Consumer(config=cfg, client_id=cid, client_secret=secret, domain=domain)


class _Stopper:
    """SIGINT/SIGTERM and a threading.Event, whichever comes first."""

    def __init__(self, event: threading.Event | None, handle_signals: bool) -> None:
        self.event = event if event is not None else threading.Event()
        self.reason = ""
        self._old: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)

    def _handler(self, signum: int, frame: Any) -> None:
        self.reason = signal.Signals(signum).name
        logger.info("received %s: stopping after the current message", self.reason)
        self.event.set()

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def is_set(self) -> bool:
        return self.event.is_set()


def _handle(store: AlertStore, msg: Any, stats: ListenStats, n_trials: float,
            on_stored: Callable[[Any, Any], None] | None) -> None:
    stats.received += 1
    meta = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
            "timestamp_ms": msg.timestamp()[1]}
    result = ingest(store, msg.value() or b"", topic=msg.topic(), n_trials=n_trials, meta=meta)
    if isinstance(result, StoredAlert):
        if result.created:
            stats.stored += 1
            stats.paths.append(result.path)
        else:
            stats.duplicates += 1
    else:
        stats.dead_lettered += 1
    if on_stored is not None:
        on_stored(result, msg)


def _poll_error(msg: Any, stats: ListenStats) -> None:
    err = msg.error()
    if err.code() == _confluent_kafka().KafkaError._PARTITION_EOF:
        return
    stats.broker_errors += 1
    if err.fatal():
        raise ServiceUnavailable(f"fatal Kafka error: {err}")
    logger.warning("Kafka error (continuing): %s", err)


def listen(store: AlertStore | str | os.PathLike, topics: Sequence[str] = DEFAULT_TOPICS, *, group_id: str,
           client_id: str | None = None, client_secret: str | None = None, domain: str | None = None,
           config: dict[str, Any] | None = None, stop: threading.Event | None = None,
           handle_signals: bool = True, n_trials: float = 1, max_messages: int | None = None,
           idle_timeout: float | None = None, poll_timeout: float = 1.0,
           on_stored: Callable[[Any, Any], None] | None = None) -> ListenStats:
    """Consume GCN notices into an :class:`AlertStore` until stopped.

    Parameters
    ----------
    store : AlertStore or path
        Destination (a path creates/opens a store there).
    topics : sequence of str
        Kafka topics; default the two IceCube JSON topics (see also :data:`CLASSIC_TOPICS`).
    group_id : str
        Fixed consumer group id (required: gcn-kafka's random default loses the position on
        restart).
    client_id, client_secret : str, optional
        GCN credentials; default from GCN_CLIENT_ID / GCN_CLIENT_SECRET.
    domain : str, optional
        GCN domain (``gcn.nasa.gov``, ``test.gcn.nasa.gov``...).
    config : dict, optional
        Extra confluent-kafka settings (e.g. ``bootstrap.servers`` for a non-GCN broker).
        ``enable.auto.commit`` is always forced off.
    stop : threading.Event, optional
        Set it to stop cleanly; SIGINT/SIGTERM also stop when called from the main thread and
        ``handle_signals`` is true.
    n_trials : float
        Trials factor of the stored significance block.
    max_messages : int, optional
        Stop after this many messages.
    idle_timeout : float, optional
        Stop after this many seconds without a message, counted from the partition assignment
        (for batch use and tests).
    on_stored : callable, optional
        ``on_stored(result, message)`` after each message is stored (before its commit).

    Returns
    -------
    ListenStats

    Notes
    -----
    A message that cannot be parsed is dead-lettered, logged and committed; a storage failure
    (disk full...) stops the listener *without* committing, so the message is re-read on restart.
    """
    if not isinstance(group_id, str) or not group_id.strip():
        raise InputError("argument 'group_id': a fixed, non-empty consumer group id is required", "group_id")
    topics = _check_topics(topics)
    if not isinstance(store, AlertStore):
        store = AlertStore(store)
    cfg, cid, secret = consumer_config(group_id=group_id, config=config, client_id=client_id,
                                       client_secret=client_secret)
    consumer = _make_consumer(cfg, cid, secret, domain)
    stopper = _Stopper(stop, handle_signals)
    stats = ListenStats()
    started = time.monotonic()
    last: list[float | None] = [None]  # idle clock starts at the first partition assignment

    def on_assign(c: Any, partitions: Any) -> None:
        logger.info("assigned %d partition(s)", len(partitions))
        if last[0] is None:
            last[0] = time.monotonic()

    try:
        consumer.subscribe(list(topics), on_assign=on_assign)
        logger.info("listening to %s as group %s", ", ".join(topics), group_id)
        while not stopper.is_set():
            msg = consumer.poll(poll_timeout)
            if msg is None:
                if idle_timeout is not None:
                    ref = last[0] if last[0] is not None else started + 30.0  # allow 30 s to join
                    if time.monotonic() - ref > idle_timeout:
                        stats.stopped_by = "idle_timeout"
                        break
                continue
            if msg.error():
                _poll_error(msg, stats)
                continue
            last[0] = time.monotonic()
            _handle(store, msg, stats, n_trials, on_stored)  # StorageError propagates: no commit
            consumer.commit(message=msg, asynchronous=False)
            if max_messages is not None and stats.received >= max_messages:
                stats.stopped_by = "max_messages"
                break
        if stopper.is_set():
            stats.stopped_by = stopper.reason or "stop_event"
    finally:
        stopper.restore()
        try:
            consumer.close()
        except Exception as exc:  # pragma: no cover - closing a broken client
            logger.warning("closing the consumer failed: %s", exc)
    logger.info("listener stopped (%s): %s", stats.stopped_by, stats)
    return stats


def _check_topics(topics: Any) -> tuple[str, ...]:
    if isinstance(topics, str):
        topics = (topics,)
    topics = tuple(topics)
    if not topics or not all(isinstance(t, str) and t for t in topics):
        raise InputError("argument 'topics': a non-empty list of topic names is required", "topics")
    return topics


def _unix_ms(t: Any, name: str) -> int:
    from ..coords import as_time

    tt = as_time(t, name)
    return int(round(float(tt.utc.unix) * 1000.0))


def replay(start: Any, end: Any, topics: Sequence[str] = DEFAULT_TOPICS, *, store: AlertStore | str | os.PathLike,
           client_id: str | None = None, client_secret: str | None = None, domain: str | None = None,
           config: dict[str, Any] | None = None, n_trials: float = 1, timeout: float = 60.0,
           stop: threading.Event | None = None,
           consumer_factory: Callable[..., Any] | None = None) -> ListenStats:
    """Store every notice published between ``start`` and ``end`` on ``topics``.

    Offsets come from ``offsets_for_times`` over *all* partitions of each topic (the common
    notebook recipe only reads partition 0), for both ends of the window; messages are read up
    to each partition's end offset and filtered by their timestamp. Nothing is committed (a
    throw-away consumer group is used unless ``config['group.id']`` is given).

    Parameters
    ----------
    start, end : time-like
        Window (astropy Time, ISO string, datetime...); ``end`` exclusive.
    timeout : float
        Seconds allowed for metadata look-ups and for reading the window.
    consumer_factory : callable, optional
        ``factory(config, client_id, client_secret, domain)`` returning a confluent-kafka-like
        consumer; default :class:`gcn_kafka.Consumer`.
    """
    topics = _check_topics(topics)
    t0, t1 = _unix_ms(start, "start"), _unix_ms(end, "end")
    if t1 <= t0:
        raise InputError("argument 'end': must be after 'start'", "end")
    if not isinstance(store, AlertStore):
        store = AlertStore(store)
    topic_partition = _confluent_kafka().TopicPartition
    group = (config or {}).get("group.id") or f"icecore-replay-{uuid.uuid4()}"  # never committed
    cfg, cid, secret = consumer_config(group_id=group, config=config, client_id=client_id,
                                       client_secret=client_secret)
    consumer = (consumer_factory or _make_consumer)(cfg, cid, secret, domain)
    stats = ListenStats()
    deadline = time.monotonic() + timeout
    try:
        starts, ends = _window_offsets(consumer, topic_partition, topics, t0, t1, timeout)
        if not starts:
            stats.stopped_by = "empty_window"
            return stats
        consumer.assign(starts)
        _read_window(consumer, store, dict(ends), (t0, t1), stats, n_trials, stop, deadline, timeout)
        if not stats.stopped_by:
            stats.stopped_by = "window_done"
    finally:
        consumer.close()
    return stats


def _window_offsets(consumer: Any, topic_partition: Any, topics: Sequence[str], t0: int, t1: int,
                    timeout: float) -> tuple[list[Any], dict[tuple[str, int], int]]:
    """Start positions and end offsets (exclusive) of the window [t0, t1) ms in every partition."""
    starts: list[Any] = []
    ends: dict[tuple[str, int], int] = {}
    for topic in topics:
        md = consumer.list_topics(topic, timeout=timeout)
        tmd = md.topics.get(topic)
        if tmd is None or tmd.error is not None or not tmd.partitions:
            logger.warning("topic %s not available: %s", topic, None if tmd is None else tmd.error)
            continue
        parts = sorted(tmd.partitions)
        first = consumer.offsets_for_times([topic_partition(topic, p, t0) for p in parts], timeout=timeout)
        last = consumer.offsets_for_times([topic_partition(topic, p, t1) for p in parts], timeout=timeout)
        for a, b in zip(first, last):
            if a.error or b.error:
                raise ServiceUnavailable(f"offsets_for_times failed for {topic}[{a.partition}]: {a.error or b.error}")
            if a.offset < 0:  # no message at or after start in this partition
                continue
            if b.offset < 0:  # nothing after end: read to the high watermark
                _, b_off = consumer.get_watermark_offsets(topic_partition(topic, a.partition), timeout=timeout)
            else:
                b_off = b.offset
            if b_off > a.offset:
                starts.append(topic_partition(topic, a.partition, a.offset))
                ends[(topic, a.partition)] = b_off
    return starts, ends


def _read_window(consumer: Any, store: AlertStore, pending: dict[tuple[str, int], int], window: tuple[int, int],
                 stats: ListenStats, n_trials: float, stop: threading.Event | None, deadline: float,
                 timeout: float) -> None:
    """Store the messages of the window until every partition reached its end offset."""
    t0, t1 = window
    while pending:
        if stop is not None and stop.is_set():
            stats.stopped_by = "stop_event"
            break
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"replay timed out after {timeout} s with {len(pending)} partitions unfinished")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            _poll_error(msg, stats)
            continue
        key = (msg.topic(), msg.partition())
        if key not in pending or msg.offset() >= pending[key]:
            continue
        ts = msg.timestamp()[1]
        if t0 <= ts < t1:
            _handle(store, msg, stats, n_trials, None)
        if msg.offset() + 1 >= pending[key]:
            del pending[key]
