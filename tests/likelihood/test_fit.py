"""Track likelihood, per-direction vertex fit, LineFit and fit_track on simulated muons."""

from __future__ import annotations

import numpy as np
import pytest

from icecore import _core
from icecore.coords import angular_distance_deg
from icecore.errors import InputError
from icecore.likelihood import TrackLikelihood, linefit, simulate_track

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def event():
    return simulate_track(200, 65, 210, seed=21, impact_m=[30.0, -40.0, 20.0], mjd=60123.4)


def _sep(z1, a1, z2, a2):
    return float(angular_distance_deg(a1, 90 - z1, a2, 90 - z2))


def test_is_a_direction_fitter(event):
    llh = TrackLikelihood(event, "mpe")
    assert isinstance(llh, _core.scan.DirectionFitter)
    assert llh.n_doms == event.hit_doms()["string"].size


@pytest.mark.parametrize("mode", ["spe", "mpe"])
def test_gradient_matches_finite_differences(event, mode):
    llh = TrackLikelihood(event, mode)
    t = event.meta["truth"]
    x0 = np.array([*t["vertex"], np.radians(66.0), np.radians(208.0)])
    x0[:3] += [5.0, -7.0, 3.0]
    x0[3] += 12.0
    f, g = llh.neg_llh(*x0)
    steps = np.array([1e-3, 1e-3, 1e-3, 1e-3, 1e-6, 1e-6])
    fd = np.empty(6)
    for i in range(6):
        xp, xm = x0.copy(), x0.copy()
        xp[i] += steps[i]
        xm[i] -= steps[i]
        fd[i] = (llh.neg_llh(*xp)[0] - llh.neg_llh(*xm)[0]) / (2 * steps[i])
    np.testing.assert_allclose(g, fd, rtol=2e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["spe", "mpe"])
def test_vertex_recovered_at_true_direction(event, mode):
    t = event.meta["truth"]
    llh = TrackLikelihood(event, mode)
    seed = np.array(t["vertex"]) + [60.0, -50.0, 40.0, 0.0]  # off the track
    out = llh.fit_directions(t["zenith_deg"], t["azimuth_deg"], seed)
    assert out["status"][0] == 0
    v = out["vertex"][0]
    # distance of the fitted point from the true track line (the fit moves in the transverse plane)
    from icecore.likelihood import direction_vector

    d = direction_vector(t["zenith_deg"], t["azimuth_deg"])
    p = v[:3] - np.array(t["vertex"][:3])
    perp = np.linalg.norm(p - (p @ d) * d)
    assert perp < 5.0
    if mode == "mpe":
        # time at the fitted point agrees with the muon's passage there
        t_expected = t["vertex"][3] + (p @ d) / 0.299792458
        assert abs(v[3] - t_expected) < 10.0


def test_neg_llh_smallest_near_truth(event):
    t = event.meta["truth"]
    llh = TrackLikelihood(event, "mpe")
    offsets = [(0, 0), (2, 0), (-2, 0), (0, 2), (0, -2), (4, 3), (-5, -4)]
    zen = np.array([t["zenith_deg"] + a for a, _ in offsets])
    azi = np.array([t["azimuth_deg"] + b / np.sin(np.radians(t["zenith_deg"])) for _, b in offsets])
    out = llh.fit_directions(zen, azi, np.tile(t["vertex"], (len(zen), 1)))
    nll = out["neg_llh"]
    assert np.argmin(nll) == 0
    assert np.all(nll[1:] - nll[0] > 1.0)
    # farther is worse
    assert nll[5:].min() > nll[1:5].min()


def test_fit_batch_thread_independent(event):
    t = event.meta["truth"]
    llh = TrackLikelihood(event, "spe")
    rng = np.random.default_rng(0)
    zen = t["zenith_deg"] + rng.uniform(-3, 3, 6)
    azi = t["azimuth_deg"] + rng.uniform(-3, 3, 6)
    seeds = np.tile(t["vertex"], (6, 1))
    a = llh.fit_directions(zen, azi, seeds, threads=1)
    b = llh.fit_directions(zen, azi, seeds, threads=2)
    c = llh.fit_batch(np.radians(zen), np.radians(azi), seeds, 3)
    for k in ("neg_llh", "vertex", "n_eval", "status"):
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k])


def test_seven_seeds_by_default(event):
    t = event.meta["truth"]
    one = TrackLikelihood(event, "spe", n_ring=0).fit_directions(t["zenith_deg"], t["azimuth_deg"], t["vertex"])
    seven = TrackLikelihood(event, "spe").fit_directions(t["zenith_deg"], t["azimuth_deg"], t["vertex"])
    assert seven["n_eval"][0] > 3 * one["n_eval"][0]
    assert seven["neg_llh"][0] <= one["neg_llh"][0] + 1e-6


def test_bad_arguments(event):
    with pytest.raises(InputError, match="mode"):
        TrackLikelihood(event, "xyz")
    llh = TrackLikelihood(event, "spe")
    with pytest.raises(ValueError, match="seeds"):
        llh.fit_directions([10.0, 20.0], [0.0, 0.0], np.zeros((3, 4)))
    with pytest.raises(ValueError, match="zenith"):
        llh.fit_directions([np.nan], [0.0], np.zeros(4))
    with pytest.raises(ValueError):
        llh.fit_batch(np.zeros(2), np.zeros(2), np.zeros((2, 4)), -1)


def test_linefit_close_to_truth(event):
    t = event.meta["truth"]
    lf = linefit(event)
    assert _sep(lf.zenith_deg, lf.azimuth_deg, t["zenith_deg"], t["azimuth_deg"]) < 10.0
    assert 0.1 < lf.speed_m_per_ns < 0.4
