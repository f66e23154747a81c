"""Sky scan benchmarks: HEALPix primitives vs healpy, the refinement loop vs a healpy/Python loop,
and (when available) RabbitMQ workers. The photon-likelihood full scan is in
``test_scan_likelihood.py``.

The loop benchmarks use the SYNTHETIC AnalyticDirectionFitter with no emulated work, so they
measure the loop's own overhead (pixel selection, seeding, coordinate conversion, batching).
"""

from __future__ import annotations

import os

import healpy as hp
import numpy as np
import pytest

from icecore.scan import ScanSettings, SyntheticEvent, make_problem, run_problem
from icecore.scan import healpix as H


@pytest.fixture(scope="module")
def directions(bench_scale):
    n = max(1000, int(1_000_000 * bench_scale))
    rng = np.random.default_rng(3)
    return np.arccos(rng.uniform(-1, 1, n)), rng.uniform(0, 2 * np.pi, n)


def test_ang2pix_nest_icecore(benchmark, record, directions):
    th, ph = directions
    record(benchmark, role="icecore", size=f"{th.size} directions, nside 512", items=th.size)
    benchmark.group = "scan.ang2pix_nest"
    got = benchmark(H.ang2pix_nest, 512, th, ph)
    assert np.array_equal(got, hp.ang2pix(512, th, ph, nest=True))


def test_ang2pix_nest_healpy(benchmark, record, directions):
    th, ph = directions
    record(benchmark, role="baseline", baseline="healpy.ang2pix(nest=True)", size=f"{th.size} directions, nside 512",
           items=th.size)
    benchmark.group = "scan.ang2pix_nest"
    got = benchmark(hp.ang2pix, 512, th, ph, nest=True)
    assert np.array_equal(got, H.ang2pix_nest(512, th, ph))


@pytest.fixture(scope="module")
def pixels(directions):
    return hp.ang2pix(512, *directions, nest=True)


def test_pix2vec_nest_icecore(benchmark, record, pixels):
    record(benchmark, role="icecore", size=f"{pixels.size} pixels, nside 512", items=pixels.size)
    benchmark.group = "scan.pix2vec_nest"
    got = benchmark(H.pix2vec_nest, 512, pixels)
    np.testing.assert_allclose(got, np.array(hp.pix2vec(512, pixels, nest=True)).T, atol=1e-14)


def test_pix2vec_nest_healpy(benchmark, record, pixels):
    record(benchmark, role="baseline", baseline="healpy.pix2vec(nest=True)", size=f"{pixels.size} pixels, nside 512",
           items=pixels.size)
    benchmark.group = "scan.pix2vec_nest"
    got = benchmark(hp.pix2vec, 512, pixels, nest=True)
    np.testing.assert_allclose(np.array(got).T, H.pix2vec_nest(512, pixels), atol=1e-14)


# ---- the refinement loop ---------------------------------------------------------------------

EVENT = SyntheticEvent(ra_deg=77.0, dec_deg=5.0, mjd=60000.0, kappa=3000.0, vertex_weight=1e-4)


@pytest.fixture(scope="module")
def problem():
    return make_problem(EVENT)


def python_healpy_loop(problem, nsides=(8, 64, 512), extensions=(12.0, 24.0)):
    """The same refinement written with healpy and numpy, one fit_batch call per round."""
    R = problem.rotation
    fitter = problem.fitter
    done: list[dict[int, tuple[float, np.ndarray]]] = [dict() for _ in nsides]

    def local(ns, pix):
        v = np.array(hp.pix2vec(ns, pix, nest=True))
        w = R @ v
        return np.arctan2(np.hypot(w[0], w[1]), w[2]), np.arctan2(w[1], w[0]) % (2 * np.pi)

    def fit(level, pix, seeds):
        zen, azi = local(nsides[level], pix)
        res = fitter.fit_batch(zen, azi, seeds, threads=0)
        for p, l, v in zip(pix.tolist(), res["neg_llh"], res["vertex"]):
            done[level][p] = (float(l), v)

    fit(0, np.arange(12 * nsides[0] ** 2), np.tile(problem.initial_seed, (12 * nsides[0] ** 2, 1)))
    for k in range(1, len(nsides)):
        for _ in range(64):
            best = None
            for lev in range(len(nsides)):
                for p, (l, _v) in done[lev].items():
                    if np.isfinite(l) and (best is None or l < best[0]):
                        best = (l, lev, p)
            c = np.array(hp.pix2vec(nsides[best[1]], best[2], nest=True))
            pn = nsides[k - 1]
            r = np.arccos(1 - extensions[k - 1] * hp.nside2pixarea(pn) / (2 * np.pi))
            parents = np.union1d(hp.query_disc(pn, c, r, nest=True), [hp.vec2pix(pn, *c, nest=True)])
            f = (nsides[k] // pn) ** 2
            kids = (parents[:, None] * f + np.arange(f)[None, :]).ravel()
            kids = np.array([q for q in kids.tolist() if q not in done[k]], dtype=np.int64)
            if kids.size == 0:
                break
            seeds = np.empty((kids.size, 4))
            for i, q in enumerate(kids.tolist()):
                for j in range(k - 1, -1, -1):
                    anc = q // (nsides[k] // nsides[j]) ** 2
                    if anc in done[j]:
                        seeds[i] = done[j][anc][1]
                        break
            fit(k, kids, seeds)
    return done


def test_scan_loop_icecore(benchmark, record, problem):
    record(benchmark, role="icecore", size="8/64/512, ext 12/24, synthetic fitter (loop overhead)", items=3264)
    benchmark.group = "scan.refinement_loop"
    # the baseline loop has no polishing pass (re-fits of pixels in worse vertex minima): compare
    # the refinement loop itself, polishing off on both sides
    res = benchmark(run_problem, problem, ScanSettings(polish=False), threads=None, progress=False)
    ref = python_healpy_loop(problem)
    assert res.info["pixels_per_level"] == [len(d) for d in ref]
    for ns, d in zip((8, 64, 512), ref):
        sel = res.nside == ns
        got = dict(zip(res.pixel[sel].tolist(), res.neg_llh[sel].tolist()))
        assert set(got) == set(d)  # the same pixels; -lnL equal up to rounding of the directions
        np.testing.assert_allclose([got[q] for q in d], [v[0] for v in d.values()], rtol=1e-9, atol=1e-9)
    benchmark.extra_info["pixels_per_level"] = res.info["pixels_per_level"]


def test_scan_loop_python_healpy(benchmark, record, problem):
    record(benchmark, role="baseline", baseline="same loop in Python with healpy.query_disc + fit_batch per round",
           size="8/64/512, ext 12/24, synthetic fitter (loop overhead)", items=3264)
    benchmark.group = "scan.refinement_loop"
    ref = benchmark.pedantic(python_healpy_loop, args=(problem,), rounds=3, iterations=1)
    res = run_problem(problem, ScanSettings(polish=False), progress=False)
    assert res.info["pixels_per_level"] == [len(d) for d in ref]


# ---- RabbitMQ: 1 vs 2 local workers ------------------------------------------------------------

def _amqp_url():
    url = os.environ.get("ICECORE_AMQP_URL")
    if not url:
        pytest.skip("ICECORE_AMQP_URL not set (RabbitMQ benchmarks)")
    pytest.importorskip("pika")
    return url


@pytest.mark.parametrize("n_workers", [1, 2])
def test_scan_amqp_workers(benchmark, record, n_workers, bench_scale):
    import sys
    import time as _time
    import uuid

    url = _amqp_url()
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "scan"))
    from test_scan_amqp import _delete_queue, _start_worker, _stop

    work = max(1000, int(20000 * bench_scale))
    ev = SyntheticEvent(ra_deg=77.0, dec_deg=5.0, mjd=60000.0, kappa=3000.0, work=work)
    prob = make_problem(ev)
    from icecore.scan.amqp import AMQPExecutor

    queue = f"icecore.bench.{uuid.uuid4().hex[:8]}"
    procs = [_start_worker(url, queue) for _ in range(n_workers)]
    try:
        ex = AMQPExecutor(url, queue=queue, chunk_size=32, timeout=120)
        run_problem(prob, ScanSettings(nsides=(8,), extensions=()), executor=ex, progress=False)  # warm-up
        record(benchmark, role="icecore", size=f"8/64/512 synthetic, {work} dummy evals/fit, {n_workers} worker(s)",
               items=3264)
        benchmark.group = "scan.amqp_workers"
        t0 = _time.perf_counter()
        res = benchmark.pedantic(run_problem, args=(prob, ScanSettings()), kwargs={"executor": ex, "progress": False},
                                 rounds=1, iterations=1)
        wall = _time.perf_counter() - t0
        local = run_problem(prob, ScanSettings(), threads=1, progress=False)
        assert res.equal_pixels(local)
        batches = len(res.info["batches"])
        benchmark.extra_info.update(wall_s=wall, in_process_1thread_s=local.info["wall_s"],
                                    per_batch_overhead_s=(wall - local.info["wall_s"] / n_workers) / batches,
                                    tasks=ex.last_stats["tasks"])
    finally:
        _stop(procs)
        _delete_queue(url, queue)
