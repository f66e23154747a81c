"""Shipped geometry, track geometry and events."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore.errors import InputError, ParseError
from icecore.likelihood import DEFAULT_ICE, Event, direction_vector, load_geometry, simulate_track, track_geometry


def test_shipped_geometry_layout():
    geo = load_geometry()
    assert geo.positions.shape == (5160, 3)
    assert set(np.unique(geo.string)) == set(range(1, 87))
    # DOM 1 of string 1 in IceCube coordinates: icecube.geo z -1452.04 + 1948.07
    np.testing.assert_allclose(geo.position(1, 1), [-256.14, -521.08, 496.03])
    # detector roughly centred on the origin in z after the shift
    assert -520 < geo.positions[:, 2].min() < -500 and 530 > geo.positions[:, 2].max() > 500


def test_geometry_matches_source_file(shared_dir):
    raw = np.loadtxt(shared_dir / "data" / "icecube.geo", skiprows=4)
    geo = load_geometry()
    idx = geo.index(raw[:, 3].astype(int), raw[:, 4].astype(int))
    np.testing.assert_allclose(geo.positions[idx], raw[:, :3] + [0, 0, 1948.07], atol=0.006)


def test_geometry_cross_check_parquet(shared_dir):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    tab = pd.read_parquet(shared_dir / "data" / "icecube86.parquet")
    tab = tab[tab["dom_number"] <= 60]
    geo = load_geometry()
    pos = geo.position(tab["string"].to_numpy(), tab["dom_number"].to_numpy())
    ref = tab[["dom_x", "dom_y", "dom_z"]].to_numpy(dtype=float)
    # an independent table (float32, 77 DOMs missing) agrees to its precision
    assert len(tab) > 5000
    np.testing.assert_allclose(pos, ref, atol=0.02)


@pytest.mark.kernel
def test_track_geometry_against_numpy():
    rng = np.random.default_rng(2)
    pos = rng.uniform(-500, 500, (50, 3))
    vertex = np.array([10.0, -20.0, 30.0, 1000.0])
    zen, azi = 50.0, 120.0
    g = track_geometry(pos, vertex, zen, azi)
    v = direction_vector(zen, azi)
    p = pos - vertex[:3]
    along = p @ v
    d = np.linalg.norm(p - np.outer(along, v), axis=1)
    theta_c = np.arccos(1 / DEFAULT_ICE.n_phase)
    c = DEFAULT_ICE.c_m_per_ns
    tgeo = vertex[3] + (along - d / np.tan(theta_c)) / c + d * DEFAULT_ICE.n_group / (c * np.sin(theta_c))
    np.testing.assert_allclose(g["along"], along, rtol=1e-12)
    np.testing.assert_allclose(g["distance"], d, rtol=1e-10)
    np.testing.assert_allclose(g["t_geo"], tgeo, atol=1e-6)
    # cos(eta) from the emission point seen from the DOM, PMT facing down
    emit = vertex[:3] + np.outer(along - d / np.tan(theta_c), v)
    u = (emit - pos) / np.linalg.norm(emit - pos, axis=1)[:, None]
    np.testing.assert_allclose(g["cos_eta"], -u[:, 2], atol=1e-6)


def test_direction_convention():
    # a muon from the zenith travels straight down
    np.testing.assert_allclose(direction_vector(0.0, 0.0), [0, 0, -1], atol=1e-15)
    np.testing.assert_allclose(direction_vector(90.0, 90.0), [0, -1, 0], atol=1e-15)


def _event():
    return Event.from_arrays([1, 1, 2], [10, 10, 5], [100.0, 150.0, 90.0], [1.0, 2.5, 0.5], run_id=7, event_id=9,
                             mjd=60000.25)


def test_event_json_round_trip(tmp_path):
    ev = _event()
    path = ev.save(tmp_path / "ev.json")
    obj = json.loads(path.read_text())
    assert obj["format"] == "icecore.event" and obj["version"] == 1
    assert obj["pulses"]["time_ns"] == [100.0, 150.0, 90.0]
    back = Event.load(path)
    for name in ("string", "dom", "time_ns", "charge_pe"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ev, name))
    assert (back.run_id, back.event_id, back.mjd) == (7, 9, 60000.25)
    assert abs(back.time.mjd - 60000.25) < 1e-9


def test_hit_doms_first_time_and_charge():
    h = _event().hit_doms()
    np.testing.assert_array_equal(h["string"], [1, 2])
    np.testing.assert_array_equal(h["first_time_ns"], [100.0, 90.0])
    np.testing.assert_allclose(h["charge_pe"], [3.5, 0.5])
    np.testing.assert_allclose(h["position"][0], load_geometry().position(1, 10))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(string=[87], dom=[1], time_ns=[0.0], charge_pe=[1.0]), "unknown DOM"),
        (dict(string=[1], dom=[61], time_ns=[0.0], charge_pe=[1.0]), "unknown DOM"),
        (dict(string=[1], dom=[1], time_ns=[np.nan], charge_pe=[1.0]), "time_ns"),
        (dict(string=[1], dom=[1], time_ns=[0.0], charge_pe=[-1.0]), "charge_pe"),
        (dict(string=[], dom=[], time_ns=[], charge_pe=[]), "empty"),
        (dict(string=[1, 2], dom=[1], time_ns=[0.0, 1.0], charge_pe=[1.0, 1.0]), "dom"),
        (dict(string=[1.5], dom=[1], time_ns=[0.0], charge_pe=[1.0]), "string"),
    ],
)
def test_bad_pulses_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Event.from_arrays(**kwargs)


def test_bad_json_raises():
    with pytest.raises(ParseError):
        Event.from_json("{not json")
    with pytest.raises(ParseError):
        Event.from_json(json.dumps({"format": "other"}))
    obj = _event().to_dict()
    obj["pulses"]["dom"][0] = 99
    with pytest.raises(InputError):
        Event.from_dict(obj)


def test_simulation_seeded_and_documented_truth():
    a = simulate_track(100, 40, 10, seed=3)
    b = simulate_track(100, 40, 10, seed=3)
    c = simulate_track(100, 40, 10, seed=4)
    np.testing.assert_array_equal(a.time_ns, b.time_ns)
    assert a.n_pulses != c.n_pulses or not np.array_equal(a.time_ns, c.time_ns)
    t = a.meta["truth"]
    assert t["zenith_deg"] == 40 and t["azimuth_deg"] == 10 and len(t["vertex"]) == 4
    # through the JSON layout the scan uses
    assert Event.from_json(a.to_json()).meta["truth"] == t


def test_simulation_scales_with_energy_and_mismatch_changes_light():
    lo = np.median([simulate_track(100, 60, 0, seed=s, impact_m=[0, 0, 0]).meta["truth"]["n_hit_doms"]
                    for s in range(5)])
    hi = np.median([simulate_track(1000, 60, 0, seed=s, impact_m=[0, 0, 0]).meta["truth"]["n_hit_doms"]
                    for s in range(5)])
    assert hi > 1.3 * lo > 50
    m = simulate_track(300, 60, 0, seed=1, impact_m=[0, 0, 0], mismatch=True)
    n = simulate_track(300, 60, 0, seed=1, impact_m=[0, 0, 0])
    assert m.meta["truth"]["mismatch"] and not np.array_equal(m.time_ns, n.time_ns)


def test_simulation_first_hit_times_follow_pandel():
    """Single-photon DOMs far from the track: residual quantiles match the Pandel CDF."""
    from scipy import stats

    ev = simulate_track(1000, 30, 45, seed=11, noise_rate_hz=1e-3, jitter_ns=1e-3, impact_m=[0, 0, 0])
    truth = ev.meta["truth"]
    h = ev.hit_doms()
    g = track_geometry(h["position"], truth["vertex"], 30, 45)
    one = h["charge_pe"] < 1.3
    deff = DEFAULT_ICE.effective_distance(g["distance"] / np.sin(DEFAULT_ICE.cherenkov_angle_rad), g["cos_eta"])
    res = h["first_time_ns"] - g["t_geo"]
    u = stats.gamma.cdf(res[one], deff[one] / DEFAULT_ICE.scattering_m, scale=1 / DEFAULT_ICE.rho)
    # probability integral transform should be uniform (charge < 1.3 PE is mostly one photon)
    assert one.sum() > 30
    assert stats.kstest(u, "uniform").pvalue > 1e-3
