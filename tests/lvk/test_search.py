"""The generic and Bayesian searches: kernel vs numpy, background calibration, injection recovery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from icecore import _core
from icecore.lvk._numpy_reference import reference_evaluate
from icecore.lvk.events import simulate_window
from icecore.lvk.followup import _bayes_ts
from icecore.lvk.generic import flux_upper_limits, pvalue_with_ties

T_GW = 58709.882396  # S190814bv


@pytest.mark.kernel
def test_fit_ns_matches_bisection():
    x = np.array([5.0, 0.3, 12.0, 0.01])
    ns, f = _core.lvk.fit_ns(x)
    grid = np.linspace(0, 4, 400001)
    vals = -grid + np.log1p(grid[:, None] * x).sum(axis=1)
    assert ns == pytest.approx(grid[np.argmax(vals)], abs=1e-4)
    assert f == pytest.approx(vals.max(), rel=1e-8)
    assert _core.lvk.fit_ns(np.array([0.2, 0.3])) == (0.0, 0.0)


@pytest.mark.kernel
def test_kernel_rejects_bad_input():
    one = np.zeros(1)
    with pytest.raises(ValueError, match="bayes_gamma_index"):
        _core.lvk.LvkSearch(one, one, one, one + 1, np.ones((1, 2)), n_gamma=1, bayes_gamma_index=1)
    s = _core.lvk.LvkSearch(one, one, one, one + 1, np.ones((1, 2)))
    with pytest.raises(ValueError, match="sigma"):
        s.evaluate(one, one, one, one, np.ones((1, 1)))
    with pytest.raises(ValueError, match="NaN"):
        s.evaluate(one, one + np.nan, one + 0.01, one, np.ones((1, 1)))


@pytest.mark.kernel
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_matches_numpy_reference(search128, sample, background, seed):
    k = int(np.argmax(search128.region.prob))
    ra, dec = search128.region.ra_deg[k], search128.region.dec_deg[k]
    w = simulate_window(sample, T_GW, seed=seed, n_signal=seed - 1, source_deg=(ra, dec), background=background)
    got = search128.evaluate(w)
    ref = reference_evaluate(search128, w)
    assert got.ts == pytest.approx(ref["ts"], rel=1e-7, abs=1e-9)
    assert got.ns == pytest.approx(ref["ns"], rel=1e-6, abs=1e-9)
    if got.ts > 0:
        assert got.pixel == ref["pixel"]
    assert got.mean_lambda == pytest.approx(ref["odds_lambda"], rel=1e-9)


@pytest.mark.kernel
def test_trials_do_not_depend_on_threads(search128):
    a = search128.trials(400, seed=7, threads=1)
    b = search128.trials(400, seed=7, threads=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, search128.trials(400, seed=8, threads=2))


@pytest.mark.kernel
def test_background_pvalues_uniform_for_both_searches(search128):
    """>= 1000 background windows against 10 000 trials: KS p > 0.01 (ties at TS = 0 randomised)."""
    bg = search128.trials(10_000, seed=11)
    test = search128.trials(2_000, seed=12)
    base = float(np.sum(search128.region.prob * search128.moments[:, 0]))
    rng = np.random.default_rng(0)
    p_gen = pvalue_with_ties(bg["ts"], test["ts"], rng=rng)
    p_bay = pvalue_with_ties(_bayes_ts(bg["odds_lambda"], base), _bayes_ts(test["odds_lambda"], base), rng=rng)
    assert stats.kstest(p_gen, "uniform").pvalue > 0.01
    assert stats.kstest(p_bay, "uniform").pvalue > 0.01
    # the conservative p-values are valid: P(p <= a) <= a (+ binomial noise)
    for p in (pvalue_with_ties(bg["ts"], test["ts"]),):
        for a in (0.005, 0.01, 0.05):
            assert np.mean(p <= a) <= a + 3 * np.sqrt(a / test.size)


def test_injected_signal_recovered(search128, sample, background):
    reg = search128.region
    k = int(np.argmax(reg.prob))
    src = (float(reg.ra_deg[k]), float(reg.dec_deg[k]))
    ns, off = [], []
    for seed in range(20):
        w = simulate_window(sample, T_GW, seed=100 + seed, n_signal=4, source_deg=src, background=background)
        r = search128.evaluate(w)
        ns.append(r.ns)
        off.append(np.hypot((r.ra_deg - src[0]) * np.cos(np.radians(src[1])), r.dec_deg - src[1]))
    assert np.median(ns) == pytest.approx(4.0, abs=1.0)
    assert np.median(off) < 1.5


def test_flux_upper_limits_are_finite_and_ordered(search128, sample):
    w = simulate_window(sample, T_GW, seed=5)
    ul = flux_upper_limits(search128, w)
    lo, hi = ul["flux_sensitivity"]
    assert 0 < lo <= hi < 1e3
    e_lo, e_hi = ul["sensitive_energy_range"]
    assert 1e2 <= e_lo < e_hi <= 1e9
    assert ul["ns_upper_limit_range"][0] >= 2.3 - 1  # no events near: ns_UL ~ 1.35


@pytest.fixture(scope="module")
def wide_search(real, background):
    """The O4 BAYESTAR map (3900 deg^2 at 90 %) at nside 32: a region spanning the poles and RA 0/360."""
    from icecore.lvk.region import SearchRegion
    from icecore.lvk.search import PixelSearch
    from icecore.lvk.skymap import read_skymap

    smap = read_skymap(real / "gw" / "multiorder" / "G483432_O4_bayestar.multiorder.fits")
    return PixelSearch(SearchRegion.from_map(smap, nside=32, containment=1.0), background)


@pytest.mark.kernel
def test_strip_lookup_matches_brute_force_at_poles_and_ra_wrap(wide_search):
    """Events at the RA wrap, at both poles, with wide and narrow circles: kernel = numpy brute force."""
    from icecore.lvk.events import make_events

    ra = np.array([359.95, 0.02, 180.0, 10.0, 250.0, 359.0, 120.0])
    dec = np.array([10.0, -30.0, 89.9, -89.5, 45.0, -60.0, 0.0])
    sig = np.array([1.0, 3.0, 2.0, 0.5, 25.0, 8.0, 0.2])
    reg = wide_search.region
    for k in range(ra.size):
        ev = make_events(np.zeros(1), ra[k:k + 1], dec[k:k + 1], sig[k:k + 1], np.array([4.0]))
        ts_k, _ = wide_search.ts_map(ev)
        ref = reference_evaluate(wide_search, ev)
        got = wide_search.evaluate(ev)
        assert got.ts == pytest.approx(ref["ts"], rel=1e-7, abs=1e-9)
        assert got.mean_lambda == pytest.approx(ref["odds_lambda"], rel=1e-9)
        # the pixels the kernel touched (TS above the prior) are those within 5 sigma
        sep = np.degrees(np.arccos(np.clip(
            np.sin(np.radians(reg.dec_deg)) * np.sin(np.radians(dec[k])) + np.cos(np.radians(reg.dec_deg))
            * np.cos(np.radians(dec[k])) * np.cos(np.radians(reg.ra_deg - ra[k])), -1, 1)))
        assert not np.any(ts_k[sep > 5 * sig[k] + 1e-6] > reg.log_prior[sep > 5 * sig[k] + 1e-6])
    ev = make_events(np.zeros(ra.size), ra, dec, sig, np.full(ra.size, 4.0))
    ref = reference_evaluate(wide_search, ev)
    assert wide_search.evaluate(ev).mean_lambda == pytest.approx(ref["odds_lambda"], rel=1e-9)


@pytest.mark.kernel
def test_distance_moments_kernel_matches_numpy(wide_search, search128, background):
    from icecore.lvk._numpy_reference import reference_moments

    for s in (wide_search, search128):
        ref = reference_moments(s.region, background.sample.aeff, s.priors)
        assert np.allclose(s.moments, ref, rtol=1e-6, atol=1e-300)
        assert np.all(s.moments[:, 0] <= 1.0) and np.all(s.moments >= 0)


@pytest.mark.kernel
def test_batched_trials_equal_one_run(search128):
    one = search128.trials(250, seed=4, batch=1000, progress=False)
    assert np.array_equal(one, search128.trials(250, seed=4, batch=7, progress=False))
