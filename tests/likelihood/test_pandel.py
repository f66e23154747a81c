"""Pandel distributions against independent oracles (scipy.stats.gamma, scipy.integrate.quad)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from icecore.errors import InputError
from icecore.likelihood import (
    DEFAULT_ICE,
    IceModel,
    cpandel_pdf,
    cpandel_sf,
    mpe_pdf,
    pandel_log_eval,
    pandel_pdf,
    pandel_sf,
)

pytestmark = pytest.mark.kernel

RHO = DEFAULT_ICE.rho
LAM = DEFAULT_ICE.scattering_m


def _gamma(d):
    return stats.gamma(d / LAM, scale=1.0 / RHO)


def quad_cpandel_pdf(t, d, sigma):
    """Numerical convolution of the gamma pdf with a Gaussian (integration variable: the Gaussian)."""
    g = _gamma(d)
    f = lambda x: stats.norm.pdf(x) * g.pdf(t - sigma * x)  # noqa: E731
    b = t / sigma
    lo, hi = -40.0, 40.0
    if b <= lo:
        return 0.0
    pts = [p for p in (b - 1e-9,) if lo < p < hi]
    # the gamma pdf is singular at 0 for d < lambda: integrate in s = t - sigma x instead there
    fs = lambda s: g.pdf(s) * stats.norm.pdf((t - s) / sigma) / sigma  # noqa: E731
    smax = max(t - sigma * lo, 0.0)
    smin = max(t - sigma * hi, 0.0)
    mode = max((d / LAM - 1) / RHO, 0.0)
    brk = sorted({p for p in (t, mode, min(1.0, smax)) if smin < p < smax})
    edges = [smin, *brk, smax]
    tot = 0.0
    for a, c in zip(edges[:-1], edges[1:]):
        tot += integrate.quad(fs, a, c, epsabs=0, epsrel=1e-10, limit=500)[0]
    del pts, f
    return tot


def quad_cpandel_sf(t, d, sigma):
    """S(t) = E_G[gamma.sf(t - sigma G)], integrated over the Gaussian."""
    g = _gamma(d)
    f = lambda x: stats.norm.pdf(x) * g.sf(t - sigma * x)  # noqa: E731
    b = t / sigma
    lo, hi = -40.0, 40.0
    if b <= lo:
        return 1.0
    if b >= hi:
        return integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-10, limit=500)[0]
    return integrate.quad(f, lo, b, epsabs=0, epsrel=1e-12, limit=500)[0] + stats.norm.sf(b)


def test_pandel_matches_scipy_gamma():
    rng = np.random.default_rng(1)
    t = rng.uniform(0.01, 5000, 2000)
    d = 10 ** rng.uniform(-1, 3, 2000)
    ref_pdf = _gamma(d).pdf(t)
    ref_sf = _gamma(d).sf(t)
    m = ref_pdf > 1e-300
    np.testing.assert_allclose(pandel_pdf(t, d)[m], ref_pdf[m], rtol=1e-10)
    m = ref_sf > 1e-300
    np.testing.assert_allclose(pandel_sf(t, d)[m], ref_sf[m], rtol=1e-10)
    assert np.all(pandel_pdf(-np.abs(t), d) == 0)
    assert np.all(pandel_sf(-np.abs(t), d) == 1)


# (t, d, sigma) spread over the plane, including large |t/sigma| on both sides
CASES = [
    (-500.0, 10.0, 50.0), (-150.0, 0.1, 10.0), (-60.0, 200.0, 15.0), (-20.0, 5.0, 4.0),
    (-5.0, 50.0, 4.0), (0.0, 1.0, 1.0), (0.0, 300.0, 15.0), (3.0, 0.1, 1.0), (10.0, 30.0, 4.0),
    (25.0, 100.0, 4.0), (60.0, 20.0, 15.0), (150.0, 500.0, 50.0), (300.0, 150.0, 4.0),
    (800.0, 1000.0, 15.0), (1500.0, 0.5, 1.0), (3000.0, 300.0, 1.0), (5000.0, 1000.0, 50.0),
    (5000.0, 0.1, 4.0), (-35.0, 1000.0, 10.0), (45.0, 600.0, 4.0),
]


@pytest.mark.parametrize("t,d,sigma", CASES)
def test_cpandel_matches_numerical_convolution(t, d, sigma):
    ref = quad_cpandel_pdf(t, d, sigma)
    got = float(cpandel_pdf(t, d, sigma))
    if ref > 1e-30:
        assert got == pytest.approx(ref, rel=1e-4)
    else:
        assert got < 1e-28
    ref = quad_cpandel_sf(t, d, sigma)
    got = float(cpandel_sf(t, d, sigma))
    if ref > 1e-30:
        assert got == pytest.approx(ref, rel=1e-4)


def test_cpandel_random_points_against_quad():
    rng = np.random.default_rng(7)
    worst_pdf = worst_sf = 0.0
    for _ in range(25):
        t = rng.uniform(-500, 5000) if rng.random() < 0.5 else rng.uniform(-100, 300)
        d = 10 ** rng.uniform(-1, 3)
        s = rng.uniform(1, 50)
        ref = quad_cpandel_pdf(t, d, s)
        if ref > 1e-30:
            worst_pdf = max(worst_pdf, abs(float(cpandel_pdf(t, d, s)) / ref - 1))
        ref = quad_cpandel_sf(t, d, s)
        if ref > 1e-30:
            worst_sf = max(worst_sf, abs(float(cpandel_sf(t, d, s)) / ref - 1))
    assert worst_pdf < 1e-4 and worst_sf < 1e-4


@pytest.mark.parametrize("d,sigma", [(0.1, 1.0), (0.1, 50.0), (5.0, 4.0), (50.0, 15.0), (300.0, 4.0), (1000.0, 50.0)])
def test_cpandel_normalised(d, sigma):
    nu = d / LAM
    mode = max((nu - 1) / RHO, 0.0)
    hi = nu / RHO + 60 * np.sqrt(nu) / RHO + 60 * sigma + 2000
    pts = sorted({0.0, mode, 1.0, 5 * sigma})
    edges = [-40 * sigma, *[p for p in pts if -40 * sigma < p < hi], hi]
    tot = sum(
        integrate.quad(lambda t: float(cpandel_pdf(t, d, sigma)), a, b, epsabs=0, epsrel=1e-10, limit=500)[0]
        for a, b in zip(edges[:-1], edges[1:])
    )
    assert tot == pytest.approx(1.0, abs=1e-6)


def test_dense_grid_finite_and_non_negative():
    t = np.linspace(-500, 5000, 221)
    d = np.geomspace(0.1, 1000, 31)
    for sigma in (1.0, 4.0, 15.0, 50.0):
        T, Dd = np.meshgrid(t, d)
        p = cpandel_pdf(T, Dd, sigma)
        s = cpandel_sf(T, Dd, sigma)
        m = mpe_pdf(T, Dd, sigma, 7.0)
        for arr in (p, s, m):
            assert np.all(np.isfinite(arr)) and np.all(arr >= 0)
        assert np.all(s <= 1.0 + 1e-12)
        # survival function decreases with t
        assert np.all(np.diff(s, axis=1) <= 1e-12)


@pytest.mark.parametrize("n", [1.0, 2.0, 5.0, 30.0])
def test_mpe_pdf(n):
    d, sigma = 40.0, 4.0
    for t in (-10.0, 0.0, 20.0, 150.0):
        ref = n * quad_cpandel_pdf(t, d, sigma) * quad_cpandel_sf(t, d, sigma) ** (n - 1)
        assert float(mpe_pdf(t, d, sigma, n)) == pytest.approx(ref, rel=1e-4)
    tot = integrate.quad(lambda t: float(mpe_pdf(t, d, sigma, n)), -200, 6000, points=[0, 50, 300], limit=500,
                         epsabs=0, epsrel=1e-10)[0]
    assert tot == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kind", ["pandel_pdf", "pandel_sf", "cpandel_pdf", "cpandel_sf", "mpe_pdf"])
def test_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(-60, 400, 40), rng.uniform(400, 3000, 10)])
    if kind.startswith("pandel"):
        t = np.abs(t) + 1.0
    d = 10 ** rng.uniform(0, 2.7, t.size)
    n = np.floor(rng.uniform(1, 10, t.size))
    sigma = 6.0
    v, gd, gt = pandel_log_eval(kind, t, d, sigma, n)
    h_t, h_d = 1e-4, 1e-5 * d
    fd_t = (pandel_log_eval(kind, t + h_t, d, sigma, n)[0] - pandel_log_eval(kind, t - h_t, d, sigma, n)[0]) / (2 * h_t)
    fd_d = (pandel_log_eval(kind, t, d + h_d, sigma, n)[0] - pandel_log_eval(kind, t, d - h_d, sigma, n)[0]) / (2 * h_d)
    ok = np.isfinite(v) & (v > -600)
    np.testing.assert_allclose(gt[ok], fd_t[ok], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gd[ok], fd_d[ok], rtol=1e-5, atol=1e-7)


def test_sf_derivative_is_minus_pdf():
    t = np.linspace(-50, 600, 40)
    v, _, gt = pandel_log_eval("cpandel_sf", t, 70.0, 10.0)
    np.testing.assert_allclose(-gt * np.exp(v), cpandel_pdf(t, 70.0, 10.0), rtol=1e-8)


def test_ice_model_changes_rate():
    ice = IceModel(absorption_m=50.0, scattering_m=20.0)
    ref = stats.gamma(30.0 / 20.0, scale=1.0 / ice.rho).pdf(100.0)
    assert float(pandel_pdf(100.0, 30.0, ice=ice)) == pytest.approx(ref, rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    t=st.floats(-1e4, 1e5),
    d=st.floats(0.01, 3000),
    sigma=st.floats(0.5, 100),
    n=st.floats(1, 1000),
)
def test_property_finite(t, d, sigma, n):
    for kind in ("cpandel_pdf", "cpandel_sf", "mpe_pdf"):
        v, gd, gt = pandel_log_eval(kind, t, d, sigma, n)
        assert not np.isnan(v) and np.isfinite(gd) and np.isfinite(gt)
        assert v <= 1e-12 or kind != "cpandel_sf"


def test_bad_input_raises():
    with pytest.raises(InputError, match="'t'"):
        cpandel_pdf(np.nan, 10.0, 4.0)
    with pytest.raises(InputError, match="'d'"):
        cpandel_pdf(1.0, -1.0, 4.0)
    with pytest.raises(InputError, match="'sigma'"):
        cpandel_pdf(1.0, 1.0, 0.0)
    with pytest.raises(InputError, match="'n'"):
        mpe_pdf(1.0, 1.0, 4.0, 0.5)
    with pytest.raises(ValueError):
        IceModel(n_group=0.9)
