"""The Newton vertex fit's Hessian model and the per-level seeds (issue #12).

- ``neg_llh_transverse(..., hessian=True)``: the Hessian model agrees with central differences
  of the analytic gradient (fast: exact derivatives of the bicubic interpolant up to its
  piecewise second derivative; exact: the tables' second partials as the model).
- ``seed_minimizer="newton"`` from a seed near the minimum (the parent pixel's vertex at a fine
  scan level) reaches BFGS's minimum in fewer evaluations.
- ``level_seeds``: a ``fit_batch`` at a listed nside uses that level's ring seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from icecore.errors import InputError
from icecore.likelihood import TrackLikelihood, simulate_track

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def event():
    return simulate_track(150, 70, 120, seed=4, impact_m=[20.0, 10.0, -30.0], mjd=60001.0)


@pytest.mark.parametrize("kind", ["fast", "exact"])
def test_hessian_model_matches_differences_of_the_gradient(event, kind):
    llh = TrackLikelihood(event, "mpe", likelihood=kind, seed_minimizer="newton")
    t = event.meta["truth"]
    seed = np.asarray(t["vertex"], float)
    rng = np.random.default_rng(2)
    for zen_off, x in [(0.0, (3.0, -2.0, seed[3] + 5.0)), (25.0, (40.0, 30.0, seed[3] - 60.0))]:
        zen, azi = np.radians(t["zenith_deg"] + zen_off), np.radians(t["azimuth_deg"] + rng.normal(0, 3))
        f, g, H = llh.neg_llh_transverse(zen, azi, seed, *x, hessian=True)
        assert H.shape == (3, 3) and np.allclose(H, H.T)
        h = 1e-3
        fd = np.empty((3, 3))
        for j in range(3):
            e = np.zeros(3)
            e[j] = h
            gp = llh.neg_llh_transverse(zen, azi, seed, *(np.asarray(x) + e))[1]
            gm = llh.neg_llh_transverse(zen, azi, seed, *(np.asarray(x) - e))[1]
            fd[:, j] = (gp - gm) / (2 * h)
        assert np.abs(H - fd).max() <= 2e-3 * np.abs(fd).max(), (H, fd)
        # the value and gradient are those of neg_llh (the 3-D likelihood) at the same vertex
        assert llh.neg_llh_transverse(zen, azi, seed, *x)[0] == f


def test_newton_from_a_near_seed_needs_fewer_evaluations(event):
    t = event.meta["truth"]
    zen = np.radians(t["zenith_deg"] + np.array([0.0, 0.5, -0.8, 1.2]))
    azi = np.radians(t["azimuth_deg"] + np.array([0.0, -0.4, 0.6, 0.3]))
    opts = dict(likelihood="fast", n_ring=0, gtol=1e-2, ftol=1e-4)
    bfgs = TrackLikelihood(event, "mpe", **opts)
    first = bfgs.fit_batch(zen, azi, np.tile(np.asarray(t["vertex"], float), (4, 1)), 1)
    # refit 0.1 deg away from the fitted vertices (what a child pixel gets from its parent)
    z2, a2 = zen + np.radians(0.1), azi - np.radians(0.1)
    seeds = np.ascontiguousarray(first["vertex"])
    b = bfgs.fit_batch(z2, a2, seeds, 1)
    n = TrackLikelihood(event, "mpe", **opts, seed_minimizer="newton").fit_batch(z2, a2, seeds, 1)
    assert np.all(n["status"] == 0)
    assert np.abs(n["neg_llh"] - b["neg_llh"]).max() < 1e-3
    assert n["n_eval"].sum() < 0.6 * b["n_eval"].sum()


def test_level_seeds_apply_at_their_nside(event):
    t = event.meta["truth"]
    zen = np.radians(t["zenith_deg"] + np.array([10.0, -20.0, 40.0]))
    azi = np.radians(t["azimuth_deg"] + np.array([5.0, 30.0, -60.0]))
    seeds = np.tile(np.asarray(t["vertex"], float), (3, 1))
    per_level = TrackLikelihood(event, "mpe", likelihood="fast", level_seeds={"8": [1, 1]})
    assert per_level.options.level_seeds == [(8, 1, 1)]
    one_ring = TrackLikelihood(event, "mpe", likelihood="fast", n_ring=1, n_ring_near=1)
    full = TrackLikelihood(event, "mpe", likelihood="fast")
    np.testing.assert_array_equal(per_level.fit_batch(zen, azi, seeds, 2, nside=8), one_ring.fit_batch(zen, azi, seeds, 2))
    for nside in (0, 64):  # other levels (and no level) use n_ring / n_ring_near
        np.testing.assert_array_equal(per_level.fit_batch(zen, azi, seeds, 2, nside=nside),
                                      full.fit_batch(zen, azi, seeds, 2))
    with pytest.raises(ValueError, match="nside"):
        full.fit_batch(zen, azi, seeds, 2, nside=6)
    for bad in ({"6": [1, 1]}, {"8": [1]}, {"8": [1, 99]}, [8, 1, 1]):
        with pytest.raises(InputError, match="level_seeds"):
            TrackLikelihood(event, "mpe", level_seeds=bad)
    with pytest.raises(InputError, match="seed_minimizer"):
        TrackLikelihood(event, "mpe", seed_minimizer="lbfgs")
