"""The per-direction vertex fit evaluates -lnL in the transverse frame of the track (issue #12):
its reported minimum must be the likelihood (3-D geometry) at the returned vertex, a minimum of
it, and independent of the thread count (dynamic scheduling)."""

from __future__ import annotations

import numpy as np
import pytest

from icecore.likelihood import TrackLikelihood, simulate_track

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def event():
    return simulate_track(150, 70, 120, seed=4, impact_m=[20.0, 10.0, -30.0], mjd=60001.0)


@pytest.mark.parametrize("kind", ["exact", "fast"])
def test_fit_value_is_the_likelihood_at_the_vertex_and_a_minimum(event, kind):
    llh = TrackLikelihood(event, "mpe", n_ring=2, likelihood=kind)
    t = event.meta["truth"]
    zen = np.radians(t["zenith_deg"] + np.array([0.0, 2.0, -4.0, 30.0]))
    azi = np.radians(t["azimuth_deg"] + np.array([0.0, 1.0, 3.0, -20.0]))
    seed = np.asarray(t["vertex"], float) + [30.0, -20.0, 10.0, 15.0]
    res = llh.fit_batch(zen, azi, np.tile(seed, (4, 1)), 2)
    for k in range(4):
        v = res["vertex"][k]
        f, g = llh.neg_llh(v[0], v[1], v[2], v[3], zen[k], azi[k])
        assert abs(f - res["neg_llh"][k]) < 1e-8 * abs(f)
        # a minimum in the transverse plane and in time: the gradient there is small, and the
        # value does not drop by moving 1 m / 1 ns along any transverse axis
        assert abs(g[3]) < 0.05
        for dv in ([1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]):
            for sgn in (1.0, -1.0):
                w = v + sgn * np.asarray(dv)
                assert llh.neg_llh(w[0], w[1], w[2], w[3], zen[k], azi[k])[0] > f - 1e-3


def test_fits_do_not_depend_on_threads(event):
    llh = TrackLikelihood(event, "mpe", likelihood="fast")
    rng = np.random.default_rng(1)
    zen = np.radians(rng.uniform(10, 170, 23))
    azi = np.radians(rng.uniform(0, 360, 23))
    seeds = np.tile(np.asarray(event.meta["truth"]["vertex"], float), (23, 1))
    ref = llh.fit_batch(zen, azi, seeds, 1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(llh.fit_batch(zen, azi, seeds, threads), ref)
