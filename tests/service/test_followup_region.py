"""The point-source follow-up over the alert's error region (service/followup.py), on toy data."""

from __future__ import annotations

import numpy as np
import pytest

from icecore.coords import angular_distance_deg
from icecore.errors import InputError
from icecore.service.followup import ps_followup, region_grid, shared_event_list

T0 = 55900.3  # alert time inside the toy season (MJD 55694-56059)
SOURCE = (77.35, 5.15)  # a simulated flare 0.36 deg from the alert position (77.0, 5.0)


@pytest.fixture(scope="module")
def flare_data(tmp_path_factory):
    """Toy IC86_I season with 8 simulated flare events at SOURCE around T0 (sigma 0.2 d)."""
    from icecore.ps import load_public_data, simulate_public_data
    from icecore.ps.flare import inject_flare_events

    path = simulate_public_data(tmp_path_factory.mktemp("ps"), seasons=("IC86_I",), n_events=20000, seed=1)
    inject_flare_events(path, "IC86_I", *SOURCE, 8, gamma=2.0, mean_mjd=T0, sigma_days=0.2, seed=5)
    return load_public_data(path)


def test_region_grid_is_a_hexagonal_grid_inside_the_circle():
    ra, dec = region_grid(10.0, -60.0, 1.0)
    assert ra.size == 19 and (ra[0], dec[0]) == pytest.approx((10.0, -60.0))
    sep = np.asarray(angular_distance_deg(10.0, -60.0, ra, dec))
    assert sep.max() <= 1.0 + 1e-9 and np.all(np.diff(sep) >= -1e-9)  # inside, ordered by distance
    d = np.asarray(angular_distance_deg(ra[:, None], dec[:, None], ra[None, :], dec[None, :]))
    np.fill_diagonal(d, np.inf)
    assert d.min(axis=1) == pytest.approx(np.full(19, 0.5), abs=5e-3)  # spacing r90/2 on the sky
    assert region_grid(10.0, 0.0, 1.0, 0.25)[0].size == 61
    with pytest.raises(InputError, match="'radius_deg'"):
        region_grid(10.0, 0.0, 0.0)
    with pytest.raises(InputError, match="'step_deg'"):
        region_grid(10.0, 0.0, 5.0, 0.01)


def test_shared_event_list_keeps_fits_and_scrambles_coherently(flare_data):
    from icecore.ps import FlareSearch

    s = flare_data.seasons[0]
    a, b = FlareSearch(s, 77.0, 5.0, threads=1), FlareSearch(s, 77.3, 5.0, threads=1)
    assert a.sample.t_mjd.size != b.sample.t_mjd.size  # each stores the events near it
    sa, sb = shared_event_list([a, b])
    assert np.array_equal(sa.sample.t_mjd, sb.sample.t_mjd)
    win = (T0 - 15.0, T0 + 15.0)
    for orig, shared in ((a, sa), (b, sb)):  # x = 0 padding changes no fit
        r0, r1 = orig.fit_window(*win), shared.fit_window(*win)
        assert r1.ts == pytest.approx(r0.ts, rel=1e-9, abs=1e-9) and r1.ns == pytest.approx(r0.ns, abs=1e-6)
    # one seed, one scramble of the same events: neighbouring positions' trials are correlated
    ta, tb = (x.trials(100, "box", seed=3, window=win)["ts"] for x in (sa, sb))
    oa, ob = (x.trials(100, "box", seed=3, window=win)["ts"] for x in (a, b))
    assert np.corrcoef(ta, tb)[0, 1] > 0.5 > np.corrcoef(oa, ob)[0, 1]


def test_followup_over_the_error_region(flare_data):
    kw = dict(windows_s=[(-86400.0, 86400.0)], n_trials=100, seed=7)
    out = ps_followup(flare_data, 77.0, 5.0, T0, error90_deg=0.5, **kw)
    assert out["error_region"]["n_points"] == 19 and out["error_region"]["radius_deg"] == 0.5
    w = out["windows"][0]
    reg = w["error_region"]
    assert reg["status"] == "ok" and reg["n_trials"] == 100 and len(reg["ts_grid"]) == 19
    # the best grid point lies towards the simulated flare (0.36 deg from the alert) and beats the alert position
    best = reg["best"]
    assert angular_distance_deg(*SOURCE, best["ra_deg"], best["dec_deg"]) < 0.2 and best["offset_deg"] > 0.2
    assert reg["ts"] == max(reg["ts_grid"]) and reg["ts"] > w["ts"] > 0
    assert reg["ts_grid"][0] == pytest.approx(w["ts"])  # the centre is the point search
    # the look-elsewhere effect: trials maximised over the grid make the same TS less significant
    assert reg["background_ts_median"] >= 0 and reg["p_value"] >= reg["p_value_local"]
    # the point-source numbers at the alert position are unchanged by the region search
    point = ps_followup(flare_data, 77.0, 5.0, T0, error90_deg=None, **kw)
    assert point["windows"][0]["ts"] == w["ts"] and point["windows"][0]["p_value"] == w["p_value"]
    assert point["windows"][0]["error_region"] == {"status": "no_error_radius"}
