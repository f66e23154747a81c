"""Pandel track likelihood against a numpy/scipy implementation of the same likelihood.

Baseline: numpy geometry, the convolved Pandel from ``scipy.special.pbdv`` (parabolic-cylinder
function; where it overflows, |z| > 25, the large-|z| series in numpy), the same noise floor, and
``scipy.optimize.minimize`` (L-BFGS-B, finite-difference gradient) over the transverse vertex
and time from the same seven seeds. Same event, same run; results are asserted to agree.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special

from icecore.likelihood import DEFAULT_ICE, TrackLikelihood, simulate_track

ICE = DEFAULT_ICE
SIGMA = 15.0  # SPE jitter
NOISE_RATE = 500e-9  # 1/ns
WINDOW = 10_000.0


@pytest.fixture(scope="module")
def event():
    return simulate_track(300, 63, 120, seed=17, impact_m=[20.0, 10.0, -30.0])


@pytest.fixture(scope="module")
def llh(event):
    return TrackLikelihood(event, "spe")


def _lncp_numpy(t, nu):
    """ln of the Gaussian-convolved Pandel pdf with scipy.special.pbdv (SPE jitter SIGMA)."""
    beta = ICE.rho * SIGMA
    z = beta - t / SIGMA
    out = np.empty_like(t)
    mid = np.abs(z) <= 25
    d, _ = special.pbdv(-nu[mid], z[mid])
    out[mid] = (nu[mid] * np.log(beta) - np.log(SIGMA * np.sqrt(2 * np.pi)) - t[mid] ** 2 / (2 * SIGMA**2)
                + z[mid] ** 2 / 4 + np.log(d))
    neg = z < -25  # D_{-nu}(-w) e^{-w^2/4} ~ sqrt(2 pi)/Gamma(nu) w^(nu-1) sum_k (nu-1)...(nu-2k)/(k! 2^k w^2k)
    w = -z[neg]
    n = nu[neg]
    s = np.ones_like(w)
    term = np.ones_like(w)
    for k in range(8):
        term = term * (n - 2 * k - 1) * (n - 2 * k - 2) / (2 * (k + 1) * w * w)
        s += term
    out[neg] = (n * np.log(beta) - np.log(SIGMA) + beta**2 / 2 - ICE.rho * t[neg] + (n - 1) * np.log(w)
                - special.gammaln(n) + np.log(s))
    pos = z > 25  # e^{z^2/4} D_{-nu}(z) ~ z^-nu (1 - nu(nu+1)/(2 z^2) + ...)
    zz = z[pos]
    n = nu[pos]
    s = 1 - n * (n + 1) / (2 * zz * zz) + n * (n + 1) * (n + 2) * (n + 3) / (8 * zz**4)
    out[pos] = (n * np.log(beta) - np.log(SIGMA * np.sqrt(2 * np.pi)) - t[pos] ** 2 / (2 * SIGMA**2)
                - n * np.log(zz) + np.log(s))
    return out


def neg_llh_numpy(pos, times, vertex, zen_deg, azi_deg):
    z, a = np.radians(zen_deg), np.radians(azi_deg)
    v = -np.array([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)])
    p = pos - vertex[:3]
    along = p @ v
    perp = p - np.outer(along, v)
    d = np.sqrt(np.sum(perp * perp, axis=1) + 0.01)
    cos_c = 1 / ICE.n_phase
    sin_c = np.sqrt(1 - cos_c**2)
    c = ICE.c_m_per_ns
    tgeo = vertex[3] + along / c + d * (ICE.n_group / sin_c - cos_c / sin_c) / c
    cos_eta = sin_c * perp[:, 2] / d + cos_c * v[2]
    deff = ICE.effective_distance(d / sin_c, cos_eta)
    lp = _lncp_numpy(times - tgeo, deff / ICE.scattering_m)
    f = min(NOISE_RATE * WINDOW, 0.5)
    return -np.sum(np.logaddexp(np.log1p(-f) + lp, np.log(f / WINDOW)))


def fit_direction_scipy(pos, times, zen_deg, azi_deg, seed, n_ring=6, radius=150.0):
    z, a = np.radians(zen_deg), np.radians(azi_deg)
    e1 = np.array([np.cos(z) * np.cos(a), np.cos(z) * np.sin(a), -np.sin(z)])
    e2 = np.array([-np.sin(a), np.cos(a), 0.0])
    best = np.inf
    nfev = 0
    for k in range(1 + n_ring):
        x0 = np.array([0.0, 0.0, seed[3]])
        if k:
            ang = 2 * np.pi * (k - 1) / n_ring
            x0[:2] = radius * np.cos(ang), radius * np.sin(ang)

        def fun(x):
            q = seed[:3] + x[0] * e1 + x[1] * e2
            return neg_llh_numpy(pos, times, np.array([*q, x[2]]), zen_deg, azi_deg)

        r = optimize.minimize(fun, x0, method="L-BFGS-B")
        nfev += r.nfev
        best = min(best, r.fun)
    return best, nfev


def _directions(event, n):
    t = event.meta["truth"]
    rng = np.random.default_rng(5)
    return t["zenith_deg"] + rng.uniform(-2, 2, n), t["azimuth_deg"] + rng.uniform(-2, 2, n)


def test_event_llh_icecore(benchmark, record, event, llh):
    t = event.meta["truth"]
    v = np.array(t["vertex"])
    args = (*v, np.radians(t["zenith_deg"]), np.radians(t["azimuth_deg"]))
    record(benchmark, role="icecore", size=f"{llh.n_doms} hit DOMs, SPE, value + gradient", items=llh.n_doms)
    benchmark.group = "likelihood.event_llh"
    f, _ = benchmark(llh.neg_llh, *args)
    h = llh.hits
    ref = neg_llh_numpy(h["position"], h["first_time_ns"], v, t["zenith_deg"], t["azimuth_deg"])
    assert f == pytest.approx(ref, rel=1e-9)


def test_event_llh_numpy(benchmark, record, event, llh):
    t = event.meta["truth"]
    v = np.array(t["vertex"])
    h = llh.hits
    record(benchmark, role="baseline", baseline="numpy + scipy.special.pbdv",
           size=f"{llh.n_doms} hit DOMs, SPE, value only", items=llh.n_doms)
    benchmark.group = "likelihood.event_llh"
    ref = benchmark(neg_llh_numpy, h["position"], h["first_time_ns"], v, t["zenith_deg"], t["azimuth_deg"])
    f, _ = llh.neg_llh(*v, np.radians(t["zenith_deg"]), np.radians(t["azimuth_deg"]))
    assert ref == pytest.approx(f, rel=1e-9)


@pytest.fixture(scope="module")
def fit_dirs(event, bench_scale):
    n = max(2, int(round(8 * bench_scale)))
    return _directions(event, n)


@pytest.fixture(scope="module")
def baseline_fits(event, llh, fit_dirs):
    """scipy fits of the first two directions, computed once (the baseline is slow)."""
    h = llh.hits
    seed = np.array(event.meta["truth"]["vertex"])
    return [fit_direction_scipy(h["position"], h["first_time_ns"], z, a, seed)
            for z, a in zip(*[d[:2] for d in fit_dirs])]


@pytest.mark.parametrize("threads", [1, None])
def test_direction_fit_icecore(benchmark, record, event, llh, fit_dirs, baseline_fits, threads):
    zen, azi = fit_dirs
    seed = np.array(event.meta["truth"]["vertex"])
    out = llh.fit_directions(zen, azi, seed, threads=threads)
    dom_evals = int(out["n_eval"].sum()) * llh.n_doms
    record(benchmark, role="icecore",
           size=f"{zen.size} directions x 7 seeds, {llh.n_doms} hit DOMs, SPE, threads={threads}",
           items=zen.size, dom_hit_evaluations=dom_evals)
    benchmark.group = "likelihood.direction_fit"
    out = benchmark(llh.fit_directions, zen, azi, seed, threads=threads)
    if benchmark.stats is not None and threads == 1:
        mean = benchmark.stats.stats.mean
        benchmark.extra_info["dom_hit_evals_per_s_per_core"] = dom_evals / mean
        benchmark.extra_info["ms_per_direction"] = 1e3 * mean / zen.size
    for k, (best, _) in enumerate(baseline_fits):
        # the compiled fit finds the same minimum (or a better one)
        assert out["neg_llh"][k] <= best + 0.05
        assert out["neg_llh"][k] == pytest.approx(best, abs=0.5)


def test_direction_fit_scipy(benchmark, record, event, llh, fit_dirs, baseline_fits):
    h = llh.hits
    zen, azi = fit_dirs
    seed = np.array(event.meta["truth"]["vertex"])
    record(benchmark, role="baseline", baseline="numpy/scipy likelihood + scipy.optimize.minimize (L-BFGS-B)",
           size=f"1 direction x 7 seeds, {llh.n_doms} hit DOMs, SPE", items=1)
    benchmark.group = "likelihood.direction_fit"
    best, nfev = benchmark.pedantic(fit_direction_scipy, args=(h["position"], h["first_time_ns"], zen[0], azi[0], seed),
                                    rounds=1, iterations=1)
    assert best == pytest.approx(baseline_fits[0][0], abs=1e-6)
    ours = llh.fit_directions(zen[:1], azi[:1], seed, threads=1)
    assert ours["neg_llh"][0] <= best + 0.05
