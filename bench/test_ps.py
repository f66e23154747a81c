"""Point-source likelihood against SkyLLH on the same release-format files, in the same run.

3 seasons (IC79, IC86_I, IC86_II) x 120 000 events (x ICECORE_BENCH_SCALE) written by
simulate_public_data with one source. SkyLLH reads the folder with its own dataset definitions
(create_analysis unchanged). Our analysis runs in the SkyLLH-compatible configuration
(selection="box", energy_weighting="skyllh") so that both fit the same likelihood; results are
asserted to agree. Timings: construction (files -> analysis), unblind, one background trial;
peak memory of each in a fresh subprocess; and a full-sky scan (nside 64) with SkyLLH on a few
positions as the baseline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

skyllh = pytest.importorskip("skyllh")

from icecore.ps import PointSourceAnalysis, load_public_data, simulate_public_data, sky_scan  # noqa: E402
from icecore.ps.skyllh_ref import skyllh_analysis  # noqa: E402

SEASONS = ("IC79", "IC86_I", "IC86_II")
RA, DEC = 77.35, 5.7
COMPAT = {"selection": "box", "energy_weighting": "skyllh"}


@pytest.fixture(scope="module")
def release(tmp_path_factory, bench_scale):
    n = max(4000, int(120_000 * bench_scale))
    path = tmp_path_factory.mktemp("psbench") / "data"
    simulate_public_data(path, seasons=SEASONS, n_events=n, sources=[{"ra": RA, "dec": DEC, "n": 60, "gamma": 2.0}],
                         seed=5)
    return path, n


@pytest.fixture(scope="module")
def ours(release):
    return PointSourceAnalysis(load_public_data(release[0]), RA, DEC, **COMPAT)


@pytest.fixture(scope="module")
def theirs(release):
    ana, _ = skyllh_analysis(str(release[0]), SEASONS, RA, DEC)
    return ana


def _size(n):
    return f"3 seasons x {n} events"


def _skyllh_unblind(ana):
    from skyllh.core.random import RandomStateService

    ts, p, _ = ana.unblind(minimizer_rss=RandomStateService(seed=1))
    return float(ts), float(p["ns"]), float(p["gamma"])


def _agree(a, b):
    ts_a, ns_a, g_a = a
    ts_b, ns_b, g_b = b
    assert abs(ts_a - ts_b) <= max(0.02 * ts_b, 0.2)
    assert abs(ns_a - ns_b) <= 0.03 * ns_b + 0.5
    assert abs(g_a - g_b) <= 0.05


# ------------------------------------------------------------------ construction
def test_construct_icecore(benchmark, record, release, theirs):
    path, n = release
    record(benchmark, role="icecore", size=_size(n), items=3 * n)
    benchmark.group = "ps.construct"
    ana = benchmark.pedantic(lambda: PointSourceAnalysis(load_public_data(path), RA, DEC, **COMPAT), rounds=3,
                             iterations=1)
    r = ana.unblind()
    _agree((r.ts, r.ns, r.gamma), _skyllh_unblind(theirs))


def test_construct_skyllh(benchmark, record, release):
    path, n = release
    record(benchmark, role="baseline", baseline="SkyLLH create_analysis", size=_size(n), items=3 * n)
    benchmark.group = "ps.construct"
    benchmark.pedantic(lambda: skyllh_analysis(str(path), SEASONS, RA, DEC), rounds=2, iterations=1)


# ------------------------------------------------------------------ unblind
def test_unblind_icecore(benchmark, record, release, ours, theirs):
    record(benchmark, role="icecore", size=_size(release[1]), items=1)
    benchmark.group = "ps.unblind"
    r = benchmark(ours.unblind)
    _agree((r.ts, r.ns, r.gamma), _skyllh_unblind(theirs))


def test_unblind_skyllh(benchmark, record, release, ours, theirs):
    record(benchmark, role="baseline", baseline="SkyLLH unblind", size=_size(release[1]), items=1)
    benchmark.group = "ps.unblind"
    got = benchmark.pedantic(lambda: _skyllh_unblind(theirs), rounds=5, iterations=1)
    r = ours.unblind()
    _agree((r.ts, r.ns, r.gamma), got)


# ------------------------------------------------------------------ background trials
N_OURS_TRIALS = 200


def test_trial_icecore(benchmark, record, release, ours):
    record(benchmark, role="icecore", size=_size(release[1]) + f", {N_OURS_TRIALS} trials/call",
           items=N_OURS_TRIALS)
    benchmark.group = "ps.background_trial"
    seeds = iter(range(10_000))
    t = benchmark(lambda: ours.trials(N_OURS_TRIALS, seed=next(seeds), progress=False))
    assert len(t) == N_OURS_TRIALS and np.all(t.status != 3)


def test_trial_skyllh(benchmark, record, release, ours, theirs, bench_scale):
    from skyllh.core.random import RandomStateService

    record(benchmark, role="baseline", baseline="SkyLLH do_trial (RA scrambling)", size=_size(release[1]), items=1)
    benchmark.group = "ps.background_trial"
    rss = RandomStateService(seed=3)
    out = []

    def one():
        r = theirs.do_trial(rss=rss, mean_n_sig=0)
        out.append(float(r["ts"][0]))

    rounds = 5 if getattr(benchmark, "disabled", False) else max(5, int(30 * min(bench_scale, 1.0)))
    if getattr(benchmark, "disabled", False):
        for _ in range(rounds - 1):
            one()
    benchmark.pedantic(one, rounds=rounds, iterations=1)
    # same background distribution: compare means (SkyLLH sample is small)
    mine = ours.trials(2000, seed=11, progress=False).ts
    sk = np.array(out)
    se = np.std(mine) / np.sqrt(len(sk)) if len(sk) > 1 else 1.0
    assert abs(np.mean(sk) - np.mean(mine)) < 4 * se + 0.3


# ------------------------------------------------------------------ peak memory (fresh processes)
_MEM = textwrap.dedent(
    """
    import json, sys
    def hwm():
        d = {}
        for line in open('/proc/self/status'):
            k, v = line.split(':', 1)
            if k in ('VmRSS', 'VmHWM'):
                d[k] = int(v.split()[0])
        return d
    which, path = sys.argv[1], sys.argv[2]
    import numpy, scipy.interpolate
    if which == 'icecore':
        from icecore.ps import load_public_data, PointSourceAnalysis
        base = hwm()['VmRSS']
        a = PointSourceAnalysis(load_public_data(path), 77.35, 5.7, selection='box', energy_weighting='skyllh')
        a.unblind(); a.trials(1, seed=1, progress=False)
    else:
        from icecore.ps.skyllh_ref import skyllh_analysis
        import skyllh.core.random
        base = hwm()['VmRSS']
        ana, _ = skyllh_analysis(path, ('IC79', 'IC86_I', 'IC86_II'), 77.35, 5.7)
        rss = skyllh.core.random.RandomStateService(seed=1)
        ana.unblind(minimizer_rss=rss); ana.do_trial(rss=rss, mean_n_sig=0)
    print(json.dumps({'peak_mb': (hwm()['VmHWM'] - base) / 1024}))
    """
)


def _peak_mb(which: str, path: Path) -> float:
    # same interpreter and environment as this run, so the same icecore (installed, or the
    # working tree through PYTHONPATH) is measured
    out = subprocess.run([sys.executable, "-c", _MEM, which, str(path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe for {which} failed:\n{out.stderr[-3000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"])


def test_peak_memory(benchmark, record, release):
    path, n = release
    benchmark.group = "ps.peak_memory"
    mem = {}

    def measure():
        mem["icecore"] = _peak_mb("icecore", path)
        mem["skyllh"] = _peak_mb("skyllh", path)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    record(benchmark, role="icecore", size=_size(n) + " (construct + unblind + trial, fresh process)", items=1,
           peak_mb_icecore=mem["icecore"], peak_mb_skyllh=mem["skyllh"])
    print(f"peak memory above imports: icecore {mem['icecore']:.1f} MB, SkyLLH {mem['skyllh']:.1f} MB")
    assert mem["icecore"] <= 0.5 * mem["skyllh"]


# ------------------------------------------------------------------ full-sky scan
def test_sky_scan_icecore(benchmark, record, release, bench_scale):
    path, n = release
    # full resolution when timing; a quick nside 16 pass when CI runs with --benchmark-disable
    nside = 64 if bench_scale >= 1 and not getattr(benchmark, "disabled", False) else (16 if bench_scale >= 1 else 8)
    data = load_public_data(path)
    record(benchmark, role="icecore", size=_size(n) + f", nside {nside}, 2 threads", items=12 * nside**2)
    benchmark.group = "ps.sky_scan"
    t0 = time.perf_counter()
    out = benchmark.pedantic(lambda: sky_scan(data, nside=nside, threads=2, **COMPAT), rounds=1, iterations=1)
    wall = time.perf_counter() - t0
    benchmark.extra_info["fit_seconds"] = float(out["seconds"])
    print(f"sky scan nside {nside}: {wall:.1f} s total, {float(out['seconds']):.1f} s in the fits")
    # the scan agrees with single-position fits (which agree with SkyLLH)
    rng = np.random.default_rng(0)
    for p in rng.choice(len(out["ts"]), 3, replace=False):
        r = PointSourceAnalysis(data, out["ra"][p], out["dec"][p], **COMPAT).unblind()
        assert out["ts"][p] == pytest.approx(r.ts, rel=1e-6, abs=1e-6)


def test_sky_scan_skyllh(benchmark, record, release):
    """SkyLLH has no sky scan: it needs one create_analysis + unblind per position (4 positions)."""
    path, n = release
    record(benchmark, role="baseline", baseline="SkyLLH create_analysis + unblind per position",
           size=_size(n) + ", 4 positions", items=4)
    benchmark.group = "ps.sky_scan"
    pos = [(10.0, -40.0), (100.0, 0.0), (200.0, 25.0), (300.0, 60.0)]
    res = {}

    def run():
        for ra, dec in pos:
            ana, _ = skyllh_analysis(str(path), SEASONS, ra, dec)
            res[(ra, dec)] = _skyllh_unblind(ana)

    benchmark.pedantic(run, rounds=1, iterations=1)
    data = load_public_data(path)
    for (ra, dec), got in res.items():
        r = PointSourceAnalysis(data, ra, dec, **COMPAT).unblind()
        assert abs(r.ts - got[0]) <= max(0.02 * got[0], 0.2)


# ---------------------------------------------------------------------------------------------
# stacking trials: the C++ per-trial loop (StackModel) against the numpy implementation, same data


STACK_K = 20


@pytest.fixture(scope="module")
def stack(release):
    from icecore.ps.sources import SourceList
    from icecore.ps.stacking import StackingAnalysis

    rng = np.random.default_rng(4)
    src = SourceList(rng.uniform(0, 360, STACK_K), np.degrees(np.arcsin(rng.uniform(-0.7, 0.7, STACK_K))),
                     rng.uniform(0.5, 2, STACK_K), [f"s{i}" for i in range(STACK_K)])
    st = StackingAnalysis(load_public_data(release[0]), src)
    st.kernel()  # built outside the timing
    return st


def _stack_size(n):
    return f"{_size(n)}, {STACK_K} sources"


def test_stack_trials_icecore(benchmark, record, release, stack):
    record(benchmark, role="icecore", size=_stack_size(release[1]), items=4)
    benchmark.group = "ps.stack.trials"
    kern = stack.kernel()
    seeds = np.arange(11, 15, dtype=np.uint64)
    out = benchmark.pedantic(lambda: kern.trials(seeds, None, 1), rounds=3, iterations=1)
    for s, r in zip(seeds[:2], out[:2]):  # the numpy implementation on the kernel's own scrambles
        ref = stack.fit_with_ra(kern.scramble(int(s)), backend="numpy")
        assert r["ts"] == pytest.approx(ref.ts, rel=1e-5, abs=1e-6)
        assert r["ns"] == pytest.approx(ref.ns, rel=1e-3, abs=1e-3)


def test_stack_trials_numpy(benchmark, record, release, stack):
    record(benchmark, role="baseline", baseline="icecore stacking, numpy trials (k-d tree)",
           size=_stack_size(release[1]), items=4)
    benchmark.group = "ps.stack.trials"
    benchmark.pedantic(lambda: stack.trials(4, seed=1, backend="numpy"), rounds=1, iterations=1)
