"""Per-event calibration with each resimulation as one job on the RabbitMQ scan workers (issue #13 item 1).

Same levels as the in-process threads for the same seeds; a worker killed mid-job gets its jobs
redelivered; poison jobs are dead-lettered with their reason and cost nothing else; a job that
workers refuse fails the calibration naming the resimulation; no worker means a timeout, not a hang.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid
from typing import Any

import numpy as np
import pytest

from helpers.amqp_workers import amqp_url_or_skip, start_worker, stop_workers
from icecore import likelihood as lk
from icecore.errors import ServiceUnavailable
from icecore.scan import calibration as cal
from icecore.scan.amqp_protocol import ProtocolError
from icecore.scan.amqp_resim_protocol import job_body, model_to_json, parse_job
from icecore.scan.events import event_to_json, simulate_event

NO_MISMATCH = cal.ResimulationModel(mismatch=False)


@pytest.fixture(scope="module")
def toy():
    return simulate_event(seed=3, synthetic=True, energy_tev=200.0, ra_deg=40.0, dec_deg=25.0)


def _good_job() -> dict[str, Any]:
    best = cal.BestFit(64.5, 310.5, (-166.0, -161.0, -39.0, 10008.0), 60020.0, 126.0)
    child = np.random.SeedSequence(7).spawn(3)[2]
    return json.loads(job_body(uuid.uuid4().hex, 2, uuid.uuid4().hex, "photon", best,
                               model_to_json(cal.ResimulationModel()), child, False))


def poison_jobs() -> list[bytes]:
    """Resimulation jobs a worker must refuse, each for one reason."""
    g = _good_job()
    variants: list[Any] = [
        {**g, "v": 99}, {**g, "kind": "radio"}, {**g, "round": "1"}, {**g, "nonce": ""},
        {**g, "best": {**g["best"], "zenith_deg": None}}, {**g, "best": {**g["best"], "vertex": [0.0, 0.0]}},
        {**g, "best": {**g["best"], "energy_tev": -1.0}}, {**g, "best": {**g["best"], "energy_tev": None}},
        {**g, "model": {**g["model"], "nside": 3}}, {**g, "model": {**g["model"], "max_steps": 10**9}},
        {**g, "model": {**g["model"], "minimum": "anywhere"}}, {**g, "model": {**g["model"], "extra": 1}},
        {**g, "seed": {**g["seed"], "spawn_key": [-1]}}, {**g, "seed": {**g["seed"], "pool_size": 8}},
        {**g, "refit": 1},
    ]
    return [json.dumps(v).encode() for v in variants]


def test_job_round_trip_and_poison_jobs_refused_with_a_reason():
    g = _good_job()
    job = parse_job(json.dumps(g).encode())
    ref = np.random.SeedSequence(7).spawn(3)[2]
    assert np.array_equal(job.seed.generate_state(4), ref.generate_state(4))
    assert job.model.as_dict() == cal.ResimulationModel().as_dict() and job.best == cal.BestFit(64.5, 310.5, (-166.0, -161.0, -39.0,
                                                                                          10008.0), 60020.0, 126.0)
    reasons = set()
    for body in poison_jobs():
        with pytest.raises(ProtocolError) as exc:
            parse_job(body)
        reasons.add(exc.value.reason)
    assert len(reasons) == len(poison_jobs())  # each refused for its own reason
    with pytest.raises(ValueError, match="'model'"):  # an option that cannot travel is refused before publishing
        from icecore.scan.amqp_resim import AmqpResimulationExecutor

        ex = AmqpResimulationExecutor("amqp://guest:guest@localhost:1/%2F")
        cal.calibrate_event(simulate_event(seed=3, synthetic=True), n=10, executor=ex, progress=False,
                            model=cal.ResimulationModel(simulate_options={"ice": object()}),
                            best_fit=cal.BestFit(10.0, 10.0, (0.0, 0.0, 0.0, 0.0), 60000.0, 200.0))


def test_calibrate_cli_names_the_amqp_flag_when_rabbitmq_is_unreachable(toy, tmp_path, capsys):
    from icecore.cli import main

    ev = tmp_path / "ev.json"
    ev.write_text(event_to_json(toy))
    rc = main(["scan", "calibrate", str(ev), "--n", "10", "--amqp", "amqp://guest:guest@localhost:1/%2F"])
    err = capsys.readouterr().err
    assert rc == 2 and "--amqp" in err and "unreachable" in err


# -- against RabbitMQ ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def amqp_url():
    return amqp_url_or_skip()


def _thread_worker(url: str, queue: str, idle_s: float, max_tasks: int | None = None) -> threading.Thread:
    from icecore.scan.amqp import run_worker

    th = threading.Thread(target=run_worker, args=(url,), daemon=True,
                          kwargs={"queue": queue, "idle_timeout": idle_s, "max_tasks": max_tasks})
    th.start()
    return th


def _wait_for_consumer(url: str, queue: str, timeout: float = 120.0) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        t0 = time.monotonic()
        while ch.queue_declare(queue=queue, durable=True).method.consumer_count < 1:
            assert time.monotonic() - t0 < timeout, "the worker did not start"
            conn.sleep(0.1)
    finally:
        conn.close()


def _drain(url: str, queue: str) -> list[tuple[bytes, str]]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    got = []
    try:
        ch = conn.channel()
        ch.queue_declare(queue=queue, durable=True)
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                break
            got.append((body, (props.headers or {}).get("x-icecore-error", "")))
        ch.queue_delete(queue=queue)
        ch.queue_delete(queue=queue[: -len(".dead")])
    finally:
        conn.close()
    return got


@pytest.mark.service
def test_poison_jobs_cost_only_themselves_and_refused_jobs_fail_naming_the_resimulation(amqp_url, toy):
    import pika

    from icecore.scan.amqp import dead_letter_queue
    from icecore.scan.amqp_resim import AmqpResimulationExecutor

    ref = cal.calibrate_event(toy, n=19, model=NO_MISMATCH, seed=5, threads=1, progress=False)
    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.queue_declare(queue=queue, durable=True)
    poison = poison_jobs()
    for b in poison:
        ch.basic_publish(exchange="", routing_key=queue, body=b, properties=pika.BasicProperties(reply_to="nowhere"))
    conn.close()
    worker = _thread_worker(amqp_url, queue, 1.0)
    try:
        ex = AmqpResimulationExecutor(amqp_url, queue=queue, timeout=20, max_attempts=2)
        got = cal.calibrate_event(toy, n=19, model=NO_MISMATCH, seed=5, executor=ex, progress=False)
        np.testing.assert_array_equal(got.samples, ref.samples)
        assert got.levels == ref.levels and got.cost["executor"] == "AmqpResimulationExecutor"
        assert ex.last_stats["results"] == 19 and ex.last_stats["task_errors"] == 0
        # a job every worker refuses (here a NaN truth): the calibration names it after max_attempts
        bad = cal.BestFit(float("nan"), 10.0, (0.0, 0.0, 0.0, 0.0), 60000.0, 200.0)
        t0 = time.monotonic()
        with pytest.raises(ServiceUnavailable, match=r"resimulation \d+ \(seed entropy 5.*refused by workers 2 times"
                                                     r".*zenith_deg"):
            cal.calibrate_event(toy, n=10, model=NO_MISMATCH, seed=5, executor=ex, progress=False, best_fit=bad)
        assert time.monotonic() - t0 < 15
        worker.join(30)
        dead = _drain(amqp_url, dead_letter_queue(queue))
        assert set(poison) <= {b for b, _ in dead}
        assert all(e.startswith("resimulation") for _, e in dead)
    finally:
        worker.join(30)
    # nobody listening: a clear timeout, not a hang
    ex = AmqpResimulationExecutor(amqp_url, queue=f"icecore.test.{uuid.uuid4().hex[:8]}", timeout=1.0)
    with pytest.raises(ServiceUnavailable, match="no resimulation result.*resimulation 0"):
        cal.calibrate_event(toy, n=10, model=NO_MISMATCH, seed=5, executor=ex, progress=False)
    _drain(amqp_url, ex.queue + ".dead")


@pytest.mark.service
def test_photon_resimulations_on_workers_equal_threads_and_survive_a_worker_killed_mid_job(amqp_url):
    from icecore.scan.amqp_resim import AmqpResimulationExecutor

    queue = f"icecore.test.{uuid.uuid4().hex[:8]}"
    victim = start_worker(amqp_url, queue, "--prefetch", "10", stderr=subprocess.DEVNULL)  # takes every job
    # the event only selects the photon resimulation; a fixed resimulation truth skips the best fit and the
    # energy estimate (this test is about the transport)
    ev = lk.simulate_track(100.0, 64.5, 310.5, seed=9)
    best = cal.BestFit(64.557, 310.558, (-166.34, -160.96, -39.35, 10008.41), 60020.0, 126.6)
    model = cal.ResimulationModel()
    procs = [victim]
    threads: list[threading.Thread] = []
    try:
        ref = cal.calibrate_event(ev, n=10, model=model, seed=1, threads=2, progress=False, best_fit=best)
        _wait_for_consumer(amqp_url, queue)
        ex = AmqpResimulationExecutor(amqp_url, queue=queue, timeout=60, requeue_after=20)

        def killer() -> None:
            # SIGKILL the worker once it holds every job (none waits in the queue) and is inside the first one
            import pika

            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            try:
                ch = conn.channel()
                while ex.stats.get("jobs", 0) < 10 or ch.queue_declare(queue=queue, passive=True).method.message_count:
                    conn.sleep(0.01)
            finally:
                conn.close()
            time.sleep(0.2)
            victim.send_signal(signal.SIGKILL)
            threads.append(_thread_worker(amqp_url, queue, 2.0, max_tasks=10))

        kt = threading.Thread(target=killer, daemon=True)
        kt.start()
        got = cal.calibrate_event(ev, n=10, model=model, seed=1, executor=ex, progress=False, best_fit=best)
        kt.join(10)
        np.testing.assert_array_equal(got.samples, ref.samples)
        assert got.levels == ref.levels and got.n == 10
        st = ex.last_stats
        assert victim.poll() is not None and st["results"] == 10
        assert st["redelivered"] >= 9, "the jobs of the killed worker were not redelivered"
        assert st["requeued"] == 0  # the broker redelivered them; nothing had to wait for requeue_after
    finally:
        stop_workers(procs)
        for th in threads:
            th.join(30)
        _drain(amqp_url, queue + ".dead")
