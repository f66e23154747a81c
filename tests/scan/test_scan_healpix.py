"""HEALPix NESTED primitives against healpy on random inputs at every nside up to 8192."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecore.scan import healpix as H

pytestmark = pytest.mark.kernel

NSIDES = [2**k for k in range(14)]  # 1 ... 8192


@pytest.mark.parametrize("nside", NSIDES)
def test_pixel_centres_and_lookup_match_healpy(nside):
    rng = np.random.default_rng(nside)
    pix = rng.integers(0, 12 * nside * nside, 3000)
    th, ph = H.pix2ang_nest(nside, pix)
    th2, ph2 = hp.pix2ang(nside, pix, nest=True)
    assert np.max(np.abs(th - th2)) < 1e-13
    assert np.max(np.abs(np.angle(np.exp(1j * (ph - ph2))))) < 1e-13
    np.testing.assert_allclose(H.pix2vec_nest(nside, pix), np.array(hp.pix2vec(nside, pix, nest=True)).T, atol=1e-14)
    # random directions (uniform on the sphere, plus points very near the poles)
    z = np.concatenate([rng.uniform(-1, 1, 3000), 1 - rng.uniform(0, 1e-9, 50), -1 + rng.uniform(0, 1e-9, 50)])
    theta = np.arccos(z)
    phi = rng.uniform(-np.pi, 3 * np.pi, theta.size)
    assert np.array_equal(H.ang2pix_nest(nside, theta, phi), hp.ang2pix(nside, theta, phi, nest=True))
    v = rng.normal(size=(2000, 3)) * rng.uniform(0.1, 10, (2000, 1))
    assert np.array_equal(H.vec2pix_nest(nside, v), hp.vec2pix(nside, v[:, 0], v[:, 1], v[:, 2], nest=True))


@pytest.mark.parametrize("nside", [1, 8, 64, 512, 8192])
def test_query_disc_matches_healpy(nside):
    rng = np.random.default_rng(1000 + nside)
    for _ in range(5):
        vec = rng.normal(size=3)
        vec /= np.linalg.norm(vec)
        radius = rng.uniform(0, min(1.0, 40.0 / nside))
        got = H.query_disc_nest(nside, vec, radius)
        want = np.sort(hp.query_disc(nside, vec, radius, nest=True, inclusive=False))
        assert np.array_equal(got, want)
    assert H.max_pixrad(nside) >= hp.max_pixrad(nside)
    assert H.max_pixrad(nside) < 1.05 * hp.max_pixrad(nside)


@given(st.integers(0, 13), st.integers(0, 13), st.integers(0, 2**62))
@settings(max_examples=60, deadline=None)
def test_children_and_parent_are_inverse(k1, k2, raw):
    lo, hi = sorted((k1, k2))
    if hi - lo > 6:
        hi = lo + 6
    n_lo, n_hi = 2**lo, 2**hi
    pix = raw % (12 * n_lo * n_lo)
    kids = H.children_nest(n_lo, pix, n_hi)
    assert kids.size == 4 ** (hi - lo)
    assert np.all(H.parent_nest(n_hi, kids, n_lo) == pix)
    # every child centre lies inside the parent pixel (healpy's own lookup at the coarse nside)
    th, ph = hp.pix2ang(n_hi, kids, nest=True)
    assert np.all(hp.ang2pix(n_lo, th, ph, nest=True) == pix)


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="nside"):
        H.pix2ang_nest(3, [0])
    with pytest.raises(ValueError, match="pix"):
        H.pix2ang_nest(8, [768])
    with pytest.raises(ValueError, match="theta"):
        H.ang2pix_nest(8, [4.0], [0.0])
    with pytest.raises(ValueError, match="phi"):
        H.ang2pix_nest(8, [1.0], [np.nan])
    with pytest.raises(ValueError, match="vec"):
        H.vec2pix_nest(8, [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="radius"):
        H.query_disc_nest(8, [0, 0, 1], -1.0)
    with pytest.raises(ValueError, match="nside_child"):
        H.children_nest(8, 0, 4)


def test_query_disc_huge_radius_is_bounded():
    """Issue #11 item 14: query_disc on a huge radius had no bound (the whole sky at nside 2^29)."""
    from icecore import _core

    with pytest.raises(ValueError, match="radius"):
        H.query_disc_nest(2**29, [0, 0, 1], 100.0)
    with pytest.raises(ValueError, match="radius"):
        H.query_disc_nest(8192, [0, 0, 1], np.pi)
    # the kernel refuses it too (before any work), for callers that skip the Python checks
    with pytest.raises(ValueError, match="limit"):
        _core.healpix.query_disc_nest(2**29, np.array([0.0, 0.0, 1.0]), 3.0)
    # a radius beyond pi is the whole sphere where that is small enough; the bound holds the result
    got = H.query_disc_nest(16, [1, 0, 0], 10.0)
    assert np.array_equal(got, np.arange(12 * 16 * 16))
    for nside, r in ((64, 0.3), (512, 0.05), (8, 2.0)):
        sel = H.query_disc_nest(nside, [0.3, -0.2, 0.9], r)
        assert sel.size <= _core.healpix.query_disc_bound(nside, r)
    assert H.query_disc_nest(64, [0, 0, 1], 0.3, max_pixels=10**6).size > 0
    with pytest.raises(ValueError, match="max_pixels"):
        H.query_disc_nest(64, [0, 0, 1], 0.3, max_pixels=0)


def test_children_nest_output_is_bounded():
    with pytest.raises(ValueError, match="nside_child"):
        H.children_nest(1, 0, 2**29)  # 2^58 children
    from icecore import _core

    with pytest.raises(ValueError, match="limit"):
        _core.healpix.children_nest(1, 0, 2**29)
    assert H.children_nest(1, 3, 2**13).size == 4**13


def test_kernel_outputs_do_not_overflow_for_huge_finite_vectors():
    """Issue #11 item 14: |v| overflowed to inf for finite components near DBL_MAX (refused as 'not finite')."""
    big = np.finfo(float).max
    v = np.array([[big, big, big], [big, -big / 3, 1.0], [-big, 0.0, big / 2], [1e-310, 2e-310, -3e-310]])
    want = hp.vec2pix(512, *(v / np.max(np.abs(v), axis=1, keepdims=True)).T, nest=True)
    assert np.array_equal(H.vec2pix_nest(512, v), want)
    # exact power-of-two rescaling: the same pixel as the unscaled vector, bit for bit
    rng = np.random.default_rng(3)
    u = rng.normal(size=(500, 3))
    assert np.array_equal(H.vec2pix_nest(8192, u * 2.0**1000), H.vec2pix_nest(8192, u))
    assert np.array_equal(H.query_disc_nest(64, [big, big, 0.0], 0.2), H.query_disc_nest(64, [1, 1, 0], 0.2))
