"""fit_track on simulated muons (Python-level chain; not part of the sanitizer kernel run)."""

from __future__ import annotations

import numpy as np
import pytest

from icecore.coords import angular_distance_deg
from icecore.likelihood import fit_track, simulate_track


@pytest.fixture(scope="module")
def event():
    return simulate_track(200, 65, 210, seed=21, impact_m=[30.0, -40.0, 20.0], mjd=60123.4)


def _sep(z1, a1, z2, a2):
    return float(angular_distance_deg(a1, 90 - z1, a2, 90 - z2))


def test_fit_track_recovers_direction_and_converts(event):
    t = event.meta["truth"]
    r = fit_track(event, threads=2)
    err = _sep(r.zenith_deg, r.azimuth_deg, t["zenith_deg"], t["azimuth_deg"])
    assert err < 1.0
    from icecore.coords import icecube_to_equatorial

    ra, dec = icecube_to_equatorial(r.zenith_deg, r.azimuth_deg, event.mjd)
    assert r.ra_deg == pytest.approx(float(ra)) and r.dec_deg == pytest.approx(float(dec))
    assert r.neg_llh <= r.spe["neg_llh"] + 1e6  # MPE and SPE are different likelihoods: only finite
    assert np.all(np.isfinite(r.vertex))


@pytest.mark.slow
def test_fit_track_median_error_small_sample():
    """A small sample of 100 TeV - 1 PeV through-going muons (the full study is
    tools/fit_track_accuracy.py): median error well below a degree."""
    rng = np.random.default_rng(2024)
    errs = []
    for i in range(12):
        e = 10 ** rng.uniform(2, 3)
        zen = np.degrees(np.arccos(rng.uniform(-0.2, 1.0)))
        azi = rng.uniform(0, 360)
        ev = simulate_track(e, zen, azi, seed=1000 + i, max_impact_m=250.0)
        r = fit_track(ev, threads=2)
        errs.append(_sep(r.zenith_deg, r.azimuth_deg, zen, azi))
    assert np.median(errs) < 0.5
