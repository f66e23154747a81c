"""Farming scan pixels out to workers over RabbitMQ (optional extra ``amqp``: pika).

Protocol (all bodies JSON)
--------------------------
- The scan (``AMQPExecutor``) publishes each batch in chunks to the durable work queue
  (default ``icecore.scan.tasks``): ``{"type": "task", "scan_id", "round", "chunk", "zenith",
  "azimuth", "seeds"}`` with ``reply_to`` = the scan's exclusive reply queue. Tasks expire after
  ``timeout`` seconds so an aborted scan leaves nothing behind.
- A worker that has not seen ``scan_id`` asks for the event once: it sends
  ``{"type": "event_request", "scan_id", "reply_to": <its private queue>}`` to the scan's reply
  queue and the scan answers with the fitter spec (``fitter_from_spec``); workers cache the
  fitters of the last few scans. So the event travels once per scan and worker, never per task.
- The worker fits the chunk with the C++ ``fit_batch``, publishes ``{"type": "result", "scan_id",
  "round", "chunk", "neg_llh", "vertex", "n_eval", "status", "worker", "redelivered"}``
  to ``reply_to`` (publisher confirms on) and only then acks the task. A worker killed mid-task
  never acks: RabbitMQ redelivers the task to another worker. The scan keeps the first result of
  every (round, chunk) and ignores duplicates and stale rounds.
- ``basic_qos(prefetch_count)`` bounds what a worker holds unacknowledged.

Floats travel as JSON numbers (Python's shortest round-trip repr), so results are bit-identical
to an in-process scan.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

import numpy as np

from .. import _core
from .._validation import check_positive, check_threads
from ..errors import InputError, ServiceUnavailable
from .adapt import fitter_from_spec
from .problem import ScanProblem

__all__ = ["AMQPExecutor", "run_worker", "DEFAULT_QUEUE"]

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "icecore.scan.tasks"


def _pika():
    try:
        import pika
    except ImportError:  # pragma: no cover - optional extra
        raise ServiceUnavailable("RabbitMQ support needs the 'amqp' extra: pip install 'icecore[amqp]'") from None
    return pika


def _connect(url: str):
    pika = _pika()
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise InputError(f"argument 'url': not an AMQP URL ({exc})", "url") from None
    params.heartbeat = 60
    params.blocked_connection_timeout = 60
    try:
        return pika.BlockingConnection(params)
    except Exception as exc:
        raise ServiceUnavailable(f"cannot connect to RabbitMQ at {_redact(url)}: {exc!r}") from None


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _declare_work_queue(channel: Any, queue: str) -> None:
    channel.queue_declare(queue=queue, durable=True)


class _Session:
    def __init__(self, executor: AMQPExecutor, problem: ScanProblem) -> None:
        if problem.spec is None:
            raise InputError("argument 'event': this fitter cannot be rebuilt by remote workers (no JSON spec); "
                             "scan in-process instead", "event")
        self.ex = executor
        self.pika = _pika()
        self.spec_json = json.dumps(problem.spec)
        self.scan_id = uuid.uuid4().hex
        self.conn = _connect(executor.url)
        self.ch = self.conn.channel()
        _declare_work_queue(self.ch, executor.queue)
        self.reply_q = self.ch.queue_declare(queue="", exclusive=True).method.queue
        self.round = 0
        self.stats: dict[str, int] = {"tasks": 0, "results": 0, "duplicates": 0, "stale": 0, "redelivered": 0,
                                      "event_requests": 0}
        self.workers: set[str] = set()

    def _handle_event_request(self, msg: dict[str, Any]) -> None:
        if msg.get("scan_id") != self.scan_id or not msg.get("reply_to"):
            return
        self.stats["event_requests"] += 1
        self.ch.basic_publish(exchange="", routing_key=str(msg["reply_to"]),
                              body=json.dumps({"type": "event", "scan_id": self.scan_id, "spec": self.spec_json}),
                              properties=self.pika.BasicProperties(correlation_id=self.scan_id))

    def evaluate(self, batch: np.ndarray) -> np.ndarray:
        """Fit ``batch`` (SCAN_TASK_DTYPE) on the workers; results as FIT_RESULT_DTYPE, in its order."""
        self.round += 1
        n = len(batch)
        chunks = [np.arange(i, min(i + self.ex.chunk_size, n)) for i in range(0, n, self.ex.chunk_size)]
        props = self.pika.BasicProperties(reply_to=self.reply_q, content_type="application/json",
                                          expiration=str(int(self.ex.timeout * 1000)))
        for k, idx in enumerate(chunks):
            body = {"type": "task", "scan_id": self.scan_id, "round": self.round, "chunk": k,
                    "zenith": batch["zenith"][idx].tolist(), "azimuth": batch["azimuth"][idx].tolist(),
                    "seeds": batch["seeds"][idx].tolist()}
            self.ch.basic_publish(exchange="", routing_key=self.ex.queue, body=json.dumps(body), properties=props)
        self.stats["tasks"] += len(chunks)
        out = np.empty(n, dtype=_core.scan.FIT_RESULT_DTYPE)
        pending = set(range(len(chunks)))
        last = time.monotonic()
        for method, _props, body in self.ch.consume(self.reply_q, auto_ack=True, inactivity_timeout=0.5):
            if method is None:
                if time.monotonic() - last > self.ex.timeout:
                    self.ch.cancel()
                    raise ServiceUnavailable(
                        f"no scan result from any worker for {self.ex.timeout:.0f} s ({len(pending)} of "
                        f"{len(chunks)} chunks of round {self.round} missing); are workers running on "
                        f"queue {self.ex.queue!r}?")
                continue
            try:
                msg = json.loads(body)
            except ValueError:
                log.warning("ignoring a malformed message on the reply queue")
                continue
            if msg.get("type") == "event_request":
                self._handle_event_request(msg)
                continue
            if msg.get("type") != "result" or msg.get("scan_id") != self.scan_id:
                continue
            if msg.get("round") != self.round:
                self.stats["stale"] += 1
                continue
            k = msg.get("chunk")
            if k not in pending:
                self.stats["duplicates"] += 1
                continue
            idx = chunks[k]
            try:
                out["neg_llh"][idx] = np.asarray(msg["neg_llh"], float)
                out["vertex"][idx] = np.asarray(msg["vertex"], float).reshape(len(idx), 4)
                out["n_eval"][idx] = np.asarray(msg["n_eval"], np.int32)
                out["status"][idx] = np.asarray(msg["status"], np.int32)
            except (KeyError, ValueError, TypeError):
                log.warning("ignoring a malformed result for chunk %s", k)
                continue
            pending.discard(k)
            self.stats["results"] += 1
            self.stats["redelivered"] += int(bool(msg.get("redelivered")))
            self.workers.add(str(msg.get("worker")))
            last = time.monotonic()
            if not pending:
                break
        self.ch.cancel()
        return out

    def close(self) -> None:
        try:
            if self.conn.is_open:
                self.conn.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass
        self.ex.last_stats = {**self.stats, "workers": sorted(self.workers)}


class AMQPExecutor:
    """Evaluate scan batches on remote workers (``icecore scan worker --amqp URL``).

    Parameters
    ----------
    url : str
        AMQP URL, e.g. ``amqp://guest:guest@localhost:5672/%2F``.
    queue : str
        Work queue shared with the workers.
    chunk_size : int
        Pixels per task message.
    timeout : float
        Seconds without any result before the scan fails with ``ServiceUnavailable``; also the
        expiry of task messages.

    After a scan, ``last_stats`` holds tasks, results, duplicates ignored, redelivered tasks,
    event requests and the worker ids that answered.
    """

    def __init__(self, url: str, *, queue: str = DEFAULT_QUEUE, chunk_size: int = 32, timeout: float = 300.0) -> None:
        if not isinstance(url, str) or not url.startswith(("amqp://", "amqps://")):
            raise InputError(f"argument 'url': expected an amqp:// URL, got {url!r}", "url")
        self.url = url
        self.queue = str(queue)
        self.chunk_size = int(check_positive(chunk_size, "chunk_size", integer=True))
        self.timeout = float(check_positive(timeout, "timeout"))
        self.last_stats: dict[str, Any] = {}

    def open(self, problem: ScanProblem) -> _Session:
        return _Session(self, problem)


def _parse_task(body: bytes) -> dict[str, Any] | None:
    """The task message: scan_id, round, chunk and the arrays; None (logged) if malformed."""
    try:
        msg = json.loads(body)
        return {"scan_id": str(msg["scan_id"]), "round": msg["round"],
                "chunk": msg["chunk"], "zenith": np.asarray(msg["zenith"], float),
                "azimuth": np.asarray(msg["azimuth"], float),
                "seeds": np.asarray(msg["seeds"], float).reshape(-1, 4)}
    except (ValueError, KeyError, TypeError):
        log.warning("dropping a malformed task")
        return None


def _fit_task(fitter: _core.scan.DirectionFitter, task: dict[str, Any], threads: int) -> dict[str, Any]:
    """Fit a task's directions; the result message (FIT_RESULT_DTYPE fields as JSON lists)."""
    res = fitter.fit_batch(task["zenith"], task["azimuth"], task["seeds"], threads=threads)
    return {"type": "result", "scan_id": task["scan_id"], "round": task["round"], "chunk": task["chunk"],
            "neg_llh": res["neg_llh"].tolist(), "vertex": res["vertex"].tolist(),
            "n_eval": res["n_eval"].tolist(), "status": res["status"].tolist()}


class _FitterCache:
    """The fitters of the last ``size`` scans; a new scan's spec is asked for once on its reply queue."""

    def __init__(self, conn: Any, size: int, timeout: float) -> None:
        self.conn = conn
        self.rpc = conn.channel()
        self.private_q = self.rpc.queue_declare(queue="", exclusive=True).method.queue
        self.size = size
        self.timeout = timeout
        self.cache: OrderedDict[str, _core.scan.DirectionFitter] = OrderedDict()

    def get(self, scan_id: str, reply_to: str) -> _core.scan.DirectionFitter | None:
        """The fitter of ``scan_id`` (None if the scan does not answer within the timeout)."""
        if scan_id in self.cache:
            self.cache.move_to_end(scan_id)
            return self.cache[scan_id]
        self.rpc.basic_publish(exchange="", routing_key=reply_to, body=json.dumps(
            {"type": "event_request", "scan_id": scan_id, "reply_to": self.private_q}))
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.timeout:
            method, _p, body = self.rpc.basic_get(self.private_q, auto_ack=True)
            if method is None:
                self.conn.sleep(0.02)
                continue
            msg = json.loads(body)
            if msg.get("type") == "event" and msg.get("scan_id") == scan_id:
                fitter = fitter_from_spec(json.loads(msg["spec"]))
                self.cache[scan_id] = fitter
                while len(self.cache) > self.size:
                    self.cache.popitem(last=False)
                return fitter
        return None


def run_worker(url: str, *, queue: str = DEFAULT_QUEUE, prefetch: int = 2, threads: int | None = 1,
               max_tasks: int | None = None, idle_timeout: float | None = None, event_timeout: float = 30.0,
               cache_size: int = 4) -> int:
    """Consume scan tasks until stopped (SIGINT/SIGTERM), ``max_tasks`` or ``idle_timeout`` s idle.

    Returns the number of tasks processed. Each task is acknowledged only after its result has
    been published (and confirmed by the broker).
    """
    pika = _pika()
    prefetch = int(check_positive(prefetch, "prefetch", integer=True))
    nthreads = check_threads(threads)
    worker_id = f"{uuid.uuid4().hex[:8]}"
    conn = _connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    _declare_work_queue(ch, queue)
    ch.basic_qos(prefetch_count=prefetch)
    fitters = _FitterCache(conn, cache_size, event_timeout)
    stop = {"flag": False}

    def _stop(signum: int, frame: Any) -> None:
        stop["flag"] = True

    old = {}
    if threading.current_thread() is threading.main_thread():
        old = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}

    done = 0
    idle_since = time.monotonic()
    log.info("scan worker %s consuming %r (prefetch %d)", worker_id, queue, prefetch)
    try:
        for method, props, body in ch.consume(queue, inactivity_timeout=0.5):
            if stop["flag"] or (max_tasks is not None and done >= max_tasks):
                break
            if method is None:
                if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                    break
                continue
            task = _parse_task(body)
            reply_to = props.reply_to
            fitter = fitters.get(task["scan_id"], reply_to) if task is not None and reply_to else None
            if task is None or fitter is None:  # malformed, or the scan is gone (never answered): drop it
                if task is not None:
                    log.warning("no event for scan %s; dropping its task", task["scan_id"])
                ch.basic_ack(method.delivery_tag)
                continue
            reply = {**_fit_task(fitter, task, nthreads), "worker": worker_id, "redelivered": bool(method.redelivered)}
            ch.basic_publish(exchange="", routing_key=reply_to, body=json.dumps(reply),
                             properties=pika.BasicProperties(correlation_id=task["scan_id"]))
            ch.basic_ack(method.delivery_tag)  # only after the result is out (publisher confirms)
            done += 1
            idle_since = time.monotonic()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        try:
            ch.cancel()
            conn.close()
        except Exception:  # pragma: no cover
            pass
    log.info("scan worker %s processed %d tasks", worker_id, done)
    return done
