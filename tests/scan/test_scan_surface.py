"""The drawn statistic surface (local quadratics on the finest level) against analytic surfaces."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecore.errors import InputError
from icecore.scan import contours as c
from icecore.scan.result import ScanResult
from icecore.scan.surface import StatisticSurface, quadratic_surface

NSIDE = 512
RA0, DEC0 = 123.4, 21.7


def _offsets(theta, phi):
    """Gnomonic offsets (deg) east/north of (RA0, DEC0)."""
    B = c.gnomonic_basis(RA0, DEC0)
    v = np.atleast_2d(hp.ang2vec(theta, phi))
    d = v @ B.T
    return np.degrees(d[:, 1] / d[:, 0]), np.degrees(d[:, 2] / d[:, 0])


def _analytic(theta, phi, sx=0.08, sy=0.13, rho=0.3):
    """2ΔlnL of a correlated Gaussian in the tangent plane (an exact quadratic there)."""
    x, y = _offsets(theta, phi)
    return (x * x / sx**2 - 2 * rho * x * y / (sx * sy) + y * y / sy**2) / (1 - rho * rho)


def _map_and_pixels(f, radius_deg=1.0):
    vec = hp.ang2vec(np.radians(90 - DEC0), np.radians(RA0))
    pix = hp.query_disc(NSIDE, vec, np.radians(radius_deg), nest=True)
    th, ph = hp.pix2ang(NSIDE, pix, nest=True)
    smap = np.full(12 * NSIDE * NSIDE, 1e3)
    smap[pix] = f(th, ph)
    return smap, pix


def _points(n, radius_deg, seed=1):
    rng = np.random.default_rng(seed)
    r = radius_deg * np.sqrt(rng.uniform(size=n))
    a = rng.uniform(0, 2 * np.pi, n)
    B = c.gnomonic_basis(RA0, DEC0)
    v = B[0] + np.tan(np.radians(r * np.cos(a)))[:, None] * B[1] + np.tan(np.radians(r * np.sin(a)))[:, None] * B[2]
    v /= np.linalg.norm(v, axis=1)[:, None]
    return np.arccos(v[:, 2]), np.arctan2(v[:, 1], v[:, 0])


def test_quadratic_surface_reproduces_a_quadratic_where_bilinear_is_biased_high():
    smap, pix = _map_and_pixels(_analytic)
    S = quadratic_surface(smap, pix)
    nb = hp.get_all_neighbours(NSIDE, pix, nest=True)
    interior = pix[np.isin(nb, pix).all(axis=0)]
    assert np.isin(interior, S.pixels).all()  # every pixel away from the rim has its quadratic
    th, ph = _points(2000, 0.5)
    truth = _analytic(th, ph)
    quad = S(th, ph)
    bil = hp.get_interp_val(smap, th, ph, nest=True)
    # the gnomonic planes of neighbouring pixels differ slightly: exact up to ~1e-3 of the value
    assert np.max(np.abs(quad - truth)) < 2e-3 * np.max(truth) + 1e-3
    # a linear interpolant of a convex function lies above it
    assert np.mean(bil - truth) > 0.05 and np.min(bil - truth) > -1e-9
    assert np.mean(np.abs(bil - truth)) > 50 * np.mean(np.abs(quad - truth))


def test_surface_passes_through_the_pixel_values():
    smap, pix = _map_and_pixels(_analytic)
    rng = np.random.default_rng(3)
    smap[pix] += rng.normal(0, 0.2, pix.size)  # noisy fits
    S = quadratic_surface(smap, pix)
    th, ph = hp.pix2ang(NSIDE, pix[:200], nest=True)
    np.testing.assert_allclose(S(th, ph), smap[pix[:200]], atol=1e-9)


def test_area_of_a_sub_pixel_contour_matches_the_ellipse():
    # 2Δ <= L of the quadratic above is an ellipse of area pi sx sy sqrt(1 - rho^2) L
    smap, pix = _map_and_pixels(_analytic)
    S = quadratic_surface(smap, pix)
    sx, sy, rho = 0.08, 0.13, 0.3
    for level in (1.386, 4.605):
        exact = np.pi * sx * sy * np.sqrt(1 - rho * rho) * level
        assert c.region_area_deg2(S, level, subdivide=16) == pytest.approx(exact, rel=0.03)
    # the bilinear surface lies above: its Wilks 50 % area is too small by far
    exact50 = np.pi * sx * sy * np.sqrt(1 - rho * rho) * 1.386
    assert c.region_area_deg2(smap, 1.386, subdivide=16) < 0.85 * exact50


def test_no_quadratic_means_bilinear():
    smap, pix = _map_and_pixels(_analytic)
    th, ph = _points(300, 0.4, seed=5)
    S = quadratic_surface(smap, pix[:3])  # too few finest-level pixels for any quadratic
    assert S.pixels.size == 0
    np.testing.assert_array_equal(S(th, ph), hp.get_interp_val(smap, th, ph, nest=True))
    S2 = quadratic_surface(smap, pix)
    far_th, far_ph = _points(50, 0.3, seed=6)
    far_ph = far_ph + np.pi  # the other side of the sky: no quadratic pixel among the four
    np.testing.assert_array_equal(S2(far_th, far_ph), hp.get_interp_val(smap, far_th, far_ph, nest=True))


def test_nan_pixels_are_outside_as_with_healpy():
    smap, pix = _map_and_pixels(_analytic)
    hole = pix[np.argmin(np.abs(_analytic(*hp.pix2ang(NSIDE, pix, nest=True)) - 3.0))]
    smap[hole] = np.nan
    S = quadratic_surface(smap, pix)
    assert hole not in S.pixels
    th, ph = hp.pix2ang(NSIDE, hole, nest=True)
    assert not np.isfinite(S(th, ph))
    assert c.region_area_deg2(S, 4.605) > 0


@settings(max_examples=25, deadline=None)
@given(sx=st.floats(0.04, 0.5), sy=st.floats(0.04, 0.5), rho=st.floats(-0.8, 0.8))
def test_property_quadratic_is_no_worse_than_bilinear(sx, sy, rho):
    def f(th, ph):
        return _analytic(th, ph, sx, sy, rho)
    smap, pix = _map_and_pixels(f, radius_deg=0.8)
    S = quadratic_surface(smap, pix)
    th, ph = _points(300, 0.4, seed=7)
    truth = f(th, ph)
    err_q = np.abs(S(th, ph) - truth)
    err_b = np.abs(hp.get_interp_val(smap, th, ph, nest=True) - truth)
    assert np.mean(err_q) <= np.mean(err_b) + 1e-9
    assert np.all(np.isfinite(err_q))


def test_scan_result_draws_on_the_quadratic_surface_by_default():
    smap, pix = _map_and_pixels(_analytic)
    r = ScanResult(np.full(pix.size, NSIDE), pix, 0.5 * smap[pix] + 100.0, np.zeros((pix.size, 4)),
                   np.ones(pix.size, int), np.zeros(pix.size, int))
    S = r.statistic_surface()
    assert isinstance(S, StatisticSurface) and r.statistic_surface() is S  # cached
    assert r.statistic_surface(interpolation="bilinear") is r.statistic_map()
    th, ph = _points(20, 0.2, seed=9)
    ra, dec = np.degrees(ph) % 360, 90 - np.degrees(th)
    vals = c.values_at(S, ra, dec)
    level = 4.605
    np.testing.assert_array_equal(r.contains(ra, dec, "90"), vals <= level)
    bil = r.areas_deg2("wilks", interpolation="bilinear")
    quad = r.areas_deg2("wilks")
    assert quad["50"] > bil["50"]
    with pytest.raises(InputError, match="'interpolation'"):
        r.areas_deg2("wilks", interpolation="cubic")


def test_bad_arguments_name_themselves():
    smap, pix = _map_and_pixels(_analytic)
    with pytest.raises(InputError, match="'smap'"):
        quadratic_surface(smap[:-1], pix)
    with pytest.raises(InputError, match="'radius'"):
        quadratic_surface(smap, pix, radius=0.9)
    with pytest.raises(InputError, match="'min_points'"):
        quadratic_surface(smap, pix, min_points=5)
    with pytest.raises(InputError, match="'fine_pixels'"):
        quadratic_surface(smap, [-1, 2])
    for bad in ([1.5, 2.7], [[1, 2], [3, 4]], ["a"]):
        with pytest.raises(InputError, match="'fine_pixels'"):
            quadratic_surface(smap, bad)
    assert quadratic_surface(smap, np.array([], dtype=np.int64)).pixels.size == 0  # empty: no quadratic
    S = quadratic_surface(smap, pix)
    with pytest.raises(InputError, match="'theta'"):
        S(np.nan, 0.3)
    with pytest.raises(InputError, match="'theta'"):
        S(4.0, 0.3)
    with pytest.raises(InputError, match="'phi'"):
        S(0.3, np.inf)
    assert S(np.array([]), np.array([])).shape == (0,)
