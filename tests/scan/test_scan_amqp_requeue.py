"""The scan soak's requeue gap (issue #13 task 2): messages the scan must not lose at a round's end.

A worker that takes its first task of a scan asks the scan for the event (``event_request``). When
that request reached the scan's reply-queue consumer together with the round's last result, the
scan (``auto_ack=True``) dropped it on ``cancel()``; the worker then waited ``event_timeout`` s,
marked the live scan as gone and dropped (acked) every task of it it was given, so a chunk could
bounce until its attempts ran out and the scan waited for its timeout.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from helpers.amqp_workers import amqp_url_or_skip, delete_queue
from icecore.scan import SyntheticEvent, scan
from icecore.scan.adapt import fitter_from_spec
from icecore.scan.amqp_protocol import parse_task

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def amqp_url():
    return amqp_url_or_skip()


def _ask_event(conn: Any, ch: Any, reply_to: str, scan_id: str, wait_s: float,
               private: str | None = None) -> dict[str, Any] | None:
    """Send an event_request as a worker does; the answer within ``wait_s`` (None: no answer)."""
    private = private or ch.queue_declare(queue="", exclusive=True).method.queue
    ch.basic_publish(exchange="", routing_key=reply_to,
                     body=json.dumps({"type": "event_request", "scan_id": scan_id, "reply_to": private}))
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait_s:
        method, _p, body = ch.basic_get(private, auto_ack=True)
        if method is not None:
            return json.loads(body)
        conn.sleep(0.02)
    return None


class BurstWorker(threading.Thread):
    """Fits tasks like a worker; right after its first result it sends a second event request
    (what a freshly started worker does at that moment) and records whether the scan answers it."""

    def __init__(self, url: str, queue: str) -> None:
        super().__init__(daemon=True)
        self.url, self.queue = url, queue
        self.second_answer: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.tasks = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import pika

        try:
            conn = pika.BlockingConnection(pika.URLParameters(self.url))
            ch = conn.channel()
            ch.queue_declare(queue=self.queue, durable=True)
            fitter = None
            for method, props, body in ch.consume(self.queue, inactivity_timeout=0.2):
                if method is None:
                    if self.stop.is_set():
                        break
                    continue
                task = parse_task(body)
                if fitter is None:
                    ans = _ask_event(conn, ch, props.reply_to, task.scan_id, 10.0)
                    assert ans is not None and ans["type"] == "event"
                    fitter = fitter_from_spec(json.loads(ans["spec"]))
                res = fitter.fit_batch(task.zenith, task.azimuth, task.seeds, threads=1, nside=task.nside)
                reply = {"type": "result", "scan_id": task.scan_id, "round": task.round, "chunk": task.chunk,
                         "nonce": task.nonce, "pixel": task.pixel.tolist(), "neg_llh": res["neg_llh"].tolist(),
                         "vertex": res["vertex"].tolist(), "n_eval": res["n_eval"].tolist(),
                         "status": res["status"].tolist(), "worker": "burst", "redelivered": False}
                private = None
                if self.tasks == 0:  # keep the scan busy decoding a large foreign message, so that the
                    # result and the request behind it are both in its consumer's buffer when it handles the result
                    private = ch.queue_declare(queue="", exclusive=True).method.queue
                    ch.basic_publish(exchange="", routing_key=props.reply_to,
                                     body=json.dumps({"type": "padding", "pad": [0.5] * 500_000}))
                ch.basic_publish(exchange="", routing_key=props.reply_to, body=json.dumps(reply))
                ch.basic_ack(method.delivery_tag)
                self.tasks += 1
                if self.tasks == 1:  # the round's only chunk: the request lands right behind its result
                    self.second_answer = _ask_event(conn, ch, props.reply_to, task.scan_id, 5.0, private)
            ch.cancel()
            conn.close()
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_an_event_request_behind_a_rounds_last_result_is_answered(amqp_url):
    from icecore.scan.amqp import AMQPExecutor

    ev = SyntheticEvent(ra_deg=10.0, dec_deg=-60.0, mjd=60200.0, kappa=2000.0)
    kw = {"nsides": (8, 64), "extensions": (12.0,), "progress": False}
    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    w = BurstWorker(amqp_url, queue)
    w.start()
    try:
        # one chunk per round (768 pixels at nside 8): the first result ends round 1
        ex = AMQPExecutor(amqp_url, queue=queue, chunk_size=1024, timeout=30)
        got = scan(ev, executor=ex, **kw)
        w.stop.set()
        w.join(30)
        assert w.error is None, w.error
        assert w.second_answer is not None, "the scan dropped an event request at the end of round 1"
        assert w.second_answer["type"] == "event"
        assert got.equal_pixels(scan(ev, **kw))
    finally:
        w.stop.set()
        delete_queue(amqp_url, queue)


def test_a_worker_hands_back_a_task_whose_scan_is_silent_instead_of_dropping_it(amqp_url):
    """A scan that does not answer within ``event_timeout`` is slow or lost a request, not gone."""
    import pika

    from icecore.scan.amqp import run_worker
    from icecore.scan.amqp_protocol import PROTOCOL_VERSION

    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.queue_declare(queue=queue, durable=True)
    reply_q = ch.queue_declare(queue="", exclusive=True).method.queue
    sid = uuid.uuid4().hex
    task = {"type": "task", "v": PROTOCOL_VERSION, "scan_id": sid, "round": 1, "chunk": 0, "nonce": uuid.uuid4().hex,
            "nside": 8, "pixel": [0], "zenith": [1.0], "azimuth": [0.5], "seeds": [[0.0, 0.0, 0.0, 0.0]]}
    ch.basic_publish(exchange="", routing_key=queue, body=json.dumps(task),
                     properties=pika.BasicProperties(reply_to=reply_q))
    out: dict[str, int] = {}
    th = threading.Thread(target=lambda: out.update(n=run_worker(amqp_url, queue=queue, event_timeout=0.5,
                                                                 idle_timeout=1.0, max_tasks=2)), daemon=True)
    th.start()
    try:
        requests = []
        t0 = time.monotonic()
        while len(requests) < 2 and time.monotonic() - t0 < 10:
            method, _p, body = ch.basic_get(reply_q, auto_ack=True)
            if method is None:
                conn.sleep(0.05)
                continue
            requests.append(json.loads(body))
        # the first request is left unanswered; the task came back and was asked about again
        assert len(requests) == 2, "the worker dropped the task of a silent scan"
        assert {r["scan_id"] for r in requests} == {sid}
        ch.basic_publish(exchange="", routing_key=requests[1]["reply_to"],
                         body=json.dumps({"type": "event_unknown", "scan_id": sid}))
        th.join(15)
        assert not th.is_alive() and out["n"] == 0
    finally:
        ch.queue_delete(queue=queue)
        conn.close()
