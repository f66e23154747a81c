"""Soak run of the sky scan over RabbitMQ (issue #11): longer than the CI test, parameterised.

Each case runs a full scan (nsides 8/64/512) on >= 3 worker processes while poison tasks with the
scan's valid id and garbage replies are injected on the queues, a rogue consumer answers tasks
with garbage under their valid nonce, and workers are killed with SIGKILL (and restarted) at
random points; it asserts the result is identical to the in-process scan, every poison task is
in the dead-letter queue with its error, and no worker died of its input. It prints the figures
(tasks, poison, garbage results, kills, redeliveries, re-queued chunks, wall time).

Not a timing benchmark (nothing is recorded); needs ICECORE_AMQP_URL:

    ICECORE_AMQP_URL=amqp://guest:guest@localhost:5672/%2F \\
        python -m pytest bench/test_soak_scan.py -q -s --benchmark-disable
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.service

_FAULTS = Path(__file__).resolve().parents[1] / "tests" / "scan" / "test_scan_amqp_faults.py"


def _harness():
    spec = importlib.util.spec_from_file_location("icecore_scan_amqp_faults", _FAULTS)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def amqp_url():
    url = os.environ.get("ICECORE_AMQP_URL")
    if not url:
        pytest.skip("RabbitMQ not available: set ICECORE_AMQP_URL (e.g. amqp://guest:guest@localhost:5672/%2F)")
    pytest.importorskip("pika")
    return url


@pytest.mark.parametrize(("workers", "kills", "poison_rounds", "garbage_results", "work", "seed"), [
    (3, 8, 4, 28, 60000, 1),
    (4, 12, 6, 42, 60000, 2),
])
def test_soak_scan(amqp_url, bench_scale, workers, kills, poison_rounds, garbage_results, work, seed):
    h = _harness()
    # work per pixel is not scaled down below 1: with 6000 (CI's ICECORE_BENCH_SCALE=0.1) and 12 kills on a
    # machine at load ~20, one chunk went unanswered for the executor's 120 s timeout (workers killed faster
    # than they restart); the CI size of this soak is tests/scan/test_scan_amqp_faults.py. Session 5 found a real
    # gap that produces exactly that symptom (fixed, tests/scan/test_scan_amqp_requeue.py): the scan dropped an
    # event request that arrived behind a round's last result, the new worker then waited event_timeout, marked
    # the live scan gone and dropped its tasks, and a chunk re-published onto it used up its attempts. 3 + 3 runs
    # at 6000 work units under load 7-16 (tools/results/scan_soak_requeue.json) passed before and after the fix
    # (the failure was rare), so the larger work stays until a quiet re-run confirms the smaller size.
    event = {"ra_deg": 250.0, "dec_deg": 30.0, "mjd": 60100.0, "kappa": 3000.0, "vertex_weight": 1e-4,
             "work": int(work * max(bench_scale, 1.0))}
    fig = h.run_soak(amqp_url, workers=workers, kills=kills, poison_rounds=poison_rounds,
                     garbage_results=garbage_results, kill_interval=1.0, event=event, seed=seed,
                     scan_kwargs={"nsides": (8, 64, 512), "extensions": (12.0, 24.0)})
    print("scan soak figures:", json.dumps(fig))
    assert fig["identical"] and fig["kills"] == kills and fig["garbage_results"] == garbage_results
