"""Farming scan pixels out to workers over RabbitMQ (optional extra ``amqp``: pika).

Protocol (all bodies JSON; the messages and their checks are in :mod:`.amqp_protocol`)
--------------------------------------------------------------------------------------
- The scan (``AMQPExecutor``) publishes each batch in chunks to the durable work queue
  (default ``icecore.scan.tasks``) with ``reply_to`` = the scan's exclusive reply queue. Each
  publication carries a fresh random ``nonce``; tasks expire after ``timeout`` seconds so an
  aborted scan leaves nothing behind.
- A worker that has not seen ``scan_id`` asks for the event once (``event_request`` to the
  scan's reply queue, mandatory); the scan answers with the fitter spec (``fitter_from_spec``),
  or ``event_unknown`` for a scan id that is not its own. A reply queue that no longer exists
  (the scan ended or died) makes the request unroutable. Either way the worker drops that
  scan's tasks at once and remembers the id. Workers cache the fitters of the last few scans.
- The worker validates the task (lengths, finiteness, ranges, header); a task it cannot fit is
  copied to the dead-letter queue ``<queue>.dead`` (reason in the ``x-icecore-error`` header),
  acknowledged, and reported to the scan as ``task_error``. Otherwise it fits the chunk with
  the C++ ``fit_batch``, publishes the result (nonce and pixel ids echoed, worker id) to
  ``reply_to`` (publisher confirms on) and only then acks the task. A worker killed mid-task
  never acks: RabbitMQ redelivers the task to another worker.
- The scan validates every reply: garbage, non-objects, unknown nonces, stale rounds and
  duplicates are counted and ignored; a result that fails the checks (shape, finiteness, pixel
  ids of the chunk) is rejected and its chunk published again at once, as is a refused one; chunks
  missing for ``requeue_after`` seconds while nothing arrives are published again. It records
  which worker answered each chunk (``last_stats["answers"]``).
- ``basic_qos(prefetch_count)`` bounds what a worker holds unacknowledged.
- The scan acknowledges each reply-queue message after handling it: messages received but not yet
  handled when a round ends (a new worker's event request behind the round's last result) go back
  to the reply queue on ``cancel()`` and are answered in the next round (with ``auto_ack`` pika
  drops them, and that worker used to wait ``event_timeout`` and then drop the scan's tasks).
- A worker whose event request gets no answer within ``event_timeout`` hands the task back to the
  broker (``nack``, requeue) and does not mark the scan gone; only an unroutable request (the reply
  queue is gone) or ``event_unknown`` does.
- Chunks missing for ``requeue_after`` s are published again however many attempts they used
  (bounded by ``timeout``); ``max_attempts`` bounds the publications after refusals/rejections.
- The same queue and workers also run the resimulation jobs of a per-event calibration
  (``type="resimulation"``, :mod:`.amqp_resim`, :mod:`.amqp_resim_protocol`).

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
from .amqp_protocol import (
    MAX_TASK_PIXELS,
    PROTOCOL_VERSION,
    ProtocolError,
    clean_worker_id,
    decode,
    parse_result,
    parse_task,
    task_header,
)
from .problem import ScanProblem

__all__ = ["AMQPExecutor", "run_worker", "dead_letter_queue", "DEFAULT_QUEUE"]

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


def _chunk_indices(nside: np.ndarray, size: int) -> list[np.ndarray]:
    """Consecutive index runs of at most ``size`` with one nside each (a task has one nside)."""
    n = len(nside)
    cuts = [0, *(np.flatnonzero(np.diff(nside)) + 1).tolist(), n]
    return [np.arange(i, min(i + size, b)) for a, b in zip(cuts, cuts[1:]) for i in range(a, b, size)]


class _Chunk:
    """One chunk of a round: its batch indices, pixel ids, the nonces published for it, attempts."""

    __slots__ = ("idx", "pixel", "nonces", "attempts", "published", "lost")

    def __init__(self, idx: np.ndarray, pixel: np.ndarray) -> None:
        self.idx = idx
        self.pixel = pixel
        self.nonces: set[str] = set()
        self.attempts = 0
        self.published = 0.0
        self.lost = 0  # publications after the chunk went missing (not counted against max_attempts)


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
        self.stats: dict[str, int] = {k: 0 for k in (
            "tasks", "results", "duplicates", "stale", "redelivered", "event_requests", "unknown_scan_requests",
            "garbage", "rejected_results", "task_errors", "requeued")}
        self.workers: set[str] = set()
        self.answers: list[dict[str, Any]] = []
        self.probe: Any = None  # a second channel for queue-depth checks

    # -- publishing -----------------------------------------------------------------------
    def _publish(self, batch: np.ndarray, k: int, chunk: _Chunk) -> None:
        nonce = uuid.uuid4().hex
        chunk.nonces.add(nonce)
        chunk.attempts += 1
        chunk.published = time.monotonic()
        idx = chunk.idx
        body = {"type": "task", "v": PROTOCOL_VERSION, "scan_id": self.scan_id, "round": self.round, "chunk": k,
                "nonce": nonce, "nside": int(batch["nside"][idx[0]]), "pixel": chunk.pixel.tolist(),
                "zenith": batch["zenith"][idx].tolist(), "azimuth": batch["azimuth"][idx].tolist(),
                "seeds": batch["seeds"][idx].tolist()}
        props = self.pika.BasicProperties(reply_to=self.reply_q, content_type="application/json",
                                          expiration=str(int(self.ex.timeout * 1000)))
        self.ch.basic_publish(exchange="", routing_key=self.ex.queue, body=json.dumps(body), properties=props)
        self.stats["tasks"] += 1

    def _requeue(self, batch: np.ndarray, k: int, chunk: _Chunk, why: str, *, refused: bool = True) -> None:
        """Publish chunk ``k`` again: after a refusal/rejection at most ``max_attempts`` publications in
        all; a missing chunk (lost to a consumer) always, until the scan's timeout."""
        if refused and chunk.attempts - chunk.lost >= self.ex.max_attempts:
            log.warning("chunk %d of round %d: not re-queued, %d attempts used (%s)", k, self.round,
                        chunk.attempts - chunk.lost, why)
            return
        chunk.lost += not refused
        log.info("re-queueing chunk %d of round %d (%s)", k, self.round, why)
        self.stats["requeued"] += 1
        self._publish(batch, k, chunk)

    def _work_queue_drained(self) -> bool:
        """True if no task waits in the work queue (the missing ones were taken and never answered)."""
        if self.probe is None:
            self.probe = self.conn.channel()
        return int(self.probe.queue_declare(queue=self.ex.queue, passive=True).method.message_count) == 0

    # -- replies --------------------------------------------------------------------------
    def _handle_event_request(self, msg: dict[str, Any]) -> None:
        reply_to = msg.get("reply_to")
        if not isinstance(reply_to, str) or not 0 < len(reply_to) <= 255:
            self.stats["garbage"] += 1
            return
        if msg.get("scan_id") == self.scan_id:
            self.stats["event_requests"] += 1
            reply = {"type": "event", "scan_id": self.scan_id, "spec": self.spec_json}
        else:  # a task of a scan that is not (or no longer) this one: tell the worker at once
            self.stats["unknown_scan_requests"] += 1
            reply = {"type": "event_unknown", "scan_id": str(msg.get("scan_id"))[:128]}
        self.ch.basic_publish(exchange="", routing_key=reply_to, body=json.dumps(reply),
                              properties=self.pika.BasicProperties(correlation_id=self.scan_id))

    def _chunk_of(self, msg: dict[str, Any], chunks: list[_Chunk], pending: set[int]) -> int | None:
        """The pending chunk a result/task_error refers to (None: counted as stale/duplicate/garbage)."""
        head = task_header(msg)
        if head is None or head[0] != self.scan_id:
            self.stats["garbage"] += 1
            return None
        _, rnd, k, nonce = head
        if rnd != self.round:
            self.stats["stale"] += 1
            return None
        if k >= len(chunks) or nonce not in chunks[k].nonces:
            self.stats["garbage"] += 1  # a nonce this scan never published: injected or corrupt
            return None
        if k not in pending:
            self.stats["duplicates"] += 1
            return None
        return k

    def _handle_reply(self, body: Any, batch: np.ndarray, chunks: list[_Chunk], pending: set[int],
                      out: np.ndarray) -> bool:
        """Process one reply-queue message; True if it completed a chunk."""
        msg = _decode_reply(body, self.stats, "reply queue")
        if msg is None:
            return False
        kind = msg.get("type")
        if kind == "event_request":
            self._handle_event_request(msg)
            return False
        if kind not in ("result", "task_error"):
            self.stats["garbage"] += 1
            return False
        k = self._chunk_of(msg, chunks, pending)
        if k is None:
            return False
        chunk = chunks[k]
        if kind == "task_error":
            self.stats["task_errors"] += 1
            err = str(msg.get("error"))[:300]
            log.warning("worker %s refused chunk %d of round %d: %s", clean_worker_id(msg.get("worker")), k,
                        self.round, err)
            if chunk.attempts - chunk.lost >= self.ex.max_attempts:
                raise ServiceUnavailable(f"chunk {k} of round {self.round} was refused by workers "
                                         f"{chunk.attempts - chunk.lost} times (last error: {err})")
            self._requeue(batch, k, chunk, "a worker refused it")
            return False
        try:
            res = parse_result(msg, chunk.pixel)
        except ProtocolError as exc:
            self.stats["rejected_results"] += 1
            log.warning("rejecting a result for chunk %d of round %d: %s", k, self.round, exc.reason)
            self._requeue(batch, k, chunk, "its result was rejected")
            return False
        idx = chunk.idx
        out["neg_llh"][idx] = res.neg_llh
        out["vertex"][idx] = res.vertex
        out["n_eval"][idx] = res.n_eval
        out["status"][idx] = res.status
        pending.discard(k)
        self.stats["results"] += 1
        self.stats["redelivered"] += int(res.redelivered)
        self.workers.add(res.worker)
        self.answers.append({"round": self.round, "chunk": k, "nside": int(batch["nside"][idx[0]]),
                             "pixels": len(idx), "worker": res.worker, "redelivered": res.redelivered,
                             "attempt": chunk.attempts})
        return True

    def evaluate(self, batch: np.ndarray) -> np.ndarray:
        """Fit ``batch`` (SCAN_TASK_DTYPE) on the workers; results as FIT_RESULT_DTYPE, in its order.

        Results are validated (:func:`amqp_protocol.parse_result`); a chunk whose result was
        rejected or refused by a worker is published again at once; one that stays missing for
        ``requeue_after`` seconds while nothing arrives and no task waits in the work queue (it
        was taken and never answered) is published again too; at most ``max_attempts`` times.
        """
        self.round += 1
        n = len(batch)
        chunks = [_Chunk(idx, np.asarray(batch["pixel"][idx], np.int64))
                  for idx in _chunk_indices(batch["nside"], self.ex.chunk_size)]
        for k, chunk in enumerate(chunks):
            self._publish(batch, k, chunk)
        out = np.empty(n, dtype=_core.scan.FIT_RESULT_DTYPE)
        pending = set(range(len(chunks)))
        last = checked = time.monotonic()
        # auto_ack=False: on cancel() pika hands the messages it has received but not yet yielded back to the
        # queue (with auto_ack it drops them): an event request behind a round's last result is answered next round
        for method, _props, body in self.ch.consume(self.reply_q, auto_ack=False, inactivity_timeout=0.25):
            now = time.monotonic()
            if method is not None:
                done = self._handle_reply(body, batch, chunks, pending, out)
                self.ch.basic_ack(method.delivery_tag)
                if done:
                    last = now
                    if not pending:
                        break
            if now - last > self.ex.timeout:
                self.ch.cancel()
                raise ServiceUnavailable(
                    f"no scan result from any worker for {self.ex.timeout:.0f} s ({len(pending)} of "
                    f"{len(chunks)} chunks of round {self.round} missing); are workers running on "
                    f"queue {self.ex.queue!r}?")
            if now - last > self.ex.requeue_after and now - checked > self.ex.requeue_after / 2:
                checked = now
                if self._work_queue_drained():  # all taken, nothing back: lost to a consumer
                    for k in sorted(pending):
                        if now - chunks[k].published > self.ex.requeue_after:
                            self._requeue(batch, k, chunks[k], f"missing for {self.ex.requeue_after:g} s",
                                          refused=False)
        self.ch.cancel()
        return out

    def close(self) -> None:
        try:
            if self.conn.is_open:
                self.conn.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass
        self.ex.last_stats = {**self.stats, "workers": sorted(self.workers), "answers": list(self.answers)}


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
    requeue_after : float, optional
        Seconds without any result after which the chunks still missing are published again, if no
        task waits in the work queue
        (default ``min(30, timeout / 3)``). Chunks whose result was rejected, or that a worker
        refused, are published again at once.
    max_attempts : int
        Publications per chunk at most; a chunk refused by workers this often fails the scan.

    After a scan, ``last_stats`` holds the counts (tasks published, results accepted,
    duplicates, stale, redelivered, event requests, garbage messages, rejected results,
    task errors, re-queued chunks), the worker ids that answered, and ``answers``: per accepted
    chunk its round, chunk number, nside, pixel count, worker, redelivered flag and attempt.
    """

    def __init__(self, url: str, *, queue: str = DEFAULT_QUEUE, chunk_size: int = 32, timeout: float = 300.0,
                 requeue_after: float | None = None, max_attempts: int = 5) -> None:
        if not isinstance(url, str) or not url.startswith(("amqp://", "amqps://")):
            raise InputError(f"argument 'url': expected an amqp:// URL, got {url!r}", "url")
        self.url = url
        self.queue = str(queue)
        self.chunk_size = int(check_positive(chunk_size, "chunk_size", integer=True))
        if self.chunk_size > MAX_TASK_PIXELS:
            raise InputError(f"argument 'chunk_size': must be <= {MAX_TASK_PIXELS}, got {chunk_size}", "chunk_size")
        self.timeout = float(check_positive(timeout, "timeout"))
        self.requeue_after = (min(30.0, self.timeout / 3) if requeue_after is None
                              else float(check_positive(requeue_after, "requeue_after")))
        self.max_attempts = int(check_positive(max_attempts, "max_attempts", integer=True))
        self.last_stats: dict[str, Any] = {}

    def open(self, problem: ScanProblem) -> _Session:
        return _Session(self, problem)


class _ScanGone(Exception):
    """The scan of a task is unknown, finished or aborted: drop the task at once."""


class _ScanSilent(Exception):
    """The scan's reply queue exists but no event came within ``event_timeout``: requeue the task."""


class _FitterCache:
    """The fitters of the last ``size`` scans; a new scan's spec is asked for once on its reply queue.

    A scan that is gone is known at once: its exclusive reply queue no longer exists (the
    mandatory event request comes back unroutable), or the live scan behind ``reply_to`` answers
    ``event_unknown``. Gone scan ids are remembered, so their other tasks cost nothing.
    """

    def __init__(self, conn: Any, size: int, timeout: float) -> None:
        self.conn = conn
        self.rpc = conn.channel()
        self.rpc.confirm_delivery()
        self.private_q = self.rpc.queue_declare(queue="", exclusive=True).method.queue
        self.size = size
        self.timeout = timeout
        self.cache: OrderedDict[str, _core.scan.DirectionFitter] = OrderedDict()
        self.gone: OrderedDict[str, str] = OrderedDict()

    def _forget(self, scan_id: str, why: str) -> _ScanGone:
        self.gone[scan_id] = why
        while len(self.gone) > 1024:
            self.gone.popitem(last=False)
        return _ScanGone(why)

    def get(self, scan_id: str, reply_to: str) -> _core.scan.DirectionFitter:
        """The fitter of ``scan_id``; _ScanGone if the scan is gone, ProtocolError if its spec is bad."""
        if scan_id in self.cache:
            self.cache.move_to_end(scan_id)
            return self.cache[scan_id]
        if scan_id in self.gone:
            raise _ScanGone(self.gone[scan_id])
        pika = _pika()
        try:
            self.rpc.basic_publish(exchange="", routing_key=reply_to, mandatory=True, body=json.dumps(
                {"type": "event_request", "scan_id": scan_id, "reply_to": self.private_q}))
        except pika.exceptions.UnroutableError:
            raise self._forget(scan_id, "its reply queue no longer exists") from None
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.timeout:
            method, _p, body = self.rpc.basic_get(self.private_q, auto_ack=True)
            if method is None:
                self.conn.sleep(0.02)
                continue
            try:
                msg = decode(body)
            except ProtocolError:
                continue
            if msg.get("scan_id") != scan_id:
                continue
            if msg.get("type") == "event_unknown":
                raise self._forget(scan_id, "the scan behind reply_to does not know it")
            if msg.get("type") != "event":
                continue
            try:
                fitter = fitter_from_spec(json.loads(msg["spec"]))
            except Exception as exc:  # a bad spec is the scan's input: refuse the task, keep going
                raise ProtocolError(f"the scan's fitter spec is unusable ({type(exc).__name__}: {exc})") from None
            self.cache[scan_id] = fitter
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
            return fitter
        # the scan is alive (its reply queue exists) but slow, or the request was lost: not a reason to drop
        # its tasks (each would be lost to this consumer); hand this one back to the broker
        raise _ScanSilent(f"no answer to the event request within {self.timeout:g} s")


def _is_resimulation(body: Any) -> bool:
    """True if ``body`` is a JSON object of type ``resimulation`` (:mod:`.amqp_resim_protocol`)."""
    try:
        return decode(body).get("type") == "resimulation"
    except ProtocolError:
        return False


class _Worker:
    """Handles one task message at a time; never raises because of the message's content."""

    def __init__(self, conn: Any, ch: Any, queue: str, nthreads: int, fitters: _FitterCache) -> None:
        self.pika = _pika()
        self.conn, self.ch, self.queue, self.nthreads, self.fitters = conn, ch, queue, nthreads, fitters
        self.id = uuid.uuid4().hex[:8]
        self.dead_queue = dead_letter_queue(queue)
        ch.queue_declare(queue=self.dead_queue, durable=True)
        self.counts = {"done": 0, "dead_lettered": 0, "gone": 0, "requeued": 0}

    def _dead_letter(self, body: Any, props: Any, reason: str) -> None:
        headers = {"x-icecore-error": reason[:1000], "x-icecore-worker": self.id,
                   "x-icecore-reply-to": str(getattr(props, "reply_to", None))[:255]}
        self.ch.basic_publish(exchange="", routing_key=self.dead_queue, body=body if isinstance(body, bytes) else b"",
                              properties=self.pika.BasicProperties(headers=headers, delivery_mode=2))
        self.counts["dead_lettered"] += 1
        log.warning("dead-lettered a task to %r: %s", self.dead_queue, reason)

    def _reply(self, reply_to: str, msg: dict[str, Any]) -> bool:
        """Publish to the scan; False if its reply queue is gone."""
        return self._reply_text(reply_to, str(msg.get("scan_id")), json.dumps(msg))

    def _reply_text(self, reply_to: str, scan_id: str, body: str) -> bool:
        """Publish a JSON text to a scan's (or calibration's) reply queue; False if it is gone."""
        try:
            self.ch.basic_publish(exchange="", routing_key=reply_to, body=body, mandatory=True,
                                  properties=self.pika.BasicProperties(correlation_id=scan_id))
        except self.pika.exceptions.UnroutableError:
            return False
        return True

    def _refuse(self, body: Any, props: Any, reason: str) -> None:
        """Dead-letter a task and tell its scan (if the header is readable), so it can re-queue."""
        self._dead_letter(body, props, reason)
        reply_to = getattr(props, "reply_to", None)
        try:
            head = task_header(decode(body))
        except ProtocolError:
            head = None
        if head is not None and isinstance(reply_to, str) and 0 < len(reply_to) <= 255:
            self._reply(reply_to, {"type": "task_error", "scan_id": head[0], "round": head[1], "chunk": head[2],
                                   "nonce": head[3], "error": reason[:300], "worker": self.id})

    def _process(self, props: Any, body: Any, redelivered: bool) -> None:
        if _is_resimulation(body):  # a calibration's resimulation job (icecore.scan.amqp_resim)
            from .amqp_resim import handle_resimulation

            handle_resimulation(self, props, body, redelivered)
            return
        try:
            task = parse_task(body)
            reply_to = getattr(props, "reply_to", None)
            if not isinstance(reply_to, str) or not 0 < len(reply_to) <= 255:
                raise ProtocolError("no reply_to queue")
            fitter = self.fitters.get(task.scan_id, reply_to)
        except ProtocolError as exc:
            self._refuse(body, props, exc.reason)
            return
        except _ScanGone as exc:
            self.counts["gone"] += 1
            log.info("dropping a task of scan %s: %s", task.scan_id, exc)
            return
        except _ScanSilent as exc:
            self.counts["requeued"] += 1
            log.warning("handing a task of scan %s back to the queue: %s", task.scan_id, exc)
            raise
        try:
            res = fitter.fit_batch(task.zenith, task.azimuth, task.seeds, threads=self.nthreads, nside=task.nside)
        except Exception as exc:  # the fitter refused this input: it costs this task only
            self._refuse(body, props, f"fit failed: {type(exc).__name__}: {exc}")
            return
        reply = {"type": "result", "scan_id": task.scan_id, "round": task.round, "chunk": task.chunk,
                 "nonce": task.nonce, "pixel": task.pixel.tolist(), "neg_llh": res["neg_llh"].tolist(),
                 "vertex": res["vertex"].tolist(), "n_eval": res["n_eval"].tolist(),
                 "status": res["status"].tolist(), "worker": self.id, "redelivered": redelivered}
        self.counts["done" if self._reply(reply_to, reply) else "gone"] += 1

    def handle(self, method: Any, props: Any, body: Any) -> None:
        """Fit one task message, then acknowledge it (after its result is confirmed by the broker).

        Broker and connection errors propagate (the task is then redelivered to another worker);
        anything else that goes wrong with this message dead-letters it.
        """
        try:
            self._process(props, body, bool(method.redelivered))
        except _ScanSilent:
            self.ch.basic_nack(method.delivery_tag, requeue=True)
            return
        except self.pika.exceptions.AMQPError:
            raise
        except Exception as exc:  # pragma: no cover - a bug; still never a reason to die
            log.exception("unexpected error on a task")
            self._refuse(body, props, f"internal error: {type(exc).__name__}: {exc}")
        self.ch.basic_ack(method.delivery_tag)


def _decode_reply(body: Any, stats: dict[str, int], where: str) -> dict[str, Any] | None:
    """Decode one reply-queue message; a malformed one is counted as garbage, logged and None."""
    try:
        return decode(body)
    except ProtocolError as exc:
        stats["garbage"] += 1
        log.warning("ignoring a malformed message on the %s: %s", where, exc.reason)
        return None


def dead_letter_queue(queue: str) -> str:
    """The durable queue where workers put the tasks they refuse (with the reason in headers)."""
    return f"{queue}.dead"


def run_worker(url: str, *, queue: str = DEFAULT_QUEUE, prefetch: int = 2, threads: int | None = 1,
               max_tasks: int | None = None, idle_timeout: float | None = None, event_timeout: float = 30.0,
               cache_size: int = 4) -> int:
    """Consume scan tasks until stopped (SIGINT/SIGTERM), ``max_tasks`` or ``idle_timeout`` s idle.

    Returns the number of tasks fitted. Each task is acknowledged only after its result has
    been published (and confirmed by the broker). A task that cannot be fitted (malformed, wrong
    lengths, NaN, bad header, the fitter refuses it) is acknowledged and copied to the
    dead-letter queue ``<queue>.dead`` with the reason in its ``x-icecore-error`` header, and
    its scan is told (``task_error``); a task of an unknown, finished or aborted scan is dropped
    at once; a task whose scan does not answer the event request within ``event_timeout`` s is
    handed back to the broker. Resimulation jobs (:mod:`.amqp_resim`) are run too. No message
    can stop the worker.
    """
    prefetch = int(check_positive(prefetch, "prefetch", integer=True))
    nthreads = check_threads(threads)
    conn = _connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    _declare_work_queue(ch, queue)
    ch.basic_qos(prefetch_count=prefetch)
    worker = _Worker(conn, ch, queue, nthreads, _FitterCache(conn, cache_size, event_timeout))
    stop = {"flag": False}

    def _stop(signum: int, frame: Any) -> None:
        stop["flag"] = True

    old = {}
    if threading.current_thread() is threading.main_thread():
        old = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}

    handled = 0
    idle_since = time.monotonic()
    log.info("scan worker %s consuming %r (prefetch %d)", worker.id, queue, prefetch)
    try:
        for method, props, body in ch.consume(queue, inactivity_timeout=0.5):
            if stop["flag"] or (max_tasks is not None and handled >= max_tasks):
                break
            if method is None:
                if idle_timeout is not None and time.monotonic() - idle_since > idle_timeout:
                    break
                continue
            worker.handle(method, props, body)
            handled += 1
            idle_since = time.monotonic()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        try:
            ch.cancel()
            conn.close()
        except Exception:  # pragma: no cover
            pass
    log.info("scan worker %s: %s", worker.id, worker.counts)
    return worker.counts["done"]
