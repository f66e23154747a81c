"""LVK follow-up: one follow-up (nside-512 map, both searches, 10 000 background trials) with the
C++ kernel, against the same searches written with numpy/healpy (icecore.lvk._numpy_reference).

The numpy baseline evaluates the same windows formula for formula (brute force over pixels x
events) and the distance-averaged moments table; it is far too slow for 10 000 trials, so it
times ``N_BASELINE`` windows and the report compares time per window (items). The agreement of
the two is asserted on every window.

Scale: timed runs (and ICECORE_BENCH_SCALE >= 1) use the full size and assert the goal of the
issue, the whole follow-up (sky map read, both searches, 10 000 + 2 000 trials, products) in
<= 60 s; ``--benchmark-disable`` (CI) runs nside 128 with 200 trials and a few windows, to check
that the bench runs and agrees. Needs ../shared/data/real (skipped without it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from icecore.lvk._numpy_reference import reference_evaluate, reference_moments
from icecore.lvk.alert import LvkAlert
from icecore.lvk.events import BackgroundModel, load_ic86_2011, simulate_window
from icecore.lvk.followup import run_followup, write_products
from icecore.lvk.region import SearchRegion
from icecore.lvk.search import PixelSearch
from icecore.lvk.skymap import read_skymap

T_GW = 58709.882396  # S190814bv
MAP = "S190814bv_LALInference.v1.multiorder.fits"
GOAL_S = 60.0


def _real() -> Path:
    env = os.environ.get("ICECORE_SHARED")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    path = root / "data" / "real"
    if not (path / "gw").is_dir():
        pytest.skip(f"real data not found under {path}")
    return path


@pytest.fixture(scope="module")
def scale(request, bench_scale):
    """(nside, n_trials, n_single, n_windows, full) of this run."""
    disabled = bool(request.config.getoption("benchmark_disable", False))
    full = bench_scale >= 1 and not disabled
    if full:
        return 512, 10_000, 2_000, 10, True
    return 128, max(200, int(10_000 * min(bench_scale, 1.0) * 0.02)), 200, 4, False


@pytest.fixture(scope="module")
def setup(scale):
    nside, _, _, n_windows, _ = scale
    real = _real()
    sample = load_ic86_2011(real / "ps" / "IC86-2011_PS-release")
    bg = BackgroundModel(sample)
    smap = read_skymap(real / "gw" / "multiorder" / MAP)
    search = PixelSearch(SearchRegion.from_map(smap, nside=nside), bg)
    k = int(np.argmax(search.region.prob))
    src = (float(search.region.ra_deg[k]), float(search.region.dec_deg[k]))
    windows = [simulate_window(sample, T_GW, seed=s, n_signal=s % 3, source_deg=src, background=bg)
               for s in range(n_windows)]
    return real, sample, bg, smap, search, windows


def test_followup_icecore(benchmark, record, setup, scale, tmp_path):
    real, sample, bg, _, search, windows = setup
    nside, n_trials, n_single, _, full = scale
    alert = LvkAlert(superevent_id="S190814bv", alert_type="update", time_mjd=T_GW)
    elapsed: list[float] = []

    def whole_followup():
        t0 = time.perf_counter()
        smap = read_skymap(real / "gw" / "multiorder" / MAP)
        res = run_followup(alert, windows[1], sample, skymap=smap, background=bg, nside=nside, n_trials=n_trials,
                           n_single_trials=n_single, seed=1, threads=2, progress=False)
        write_products(res, tmp_path, plot=False)
        elapsed.append(time.perf_counter() - t0)
        return res

    res = benchmark.pedantic(whole_followup, rounds=1, iterations=1)
    record(benchmark, role="icecore",
           size=f"nside {nside}, {search.region.n_pixels} px, {n_trials} + {n_single} trials, 2 threads",
           items=n_trials)
    assert 0 <= res.pval_generic <= 1 and 0 <= res.pval_bayesian <= 1 and res.n_trials == n_trials
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "notice.json").is_file()
    if full:
        assert elapsed[0] <= GOAL_S, f"the whole follow-up took {elapsed[0]:.1f} s (goal {GOAL_S:.0f} s on 2 cores)"


def test_windows_icecore(benchmark, record, setup):
    *_, search, windows = setup
    out = benchmark(lambda: [search.evaluate(w) for w in windows])
    record(benchmark, role="icecore", size=f"{len(windows)} windows, nside {search.region.nside}", items=len(windows))
    assert len(out) == len(windows)


def test_windows_numpy_baseline(benchmark, record, setup):
    *_, search, windows = setup
    ref = benchmark.pedantic(lambda: [reference_evaluate(search, w) for w in windows], rounds=1, iterations=1)
    record(benchmark, role="baseline", baseline="numpy/healpy brute force over pixels x events",
           size=f"{len(windows)} windows, nside {search.region.nside}", items=len(windows))
    for w, r in zip(windows, ref):
        got = search.evaluate(w)
        assert got.ts == pytest.approx(r["ts"], rel=1e-6, abs=1e-9)
        assert got.mean_lambda == pytest.approx(r["odds_lambda"], rel=1e-8)


def test_moments_icecore(benchmark, record, setup):
    _, _, bg, _, search, _ = setup
    from icecore.lvk.bayesian import moments_table

    out = benchmark(lambda: moments_table(search.region, bg.sample.aeff, search.priors, threads=2))
    record(benchmark, role="icecore", size=f"{search.region.n_pixels} px x {search.priors.n_distance_nodes} "
           "distance nodes, 2 threads", items=search.region.n_pixels)
    assert out.shape == search.moments.shape


def test_moments_numpy_baseline(benchmark, record, setup):
    _, _, bg, _, search, _ = setup
    ref = benchmark.pedantic(lambda: reference_moments(search.region, bg.sample.aeff, search.priors), rounds=1,
                             iterations=1)
    record(benchmark, role="baseline", baseline="numpy (pixels x nodes arrays, np.interp)",
           size=f"{search.region.n_pixels} px x {search.priors.n_distance_nodes} distance nodes",
           items=search.region.n_pixels)
    assert np.allclose(search.moments, ref, rtol=1e-6, atol=1e-300)
