"""Faults of the RabbitMQ scan (issue #11 items 5-8) and the CI-sized scan soak.

Poison tasks carrying a valid scan id, garbage on the reply queue, garbage results with a valid
nonce (a rogue worker), tasks of unknown or finished scans, and workers killed with SIGKILL:
the scan result must stay identical to the in-process scan, no worker may die of its input and
no fault may cost the scan its timeout. ``run_soak`` is shared with bench/test_soak_scan.py.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
import uuid
from typing import Any

import numpy as np
import pytest

from helpers.amqp_workers import amqp_url_or_skip, stop_workers
from helpers.amqp_workers import start_worker as _start_worker
from icecore.scan import SyntheticEvent, scan
from icecore.scan.amqp_protocol import PROTOCOL_VERSION, ProtocolError, decode, parse_result, parse_task


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def amqp_url():
    return amqp_url_or_skip()


def start_worker(url: str, queue: str, *extra: str) -> subprocess.Popen[bytes]:
    return _start_worker(url, queue, *extra, idle_timeout=120.0, stderr=subprocess.DEVNULL)


def _connection(url: str) -> Any:
    import pika

    return pika.BlockingConnection(pika.URLParameters(url))


def delete_queues(url: str, *queues: str) -> None:
    conn = _connection(url)
    try:
        ch = conn.channel()
        for q in queues:
            ch.queue_delete(queue=q)
    finally:
        conn.close()


def drain_dead_letters(url: str, queue: str, expect: int, timeout: float = 15.0) -> list[tuple[bytes, str]]:
    """(body, error header) of the dead-lettered tasks, waiting until ``expect`` distinct bodies are there."""
    conn = _connection(url)
    got: list[tuple[bytes, str]] = []
    try:
        ch = conn.channel()
        ch.queue_declare(queue=queue, durable=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                if len({b for b, _ in got}) >= expect:
                    break
                conn.sleep(0.1)
                continue
            got.append((body, (props.headers or {}).get("x-icecore-error", "")))
    finally:
        conn.close()
    return got


class Hooked:
    """An executor that calls ``on_open(session)`` once the scan's session (scan id, reply queue) exists."""

    def __init__(self, ex: Any, on_open: Any) -> None:
        self.ex, self.on_open = ex, on_open

    def open(self, problem: Any) -> Any:
        session = self.ex.open(problem)
        self.on_open(session)
        return session


def poison_bodies(scan_id: str) -> list[bytes]:
    """Tasks that cannot be fitted, each with the scan's valid id (item 5), plus undecodable bodies."""
    good = {"type": "task", "v": PROTOCOL_VERSION, "scan_id": scan_id, "round": 1, "chunk": 0,
            "nonce": uuid.uuid4().hex, "nside": 8, "pixel": [0, 1], "zenith": [1.0, 1.1], "azimuth": [0.1, 0.2],
            "seeds": [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]}
    no_round = {k: v for k, v in good.items() if k != "round"}
    variants: list[Any] = [
        {**good, "azimuth": [0.1]},  # mismatched lengths
        {**good, "zenith": [float("nan"), 1.0]},  # a NaN
        no_round,  # no round
        {**good, "round": "1"}, {**good, "chunk": True}, {**good, "chunk": 1.5},
        {**good, "seeds": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]},
        {**good, "seeds": [[float("inf"), 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]},
        {**good, "zenith": [4.0, 1.0]}, {**good, "pixel": [0, 768]}, {**good, "nside": 3},
        {**good, "zenith": ["1.0", "1.1"]}, {**good, "zenith": [10**400, 1.0]}, {**good, "v": 1},
        {**good, "zenith": [1.0] * 5000, "azimuth": [0.1] * 5000}, {**good, "type": "result"},
    ]
    raw = [json.dumps(v).encode() for v in variants]
    return raw + [b"not json", b"[1, 2, 3]", b"null", b"[" * 100000, b"\xff\xfe\x00\x01", b""]


def publish_poison(url: str, queue: str, reply_to: str, bodies: list[bytes]) -> None:
    import pika

    conn = _connection(url)
    try:
        ch = conn.channel()
        for b in bodies:
            ch.basic_publish(exchange="", routing_key=queue, body=b, properties=pika.BasicProperties(reply_to=reply_to))
    finally:
        conn.close()


def reply_garbage(scan_id: str) -> list[bytes]:
    """Item 6/7: non-objects, bad ``chunk`` types, and forged results without a published nonce."""
    forged = {"type": "result", "scan_id": scan_id, "round": 1, "chunk": 0, "nonce": "0" * 32, "pixel": [0],
              "neg_llh": [-1e9], "vertex": [[0.0, 0.0, 0.0, 0.0]], "n_eval": [1], "status": [0], "worker": "evil"}
    variants: list[Any] = [[1, 2], 3.5, None, "result", True,
                           {**forged, "chunk": [0]}, {**forged, "chunk": 0.5}, {**forged, "chunk": "0"},
                           {**forged, "chunk": -1}, {**forged, "chunk": 10**30}, {**forged, "chunk": None},
                           {**forged, "round": [1]}, forged, {"type": "task_error", "scan_id": scan_id, "chunk": {}},
                           {"type": "event_request", "scan_id": scan_id, "reply_to": 5}]
    return [json.dumps(v).encode() for v in variants] + [b"\x00\xff", b"{" * 50000]


class RogueWorker(threading.Thread):
    """Takes tasks like a worker and answers each with garbage under the task's valid nonce (item 7)."""

    def __init__(self, url: str, queue: str, n: int) -> None:
        super().__init__(daemon=True)
        self.url, self.queue, self.n = url, queue, n
        self.sent = 0
        self.ready = threading.Event()
        self.error: BaseException | None = None

    @staticmethod
    def garbage(task: dict[str, Any], k: int) -> dict[str, Any]:
        n = len(task["zenith"])
        res: dict[str, Any] = {"type": "result", "scan_id": task["scan_id"], "round": task["round"],
                               "chunk": task["chunk"], "nonce": task["nonce"], "pixel": task["pixel"],
                               "neg_llh": [-1e9] * n, "vertex": [[0.0] * 4] * n, "n_eval": [1] * n,
                               "status": [0] * n, "worker": "rogue"}
        kind = k % 7
        if kind == 0:
            res["neg_llh"] = [float("nan")] * n
        elif kind == 1:
            res["pixel"] = [p + 1 for p in task["pixel"]]  # pixel ids of another batch
        elif kind == 2:
            res["neg_llh"] = res["neg_llh"][:-1]  # short
        elif kind == 3:
            res["vertex"] = [[0.0] * 3] * n
        elif kind == 4:
            res["neg_llh"] = [float("-inf")] * n
        elif kind == 5:
            res["status"] = ["0"] * n
        else:
            res["neg_llh"] = [float("inf")] * n  # infinite yet "converged"
        return res

    def run(self) -> None:
        try:
            conn = _connection(self.url)
            ch = conn.channel()
            ch.queue_declare(queue=self.queue, durable=True)
            ch.basic_qos(prefetch_count=1)
            self.ready.set()
            for method, props, body in ch.consume(self.queue, inactivity_timeout=0.2):
                if self.sent >= self.n:
                    break
                if method is None:
                    continue
                try:
                    parse_task(body)
                    task = json.loads(body)
                except ProtocolError:  # poison from the injector: back to the tail for the real workers
                    ch.basic_publish(exchange="", routing_key=self.queue, body=body, properties=props)
                    ch.basic_ack(method.delivery_tag)
                    continue
                ch.basic_publish(exchange="", routing_key=props.reply_to,
                                 body=json.dumps(self.garbage(task, self.sent)))
                self.sent += 1
                ch.basic_ack(method.delivery_tag)
            ch.cancel()
            conn.close()
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.ready.set()


def wait_for_consumers(url: str, queue: str, n: int, timeout: float = 120.0) -> None:
    """Wait until ``n`` consumers listen on ``queue`` (worker start-up takes seconds on a loaded machine)."""
    conn = _connection(url)
    try:
        ch = conn.channel()
        t0 = time.monotonic()
        while ch.queue_declare(queue=queue, durable=True).method.consumer_count < n:
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"fewer than {n} consumers on {queue} after {timeout:g} s")
            conn.sleep(0.2)
    finally:
        conn.close()


def run_soak(url: str, *, workers: int = 3, kills: int = 3, poison_rounds: int = 1, garbage_results: int = 14,
             kill_interval: float = 1.5, event: dict[str, Any] | None = None, scan_kwargs: dict[str, Any] | None = None,
             chunk_size: int = 16, seed: int = 0) -> dict[str, Any]:
    """Scan over RabbitMQ under faults; asserts identity with the in-process scan; returns the figures."""
    from icecore.scan.amqp import AMQPExecutor, dead_letter_queue

    rng = random.Random(seed)
    ev = SyntheticEvent(**(event or {"ra_deg": 250.0, "dec_deg": 30.0, "mjd": 60100.0, "kappa": 3000.0,
                                      "vertex_weight": 1e-4, "work": 30000}))
    kw = scan_kwargs or {}
    ref = scan(ev, threads=1, progress=False, **kw)
    queue = f"icecore.soak.{uuid.uuid4().hex[:8]}"
    procs = [start_worker(url, queue) for _ in range(workers)]
    rogue = RogueWorker(url, queue, garbage_results)
    rogue.start()
    rogue.ready.wait(30)
    wait_for_consumers(url, queue, workers + 1)  # the kills must hit workers busy with tasks
    done = threading.Event()
    figures: dict[str, Any] = {"workers": workers, "kills": 0, "poison_tasks": 0, "garbage_replies": 0}
    killed: list[subprocess.Popen[bytes]] = []
    poison_set: set[bytes] = set()
    injectors: list[threading.Thread] = []

    def on_open(session: Any) -> None:
        sessions.append(session)

        def inject() -> None:
            for _ in range(poison_rounds):
                bodies = poison_bodies(session.scan_id)
                publish_poison(url, queue, session.reply_q, bodies)
                figures["poison_tasks"] += len(bodies)
                poison_set.update(bodies)
                garbage = reply_garbage(session.scan_id)
                publish_poison(url, session.reply_q, session.reply_q, garbage)
                figures["garbage_replies"] += len(garbage)
                if done.wait(0.5):
                    return
        th = threading.Thread(target=inject, daemon=True)
        th.start()
        injectors.append(th)

    # kill k of n when the scan has accepted (k + 1) / (n + 1) of its chunks: mid-scan at any machine speed
    expected = sum(-(-b["pixels"] // chunk_size) for b in ref.info["batches"])
    sessions: list[Any] = []

    def killer() -> None:
        while figures["kills"] < kills and not done.is_set():
            due = expected * (figures["kills"] + 1) / (kills + 1)
            if not sessions or sessions[0].stats["results"] < due:
                done.wait(0.02)
                continue
            alive = [p for p in procs if p.poll() is None]
            victim = rng.choice(alive)
            victim.send_signal(signal.SIGKILL)
            killed.append(victim)
            procs.append(start_worker(url, queue))
            figures["kills"] += 1
            done.wait(kill_interval * rng.uniform(0.0, 0.2))

    ex = AMQPExecutor(url, queue=queue, chunk_size=chunk_size, timeout=120, requeue_after=10)
    kth = threading.Thread(target=killer, daemon=True)
    try:
        kth.start()
        t0 = time.monotonic()
        got = scan(ev, executor=Hooked(ex, on_open), progress=False, **kw)
        wall = time.monotonic() - t0
        done.set()
        kth.join(30)
        for th in injectors:
            th.join(30)
        rogue.join(30)
        assert rogue.error is None, rogue.error
        # identical to the in-process scan
        assert got.equal_pixels(ref)
        assert got.info["pixels_per_level"] == ref.info["pixels_per_level"]
        assert got.best_fit == ref.best_fit
        st = ex.last_stats
        assert "rogue" not in st["workers"] and "evil" not in st["workers"]
        assert len({(a["round"], a["chunk"]) for a in st["answers"]}) == len(st["answers"]) == st["results"]
        # every poison task is in the dead-letter queue with its error; no worker died of its input
        dead = drain_dead_letters(url, dead_letter_queue(queue), len(poison_set))
        assert {b for b, _ in dead} == poison_set
        assert all(err for _, err in dead)
        survivors = [p for p in procs if p not in killed]
        assert all(p.poll() is None for p in survivors), "a worker died of its input"
        figures.update(tasks=st["tasks"], results=st["results"], garbage_results=rogue.sent,
                       rejected_results=st["rejected_results"], garbage_seen=st["garbage"],
                       requeued=st["requeued"], redeliveries=st["redelivered"], dead_lettered=len(dead),
                       answering_workers=len(st["workers"]), pixels=len(got.pixel), wall_s=round(wall, 2),
                       in_process_wall_s=ref.info["wall_s"], identical=True)
        assert figures["rejected_results"] >= rogue.sent  # every garbage result refused (and re-queued)
        return figures
    finally:
        done.set()
        stop_workers(procs)
        delete_queues(url, queue, dead_letter_queue(queue))


# -- protocol checks (no broker) ----------------------------------------------------------------
def test_poison_tasks_are_refused_by_the_parser_with_a_reason():
    sid = uuid.uuid4().hex
    for body in poison_bodies(sid):
        with pytest.raises(ProtocolError) as exc:
            parse_task(body)
        assert exc.value.reason
    good = json.loads(poison_bodies(sid)[0])
    good["azimuth"] = [0.1, 0.2]
    t = parse_task(json.dumps(good).encode())
    assert t.scan_id == sid and t.seeds.shape == (2, 4) and t.pixel.tolist() == [0, 1]


def test_non_object_json_on_the_reply_queue_is_a_protocol_error():
    for body in (b"[1]", b"3.5", b"null", b'"x"', b"\xff", b"[" * 100000, b"x" * (17 * 2**20)):
        with pytest.raises(ProtocolError):
            decode(body)


def test_results_are_validated_shape_finiteness_and_pixel_ids():
    pix = np.array([5, 6])
    ok = {"pixel": [5, 6], "neg_llh": [1.0, float("inf")], "vertex": [[0.0] * 4] * 2, "n_eval": [3, 4],
          "status": [0, 3], "worker": "w1", "redelivered": True}
    r = parse_result(ok, pix)
    assert r.worker == "w1" and r.redelivered and r.status.tolist() == [0, 3]
    bad = [{**ok, "pixel": [5, 7]}, {**ok, "pixel": [5]}, {**ok, "neg_llh": [float("nan"), 1.0]},
           {**ok, "neg_llh": [1.0]}, {**ok, "status": [0, 0]},  # +inf only for a failed fit
           {**ok, "vertex": [[0.0] * 4, [float("nan")] * 4]}, {**ok, "n_eval": [-1, 2]},
           {**ok, "status": [0, 2**40]}, {**ok, "neg_llh": "1.0"}, {**ok, "vertex": [[0.0] * 4]},
           {**ok, "pixel": [5.0, 6.0]}]
    for msg in bad:
        with pytest.raises(ProtocolError):
            parse_result(msg, pix)
    assert parse_result({**ok, "worker": ["x"]}, pix).worker == "?"


# -- against RabbitMQ ---------------------------------------------------------------------------
@pytest.mark.service
def test_poison_tasks_with_a_valid_scan_id_are_dead_lettered_and_workers_survive(amqp_url):
    from icecore.scan.amqp import AMQPExecutor, dead_letter_queue

    ev = SyntheticEvent(ra_deg=10.0, dec_deg=-60.0, mjd=60200.0, kappa=2000.0)
    kw = {"nsides": (8, 64), "extensions": (12.0,), "progress": False}
    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    procs = [start_worker(amqp_url, queue) for _ in range(2)]
    n_poison = {}

    def on_open(session):
        bodies = poison_bodies(session.scan_id)
        n_poison["n"] = len(bodies)
        publish_poison(amqp_url, queue, session.reply_q, bodies)

    try:
        wait_for_consumers(amqp_url, queue, 2)  # time the scan, not the workers' start-up
        ex = AMQPExecutor(amqp_url, queue=queue, chunk_size=64, timeout=60)
        t0 = time.monotonic()
        got = scan(ev, executor=Hooked(ex, on_open), **kw)
        wall = time.monotonic() - t0
        assert got.equal_pixels(scan(ev, **kw))
        assert wall < 30, "the scan waited out a timeout"
        dead = drain_dead_letters(amqp_url, dead_letter_queue(queue), n_poison["n"])
        assert len({b for b, _ in dead}) == n_poison["n"]
        errors = " | ".join(e for _, e in dead)
        for reason in ("azimuth", "zenith", "round", "chunk", "seeds", "not JSON", "pixel", "nside", "version"):
            assert reason in errors
        assert all(p.poll() is None for p in procs), "a worker died of a poison task"
    finally:
        stop_workers(procs)
        delete_queues(amqp_url, queue, dead_letter_queue(queue))


@pytest.mark.service
def test_non_object_json_and_bad_chunk_on_the_reply_queue_do_not_crash_the_scan(amqp_url):
    from icecore.scan.amqp import AMQPExecutor

    ev = SyntheticEvent(ra_deg=10.0, dec_deg=-60.0, mjd=60200.0, kappa=2000.0)
    kw = {"nsides": (8, 64), "extensions": (12.0,), "progress": False}
    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    procs = [start_worker(amqp_url, queue)]
    sent = {}

    def on_open(session):
        bodies = reply_garbage(session.scan_id)
        sent["n"] = len(bodies)
        publish_poison(amqp_url, session.reply_q, session.reply_q, bodies)

    try:
        ex = AMQPExecutor(amqp_url, queue=queue, chunk_size=64, timeout=60)
        got = scan(ev, executor=Hooked(ex, on_open), **kw)
        assert got.equal_pixels(scan(ev, **kw))
        assert ex.last_stats["garbage"] >= sent["n"] - 1  # the bad event_request is counted as garbage too
        assert "evil" not in ex.last_stats["workers"]
    finally:
        stop_workers(procs)
        delete_queues(amqp_url, queue)


@pytest.mark.service
def test_garbage_results_are_rejected_requeued_and_the_answering_worker_recorded(amqp_url):
    from icecore.scan.amqp import AMQPExecutor

    ev = SyntheticEvent(ra_deg=200.0, dec_deg=5.0, mjd=60300.0, kappa=2000.0, vertex_weight=1e-4)
    kw = {"nsides": (8, 64), "extensions": (12.0,), "progress": False}
    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    rogue = RogueWorker(amqp_url, queue, 7)
    rogue.start()
    rogue.ready.wait(30)
    procs = [start_worker(amqp_url, queue) for _ in range(2)]
    try:
        wait_for_consumers(amqp_url, queue, 3)  # time the scan, not the workers' start-up
        # requeue_after of 50 s and timeout 60 s: re-queueing a rejected chunk must be immediate
        ex = AMQPExecutor(amqp_url, queue=queue, chunk_size=16, timeout=60, requeue_after=50)
        t0 = time.monotonic()
        got = scan(ev, executor=ex, **kw)
        wall = time.monotonic() - t0
        rogue.join(30)
        assert rogue.error is None
        ref = scan(ev, **kw)
        assert got.equal_pixels(ref) and got.best_fit == ref.best_fit
        st = ex.last_stats
        assert st["rejected_results"] == rogue.sent == 7
        assert st["requeued"] >= 7
        assert wall < 40, "a rejected chunk waited for a timeout"
        # which worker answered what: every accepted chunk, by a real worker
        assert len(st["answers"]) == st["results"]
        assert {a["worker"] for a in st["answers"]} == set(st["workers"])
        assert "rogue" not in st["workers"]
        # every task answered once: each pixel's first fit plus the polishing re-fits
        assert sum(a["pixels"] for a in st["answers"]) == len(got.pixel) + sum(got.info["polish_fits_per_level"])
    finally:
        stop_workers(procs)
        delete_queues(amqp_url, queue)


@pytest.mark.service
def test_tasks_of_unknown_or_finished_scans_are_rejected_at_once(amqp_url):
    from icecore.scan.amqp import AMQPExecutor

    ev = SyntheticEvent(ra_deg=10.0, dec_deg=-60.0, mjd=60200.0, kappa=2000.0)
    kw = {"nsides": (8,), "extensions": (), "progress": False}
    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    procs = [start_worker(amqp_url, queue)]  # one worker: every stray task passes through it
    try:
        wait_for_consumers(amqp_url, queue, 1)
        ex = AMQPExecutor(amqp_url, queue=queue, chunk_size=64, timeout=60)
        first: dict[str, Any] = {}
        scan(ev, executor=Hooked(ex, lambda s: first.update(sid=s.scan_id, q=s.reply_q)), **kw)

        def stray(scan_id, k):
            return json.dumps({"type": "task", "v": PROTOCOL_VERSION, "scan_id": scan_id, "round": 1, "chunk": k,
                               "nonce": uuid.uuid4().hex, "nside": 8, "pixel": [0], "zenith": [1.0],
                               "azimuth": [0.5], "seeds": [[0.0, 0.0, 0.0, 0.0]]}).encode()

        def on_open(session):
            # finished scan (its reply queue is gone), and unknown scans sent to a live reply queue
            publish_poison(amqp_url, queue, first["q"], [stray(first["sid"], k) for k in range(3)])
            publish_poison(amqp_url, queue, session.reply_q, [stray(uuid.uuid4().hex, k) for k in range(3)])

        t0 = time.monotonic()
        got = scan(ev, executor=Hooked(ex, on_open), **kw)
        wall = time.monotonic() - t0
        assert got.equal_pixels(scan(ev, **kw))
        assert wall < 15, f"stray tasks blocked the worker ({wall:.1f} s; 30 s per task before the fix)"
        assert ex.last_stats["unknown_scan_requests"] == 3
    finally:
        stop_workers(procs)
        delete_queues(amqp_url, queue)


@pytest.mark.service
def test_soak_scan_with_poison_garbage_and_sigkill_matches_in_process(amqp_url):
    """The scan half of the soak suite at CI size (<= 60 s): >= 3 workers, poison, garbage, kills.

    The longer, parameterised run is bench/test_soak_scan.py (nsides 8/64/512, more kills).
    """
    fig = run_soak(amqp_url, workers=3, kills=3, poison_rounds=2, garbage_results=14, kill_interval=1.0,
                   scan_kwargs={"nsides": (8, 64), "extensions": (12.0,)})
    print("scan soak figures:", json.dumps(fig))
    assert fig["kills"] == 3 and fig["poison_tasks"] > 0 and fig["garbage_results"] == 14
