"""Resimulations of a per-event calibration on the RabbitMQ scan workers (optional extra ``amqp``).

:class:`AmqpResimulationExecutor` is a ``concurrent.futures.Executor`` for
:func:`icecore.scan.calibration.calibrate_event`::

    cal = calibrate_event(event, n=99, executor=AmqpResimulationExecutor(url))

Each resimulation is one job (:mod:`.amqp_resim_protocol`) on the scan's work queue (default
``icecore.scan.tasks``), run by the same ``icecore scan worker`` processes as pixel tasks; the
worker runs exactly :func:`~icecore.scan.calibration._one_resimulation` (same seed, same code),
so the levels are identical to the in-process threads.

Faults (the rules of the pixel tasks, :mod:`.amqp`):

- a job a worker cannot parse or run (poison) is copied to ``<queue>.dead`` with the reason in
  its ``x-icecore-error`` header, acknowledged, and reported (``task_error``); the executor
  publishes that job again, at most ``max_attempts`` times in all, then raises
  :class:`~icecore.errors.ServiceUnavailable` naming the resimulation (its index and seed) and
  the workers' error;
- a worker killed mid-job never acknowledges it: RabbitMQ gives it to another worker;
- results are validated (header, nonce, numbers); garbage, duplicates and foreign messages are
  counted and ignored;
- jobs missing for ``requeue_after`` s while nothing arrives and no message waits in the work
  queue are published again; after ``timeout`` s without any result the calibration fails with
  ServiceUnavailable listing the missing resimulations; jobs expire after ``timeout`` s.

``last_stats`` (after a ``map``; ``stats`` while it runs) counts jobs published, results,
duplicates, garbage, rejected results, task errors, re-published jobs and redeliveries, and
lists the workers that answered.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

from .._validation import check_positive
from ..errors import InputError, ServiceUnavailable
from .amqp import DEFAULT_QUEUE, _connect, _declare_work_queue, _decode_reply, _pika, _redact, dead_letter_queue
from .amqp_protocol import ProtocolError, clean_worker_id, task_header
from .amqp_resim_protocol import job_body, model_to_json, parse_job, parse_job_result, result_body
from .calibration import _one_blas_thread, _one_resimulation, _PhotonKind, _SyntheticKind

__all__ = ["AmqpResimulationExecutor", "handle_resimulation"]

log = logging.getLogger(__name__)


def _kind_name(kind: Any) -> str:
    if isinstance(kind, _PhotonKind):
        return "photon"
    if isinstance(kind, _SyntheticKind):
        return "synthetic"
    raise InputError(f"argument 'event': {type(kind).__name__} resimulations cannot run on remote workers",
                     "event")


class _Job:
    __slots__ = ("index", "body_args", "nonces", "attempts", "published", "label")

    def __init__(self, index: int, body_args: tuple[Any, ...], label: str) -> None:
        self.index, self.body_args, self.label = index, body_args, label
        self.nonces: set[str] = set()
        self.attempts = 0
        self.published = 0.0


class AmqpResimulationExecutor(Executor):
    """Run the resimulations of :func:`~icecore.scan.calibration.calibrate_event` on RabbitMQ workers.

    Parameters
    ----------
    url : str
        AMQP URL, e.g. ``amqp://guest:guest@localhost:5672/%2F``.
    queue : str
        Work queue shared with the workers (``icecore scan worker --queue``).
    timeout : float
        Seconds without any result before the calibration fails (ServiceUnavailable); also the
        expiry of job messages.
    requeue_after : float, optional
        Seconds without any result after which the jobs still missing are published again when no
        message waits in the work queue (default ``min(30, timeout / 3)``).
    max_attempts : int
        Publications per job at most after workers refused it; then the calibration fails naming
        the resimulation.

    Only :meth:`map` of ``_one_resimulation`` is supported (what ``calibrate_event`` calls); results
    come back in job order. :meth:`check` connects once (e.g. to fail early in a CLI).
    """

    def __init__(self, url: str, *, queue: str = DEFAULT_QUEUE, timeout: float = 300.0,
                 requeue_after: float | None = None, max_attempts: int = 3) -> None:
        if not isinstance(url, str) or not url.startswith(("amqp://", "amqps://")):
            raise InputError(f"argument 'url': expected an amqp:// URL, got {url!r}", "url")
        self.url = url
        self.queue = str(queue)
        self.timeout = float(check_positive(timeout, "timeout"))
        self.requeue_after = (min(30.0, self.timeout / 3) if requeue_after is None
                              else float(check_positive(requeue_after, "requeue_after")))
        self.max_attempts = int(check_positive(max_attempts, "max_attempts", integer=True))
        self.stats: dict[str, Any] = {}
        self.last_stats: dict[str, Any] = {}

    def check(self) -> None:
        """Connect to RabbitMQ and disconnect; ServiceUnavailable if it cannot be reached."""
        _connect(self.url).close()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """One job, run to completion before returning (use :meth:`map` to run jobs in parallel)."""
        fut: Future[Any] = Future()
        if kwargs:
            raise TypeError("AmqpResimulationExecutor.submit takes the job tuple only")
        try:
            fut.set_result(next(iter(self.map(fn, args))))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1, buffersize: int | None = None) -> Iterator[Any]:
        """Publish every job of ``iterables`` now; the results, in order, as they come back."""
        if fn is not _one_resimulation:
            raise TypeError("AmqpResimulationExecutor runs calibration resimulations only "
                            "(icecore.scan.calibration._one_resimulation)")
        if len(iterables) != 1:
            raise TypeError("map takes one iterable of job tuples")
        items = [tuple(a) for a in iterables[0]]
        run = _Run(self, items)
        return run.results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to release (each ``map`` opens and closes its own connection)."""


class _Run:
    """One ``map`` call: its connection, reply queue, jobs and counts."""

    def __init__(self, ex: AmqpResimulationExecutor, items: list[tuple[Any, ...]]) -> None:
        self.ex = ex
        self.pika = _pika()
        self.id = uuid.uuid4().hex
        self.jobs: list[_Job] = []
        model_json: dict[int, dict[str, Any]] = {}
        for i, item in enumerate(items):
            kind, best, model, child = item[:4]
            refit = bool(item[4]) if len(item) > 4 else False
            try:
                mj = model_json.setdefault(id(model), model_to_json(model))
            except ProtocolError as exc:
                raise InputError(f"argument 'model': {exc.reason}", "model") from None
            label = f"resimulation {i} (seed entropy {child.entropy}, spawn key {list(child.spawn_key)})"
            self.jobs.append(_Job(i, (_kind_name(kind), best, mj, child, refit), label))
        self.stats: dict[str, Any] = {k: 0 for k in ("jobs", "results", "duplicates", "garbage", "rejected_results",
                                                     "task_errors", "requeued", "redelivered")}
        self.workers: set[str] = set()
        ex.stats = self.stats
        self.conn = _connect(ex.url)
        try:
            self.ch = self.conn.channel()
            _declare_work_queue(self.ch, ex.queue)
            self.reply_q = self.ch.queue_declare(queue="", exclusive=True).method.queue
            for job in self.jobs:
                self._publish(job)
        except BaseException:
            self._close()
            raise

    def _publish(self, job: _Job) -> None:
        nonce = uuid.uuid4().hex
        job.nonces.add(nonce)
        job.attempts += 1
        job.published = time.monotonic()
        props = self.pika.BasicProperties(reply_to=self.reply_q, content_type="application/json",
                                          expiration=str(int(self.ex.timeout * 1000)))
        self.ch.basic_publish(exchange="", routing_key=self.ex.queue, body=job_body(self.id, job.index, nonce,
                                                                                    *job.body_args),
                              properties=props)
        self.stats["jobs"] += 1

    def _job_of(self, msg: dict[str, Any], done: dict[int, dict[str, Any]]) -> _Job | None:
        head = task_header(msg)
        if head is None or head[0] != self.id or head[2] >= len(self.jobs) or head[3] not in self.jobs[head[2]].nonces:
            self.stats["garbage"] += 1
            return None
        if head[2] in done:
            self.stats["duplicates"] += 1
            return None
        return self.jobs[head[2]]

    def _handle(self, body: Any, done: dict[int, dict[str, Any]]) -> bool:
        """One reply; True if it completed a job."""
        msg = _decode_reply(body, self.stats, "resimulation reply queue")
        if msg is None:
            return False
        kind = msg.get("type")
        if kind not in ("resimulation_result", "task_error"):
            self.stats["garbage"] += 1
            return False
        job = self._job_of(msg, done)
        if job is None:
            return False
        if kind == "task_error":
            self.stats["task_errors"] += 1
            err = str(msg.get("error"))[:300]
            log.warning("worker %s refused %s: %s", clean_worker_id(msg.get("worker")), job.label, err)
            if job.attempts >= self.ex.max_attempts:
                raise ServiceUnavailable(f"calibration: {job.label} was refused by workers {job.attempts} times "
                                         f"(last error: {err}); see the dead-letter queue "
                                         f"{dead_letter_queue(self.ex.queue)!r}")
            self.stats["requeued"] += 1
            self._publish(job)
            return False
        try:
            out, worker, redelivered = parse_job_result(msg)
        except ProtocolError as exc:
            self.stats["rejected_results"] += 1
            log.warning("rejecting a result for %s: %s", job.label, exc.reason)
            self.stats["requeued"] += 1
            self._publish(job)
            return False
        done[job.index] = out
        self.stats["results"] += 1
        self.stats["redelivered"] += int(redelivered)
        self.workers.add(worker)
        return True

    def _work_queue_drained(self) -> bool:
        probe = self.conn.channel()
        try:
            return int(probe.queue_declare(queue=self.ex.queue, passive=True).method.message_count) == 0
        finally:
            probe.close()

    def _check_missing(self, now: float, done: dict[int, dict[str, Any]]) -> None:
        if not self._work_queue_drained():
            return
        for job in self.jobs:
            if job.index not in done and now - job.published > self.ex.requeue_after:
                log.info("re-publishing %s (missing for %g s)", job.label, self.ex.requeue_after)
                self.stats["requeued"] += 1
                self._publish(job)

    def results(self) -> Iterator[dict[str, Any]]:
        done: dict[int, dict[str, Any]] = {}
        nxt = 0
        n = len(self.jobs)
        try:
            replies = self.ch.consume(self.reply_q, auto_ack=True, inactivity_timeout=0.25)
            last = checked = time.monotonic()
            while nxt < n:
                method, _props, body = next(replies)
                now = time.monotonic()
                if method is not None and self._handle(body, done):
                    last = now
                while nxt in done:
                    yield done.pop(nxt)
                    nxt += 1
                if nxt >= n:
                    break
                if now - last > self.ex.timeout:
                    missing = [j.index for j in self.jobs if j.index >= nxt and j.index not in done]
                    raise ServiceUnavailable(
                        f"calibration: no resimulation result from any worker for {self.ex.timeout:.0f} s "
                        f"({len(missing)} of {n} missing, first: {self.jobs[missing[0]].label}); are workers "
                        f"running on queue {self.ex.queue!r} at {_redact(self.ex.url)}?")
                if now - last > self.ex.requeue_after and now - checked > self.ex.requeue_after / 2:
                    checked = now
                    self._check_missing(now, done)
        finally:
            self._close()

    def _close(self) -> None:
        try:
            if self.conn.is_open:
                self.conn.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass
        self.ex.last_stats = {**self.stats, "workers": sorted(self.workers)}


# ---- worker side ---------------------------------------------------------------------------------
_BLAS: list[Any] = []


def handle_resimulation(worker: Any, props: Any, body: Any, redelivered: bool) -> None:
    """Run one resimulation job for the scan worker ``worker`` (:class:`.amqp._Worker`) and reply.

    A job that cannot be parsed or run is refused (dead-lettered, ``task_error`` to its executor);
    the caller acknowledges the message afterwards.
    """
    try:
        job = parse_job(body)
        reply_to = getattr(props, "reply_to", None)
        if not isinstance(reply_to, str) or not 0 < len(reply_to) <= 255:
            raise ProtocolError("no reply_to queue")
    except ProtocolError as exc:
        worker._refuse(body, props, f"resimulation: {exc.reason}")
        return
    if not _BLAS:  # as calibrate_event does in-process: one BLAS thread (threadpoolctl), for the worker's life
        _BLAS.append(_one_blas_thread())
    kind = _PhotonKind() if job.kind == "photon" else _SyntheticKind()
    try:
        out = _one_resimulation((kind, job.best, job.model, job.seed, job.refit))
    except Exception as exc:  # the job's inputs made the resimulation fail: it costs this job only
        worker._refuse(body, props, f"resimulation failed: {type(exc).__name__}: {exc}")
        return
    ok = worker._reply_text(reply_to, job.scan_id, result_body(job, out, worker.id, redelivered))
    worker.counts["done" if ok else "gone"] += 1
