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
from .process import check_n_trials, ingest
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
    commit_errors: int = 0
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


class _Health:
    """Broker/authentication errors reported by librdkafka (``error_cb``) and the retry budget.

    librdkafka reports an unreachable broker, a refused connection or a failed OAuth/OIDC
    token fetch only through its error callback (``poll`` just returns nothing), so a listener
    with bad credentials looked healthy. Here every such error is counted and logged (once per
    kind, then every 30 s), and :meth:`check` raises :class:`ServiceUnavailable` once errors
    have been reported for ``budget_s`` seconds without any sign of health in between (an
    assignment, a message, a successful commit or metadata request).
    """

    _REPEAT_LOG_S = 30.0

    def __init__(self, stats: ListenStats, budget_s: float, user_cb: Callable[[Any], None] | None) -> None:
        self.stats = stats
        self.budget_s = budget_s
        self.user_cb = user_cb
        self.failing_since: float | None = None
        self.last_error: Any = None
        self.fatal: Any = None
        self._logged: dict[str, float] = {}
        self._last_probe = 0.0

    def error_cb(self, err: Any) -> None:
        self.stats.broker_errors += 1
        self.last_error = err
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = now
        try:
            fatal, name = bool(err.fatal()), str(err.name())
        except Exception:  # noqa: BLE001 - not a KafkaError (tests)
            fatal, name = False, type(err).__name__
        if fatal:
            self.fatal = err
        if now - self._logged.get(name, -1e9) >= self._REPEAT_LOG_S:
            self._logged[name] = now
            logger.error("Kafka broker error %s (%d so far; giving up after %.0f s without recovery): %s",
                         name, self.stats.broker_errors, self.budget_s, err)
        if self.user_cb is not None:
            self.user_cb(err)

    def ok(self) -> None:
        if self.failing_since is not None:
            logger.info("Kafka connection healthy again after %.1f s of errors", time.monotonic() - self.failing_since)
        self.failing_since = None

    def check(self, consumer: Any, topics: Sequence[str]) -> None:
        """Raise ServiceUnavailable when the retry budget is spent (or on a fatal error)."""
        if self.fatal is not None:
            raise ServiceUnavailable(f"fatal Kafka error: {self.fatal}")
        if self.failing_since is None:
            return
        now = time.monotonic()
        if now - self._last_probe > 2.0 and now - self.failing_since > 1.0:
            self._last_probe = now
            if _metadata_ok(consumer, topics[0]):
                self.ok()
                return
        if now - self.failing_since > self.budget_s:
            raise ServiceUnavailable(
                f"Kafka broker unreachable or refusing the connection for {now - self.failing_since:.0f} s "
                f"({self.stats.broker_errors} errors; last: {self.last_error}); check bootstrap servers, "
                "network and credentials")


def _metadata_ok(consumer: Any, topic: str) -> bool:
    list_topics = getattr(consumer, "list_topics", None)
    if list_topics is None:
        return False
    try:
        list_topics(topic, timeout=1.0)
    except Exception:  # noqa: BLE001 - KafkaException: still unreachable
        return False
    return True


_RDKAFKA_LOGGER = logging.getLogger(__name__ + ".librdkafka")


class _RepeatFilter(logging.Filter):
    """librdkafka repeats a failing connect every few ms: let each distinct line through every 30 s."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = str(record.msg)[:200], time.monotonic()
        if now - self._seen.get(key, -1e9) < 30.0:
            return False
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = now
        return True


_RDKAFKA_LOGGER.addFilter(_RepeatFilter())


def _with_callbacks(cfg: dict[str, Any], health: _Health) -> dict[str, Any]:
    out = dict(cfg)
    out["error_cb"] = health.error_cb
    out.setdefault("logger", _RDKAFKA_LOGGER)  # librdkafka's own log lines go through Python logging
    return out


def _commit(consumer: Any, msg: Any, stats: ListenStats, health: _Health) -> None:
    """Synchronous commit; a failure is counted and logged, never fatal (the message is re-read later)."""
    try:
        consumer.commit(message=msg, asynchronous=False)
    except Exception as exc:  # noqa: BLE001 - KafkaException (rebalance, coordinator moved...)
        stats.broker_errors += 1
        stats.commit_errors += 1
        if health.failing_since is None:
            health.failing_since = time.monotonic()
        health.last_error = exc
        logger.warning("commit of %s[%s]@%s failed (will be re-read and de-duplicated): %s",
                       msg.topic(), msg.partition(), msg.offset(), exc)
        return
    health.ok()


def _handle(store: AlertStore, msg: Any, stats: ListenStats, n_trials: float,
            on_stored: Callable[[Any, Any], None] | None,
            handler: Callable[..., StoredAlert | Path] | None = None) -> None:
    stats.received += 1
    meta = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
            "timestamp_ms": msg.timestamp()[1]}
    result = (handler or ingest)(store, msg.value() or b"", topic=msg.topic(), n_trials=n_trials, meta=meta)
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


def _poll_error(msg: Any, stats: ListenStats, health: _Health | None = None) -> None:
    err = msg.error()
    if err.code() == _confluent_kafka().KafkaError._PARTITION_EOF:
        if health is not None:
            health.ok()
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
           on_stored: Callable[[Any, Any], None] | None = None, broker_timeout: float = 60.0,
           consumer_factory: Callable[..., Any] | None = None,
           handler: Callable[..., StoredAlert | Path] | None = None) -> ListenStats:
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
        ``enable.auto.commit`` is always forced off; an ``error_cb`` given here is still called.
    stop : threading.Event, optional
        Set it to stop cleanly; SIGINT/SIGTERM also stop when called from the main thread and
        ``handle_signals`` is true.
    n_trials : float
        Trials factor of the stored significance block.
    max_messages : int, optional
        Stop after this many messages.
    idle_timeout : float, optional
        Stop after this many seconds without a message (for batch use and tests), counted from
        the partition assignment or the last message; a listener that gets no partition at all
        stops ``max(idle_timeout, 10)`` seconds after it started.
    poll_timeout : float
        Seconds of one ``poll`` (the granularity of the timeouts and of stopping).
    on_stored : callable, optional
        ``on_stored(result, message)`` after each message is stored (before its commit).
    broker_timeout : float
        Retry budget, in seconds, for broker and authentication errors (unreachable broker,
        refused connection, failed OAuth token): once errors have been reported for this long
        without any sign of health, :class:`~icecore.errors.ServiceUnavailable` is raised (the
        CLI exits with status 2). Every error is counted in ``broker_errors``.
    consumer_factory : callable, optional
        ``factory(config, client_id, client_secret, domain)`` returning a confluent-kafka-like
        consumer; default :class:`gcn_kafka.Consumer`.
    handler : callable, optional
        Replaces :func:`~icecore.alerts.process.ingest` per message, with its signature and
        contract (``handler(store, value, topic=, n_trials=, meta=)`` returning a StoredAlert, or
        the dead-letter Path; StorageError when nothing may be committed). Used by
        :func:`icecore.lvk.pipeline.listen` to run the LVK follow-up with this same loop.

    Returns
    -------
    ListenStats

    Notes
    -----
    A message that cannot be parsed or processed is dead-lettered, logged and committed; a
    storage failure (disk full...) stops the listener *without* committing, so the message is
    re-read on restart. A failed commit is counted and logged; the message is then re-read
    later and de-duplicated by the store.
    """
    if not isinstance(group_id, str) or not group_id.strip():
        raise InputError("argument 'group_id': a fixed, non-empty consumer group id is required", "group_id")
    topics = _check_topics(topics)
    check_n_trials(n_trials)
    _check_seconds(broker_timeout, "broker_timeout")
    if idle_timeout is not None:
        _check_seconds(idle_timeout, "idle_timeout")
    if not isinstance(store, AlertStore):
        store = AlertStore(store)
    cfg, cid, secret = consumer_config(group_id=group_id, config=config, client_id=client_id,
                                       client_secret=client_secret)
    stats = ListenStats()
    health = _Health(stats, broker_timeout, cfg.get("error_cb"))
    consumer = _new_consumer(consumer_factory, _with_callbacks(cfg, health), cid, secret, domain)
    stopper = _Stopper(stop, handle_signals)
    started = time.monotonic()
    last: list[float | None] = [None]  # idle clock: first partition assignment, then each message

    def on_assign(c: Any, partitions: Any) -> None:
        logger.info("assigned %d partition(s)", len(partitions))
        health.ok()
        if last[0] is None:
            last[0] = time.monotonic()

    try:
        consumer.subscribe(list(topics), on_assign=on_assign)
        logger.info("listening to %s as group %s", ", ".join(topics), group_id)
        while not stopper.is_set():
            msg = consumer.poll(poll_timeout)
            health.check(consumer, topics)
            if msg is None:
                if idle_timeout is not None and _idle(last[0], started, idle_timeout):
                    stats.stopped_by = "idle_timeout"
                    if last[0] is None:
                        logger.warning("no partition was assigned within %.0f s", time.monotonic() - started)
                    break
                continue
            if msg.error():
                _poll_error(msg, stats, health)
                continue
            health.ok()
            last[0] = time.monotonic()
            _handle(store, msg, stats, n_trials, on_stored, handler)  # StorageError propagates: no commit
            _commit(consumer, msg, stats, health)
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


def _idle(last: float | None, started: float, idle_timeout: float) -> bool:
    now = time.monotonic()
    if last is None:  # never assigned: allow a group join, but not forever
        return now - started > max(idle_timeout, 10.0)
    return now - last > idle_timeout


def _check_seconds(x: Any, name: str) -> None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not (x >= 0) or x == float("inf"):
        raise InputError(f"argument '{name}': expected a finite number of seconds >= 0, got {x!r}", name)


def _new_consumer(factory: Callable[..., Any] | None, cfg: dict[str, Any], cid: str | None, secret: str | None,
                  domain: str | None) -> Any:
    """The consumer; a configuration librdkafka refuses is an InputError, not a raw KafkaException."""
    ck = _confluent_kafka()
    try:
        return (factory or _make_consumer)(cfg, cid, secret, domain)
    except ck.KafkaException as exc:
        raise InputError(f"argument 'config': Kafka refused the configuration: {exc}", "config") from None


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
    stats = ListenStats()
    health = _Health(stats, timeout, cfg.get("error_cb"))
    consumer = _new_consumer(consumer_factory, _with_callbacks(cfg, health), cid, secret, domain)
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
    except _confluent_kafka().KafkaException as exc:
        err = exc.args[0] if exc.args else exc
        last = f"; last broker error: {health.last_error}" if health.last_error is not None else ""
        raise ServiceUnavailable(f"Kafka replay failed: {err}{last} ({stats.broker_errors} broker errors); "
                                 "check bootstrap servers, network and credentials") from None
    finally:
        try:
            consumer.close()
        except Exception as exc:  # noqa: BLE001 - closing a broken client
            logger.warning("closing the consumer failed: %s", exc)
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
            last = f" ({stats.broker_errors} broker errors)" if stats.broker_errors else ""
            raise ServiceUnavailable(f"replay timed out after {timeout} s with {len(pending)} partitions "
                                     f"unfinished{last}")
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
