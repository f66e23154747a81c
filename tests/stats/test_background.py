import numpy as np
import pytest
from scipy import stats

from icecore.errors import FitError
from icecore.stats import BackgroundTS, effective_trials


def chi2_mixture(rng, n, eta=0.5, k=1.0):
    ts = np.zeros(n)
    nz = rng.random(n) < eta
    ts[nz] = rng.chisquare(k, nz.sum())
    return ts


def test_empirical_pvalue_exact_when_small():
    bg = BackgroundTS(min_count=1)
    vals = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    bg.add(vals)
    assert bg.n == 12 and bg.n_zero == 2 and bg.eta == pytest.approx(10 / 12)
    assert bg.count_above(5.0) == 6
    assert bg.pvalue(0.5, method="empirical") == pytest.approx(10 / 12)
    assert bg.ts_at_pvalue(0.5) == 5.0


def test_histogram_path_matches_exact_counts():
    rng = np.random.default_rng(1)
    ts = chi2_mixture(rng, 50_000)
    bg = BackgroundTS(tail_size=500, bin_width=0.01)
    for chunk in np.array_split(ts, 7):
        bg.add(chunk)
    assert len(bg._top) == 500  # bounded memory
    for x in [0.3, 1.0, 2.5, 4.0, 6.0, 9.0]:
        assert bg.count_above(x) == pytest.approx(np.sum(ts >= x), abs=0.02 * np.sum(ts >= x) + 3)
    assert bg.median() == pytest.approx(np.median(ts), abs=0.02)


def test_chi2_tail_fit_recovers_truth_and_extrapolates():
    rng = np.random.default_rng(2)
    eta, k = 0.45, 1.3
    bg = BackgroundTS(tail_size=1000, bin_width=0.02)
    bg.add(chi2_mixture(rng, 20_000, eta, k))
    fit = bg.fit_tail()
    assert fit["eta"] == pytest.approx(eta, abs=0.015)
    assert fit["ndof"] == pytest.approx(k, abs=0.06)
    # beyond the last trial: p ~ 1e-7 where 2e4 trials have nothing
    x = float(stats.chi2.isf(1e-7 / eta, k))
    assert bg.count_above(x) == 0
    assert bg.pvalue(x) == pytest.approx(1e-7, rel=0.5)
    # the 5 sigma threshold from the fit
    p5 = stats.norm.sf(5)
    assert bg.ts_at_pvalue(p5) == pytest.approx(stats.chi2.isf(p5 / eta, k), rel=0.1)


def test_tail_fit_against_large_monte_carlo():
    """A fit to 1e4 trials predicts the exceedance measured with 4e6 trials."""
    rng = np.random.default_rng(3)
    small = BackgroundTS(tail_size=2000)
    small.add(chi2_mixture(rng, 10_000))
    big = chi2_mixture(rng, 4_000_000)
    x = np.quantile(big, 1 - 2e-5)  # ~80 exceedances in 4e6, ~0.2 expected in 1e4
    p_big = np.mean(big >= x)
    assert small.count_above(x) < small.min_count
    assert small.pvalue(x) == pytest.approx(p_big, rel=0.35)


def test_threshold_beyond_trials_uses_fit_even_when_all_trials_stored():
    # 10 000 trials, all stored exactly: the 5 sigma threshold lies beyond the largest trial
    rng = np.random.default_rng(7)
    ts = chi2_mixture(rng, 10_000, 0.5, 1.0)
    bg = BackgroundTS(tail_size=20_000)
    bg.add(ts)
    p5 = stats.norm.sf(5)
    f = bg.fit_tail()
    thr = bg.ts_at_pvalue(p5)
    assert thr == pytest.approx(stats.chi2.isf(p5 / f["eta"], f["ndof"]), rel=1e-9)
    assert thr > ts.max()
    # and where enough trials exceed it, the empirical quantile is used
    assert bg.ts_at_pvalue(0.01) == pytest.approx(np.sort(ts)[-100], rel=1e-12)


def test_exponential_tail():
    rng = np.random.default_rng(4)
    bg = BackgroundTS(tail="exponential", tail_size=5000)
    bg.add(rng.exponential(2.0, 50_000))
    f = bg.fit_tail()
    assert f["scale"] == pytest.approx(2.0, rel=0.05)
    x = 2.0 * np.log(1e7)  # true p = 1e-7
    assert bg.pvalue(x) == pytest.approx(1e-7, rel=0.4)


def test_merge_equals_single():
    rng = np.random.default_rng(5)
    ts = chi2_mixture(rng, 5000)
    a, b, c = BackgroundTS(tail_size=300), BackgroundTS(tail_size=300), BackgroundTS(tail_size=300)
    a.add(ts[:2000])
    b.add(ts[2000:])
    c.add(ts)
    a.merge(b)
    assert a.n == c.n and a.n_zero == c.n_zero and sorted(a._top) == sorted(c._top)
    assert a.pvalue(3.0) == c.pvalue(3.0)


def test_errors():
    bg = BackgroundTS()
    with pytest.raises(ValueError, match="no trials"):
        bg.pvalue(1.0)
    with pytest.raises(ValueError, match="'ts'"):
        bg.add([1.0, np.nan])
    assert bg.n == 0  # nothing added by the failing call
    with pytest.raises(ValueError, match="'tail'"):
        BackgroundTS(tail="gauss")
    with pytest.raises(ValueError, match="'bin_width'"):
        BackgroundTS(bin_width=0)
    bg.add([0.0] * 100)
    with pytest.raises(FitError):
        bg.fit_tail()


def test_effective_trials():
    rng = np.random.default_rng(6)
    n_true = 250
    pmin = rng.random((4000, n_true)).min(axis=1)
    n_eff, err = effective_trials(pmin)
    assert abs(n_eff - n_true) < 4 * err
    assert err == pytest.approx(n_eff / np.sqrt(4000))
    with pytest.raises(ValueError, match="local_p_of_maxima"):
        effective_trials([0.0, 0.5])


def test_tail_curve_is_the_fitted_model():
    rng = np.random.default_rng(5)
    ts = np.where(rng.random(4000) < 0.5, 0.0, rng.chisquare(1.5, 4000))
    bg = BackgroundTS().add(ts)
    f = bg.fit_tail()
    x = np.array([0.0, 1.0, 30.0])
    np.testing.assert_allclose(bg.tail_curve(x), f["eta"] * stats.chi2.sf(x, f["ndof"]), rtol=1e-12)
    assert bg.tail_curve(40.0) == pytest.approx(bg.pvalue(40.0))  # beyond the trials: the fitted tail
    assert bg.max_ts == ts.max()
    ex = BackgroundTS(tail="exponential").add(ts)
    fe = ex.fit_tail()
    c = ex.tail_curve(np.array([fe["x0"] - 1.0, fe["x0"] + 2.0]))
    assert np.isnan(c[0]) and c[1] == pytest.approx(fe["p0"] * np.exp(-2.0 / fe["scale"]))
    assert np.isnan(BackgroundTS().max_ts)
