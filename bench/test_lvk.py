"""LVK follow-up: one follow-up (nside-512 map, both searches, 10 000 background trials) with the
C++ kernel, against the same searches written with numpy/healpy (icecore.lvk._numpy_reference).

The numpy baseline evaluates the same windows formula for formula; it is too slow for 10 000
trials, so it times ``N_BASELINE`` windows and the report compares time per window (items).
Needs ../shared/data/real (skipped without it). ICECORE_BENCH_SCALE scales the trial counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from icecore.lvk._numpy_reference import reference_evaluate
from icecore.lvk.alert import LvkAlert
from icecore.lvk.events import BackgroundModel, load_ic86_2011, simulate_window
from icecore.lvk.followup import run_followup
from icecore.lvk.region import SearchRegion
from icecore.lvk.search import PixelSearch
from icecore.lvk.skymap import read_skymap

NSIDE = 512
T_GW = 58709.882396  # S190814bv
N_BASELINE = 20


def _real() -> Path:
    env = os.environ.get("ICECORE_SHARED")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared"
    path = root / "data" / "real"
    if not (path / "gw").is_dir():
        pytest.skip(f"real data not found under {path}")
    return path


@pytest.fixture(scope="module")
def setup():
    real = _real()
    sample = load_ic86_2011(real / "ps" / "IC86-2011_PS-release")
    bg = BackgroundModel(sample)
    smap = read_skymap(real / "gw" / "multiorder" / "S190814bv_LALInference.v1.multiorder.fits")
    search = PixelSearch(SearchRegion.from_map(smap, nside=NSIDE), bg)
    k = int(np.argmax(search.region.prob))
    src = (float(search.region.ra_deg[k]), float(search.region.dec_deg[k]))
    windows = [simulate_window(sample, T_GW, seed=s, n_signal=s % 3, source_deg=src, background=bg)
               for s in range(N_BASELINE)]
    return sample, bg, smap, search, windows


def test_followup_icecore(benchmark, record, setup, bench_scale):
    sample, bg, smap, search, windows = setup
    n_trials = max(100, int(10_000 * bench_scale))
    alert = LvkAlert(superevent_id="S190814bv", alert_type="update", time_mjd=T_GW)
    res = benchmark.pedantic(
        lambda: run_followup(alert, windows[1], sample, skymap=smap, background=bg, nside=NSIDE,
                             n_trials=n_trials, n_single_trials=2000, seed=1),
        rounds=1, iterations=1)
    record(benchmark, role="icecore", size=f"nside {NSIDE}, {search.region.n_pixels} px, {n_trials} trials",
           items=n_trials)
    assert 0 <= res.pval_generic <= 1 and 0 <= res.pval_bayesian <= 1


def test_windows_icecore(benchmark, record, setup):
    _, _, _, search, windows = setup
    out = benchmark(lambda: [search.evaluate(w) for w in windows])
    record(benchmark, role="icecore", size=f"{len(windows)} windows, nside {NSIDE}", items=len(windows))
    assert len(out) == len(windows)


def test_windows_numpy_baseline(benchmark, record, setup):
    _, _, _, search, windows = setup
    ref = benchmark.pedantic(lambda: [reference_evaluate(search, w) for w in windows], rounds=1, iterations=1)
    record(benchmark, role="baseline", baseline="numpy/healpy brute force over pixels x events",
           size=f"{len(windows)} windows, nside {NSIDE}", items=len(windows))
    for w, r in zip(windows, ref):
        got = search.evaluate(w)
        assert got.ts == pytest.approx(r["ts"], rel=1e-6, abs=1e-9)
        assert got.mean_lambda == pytest.approx(r["odds_lambda"], rel=1e-8)
