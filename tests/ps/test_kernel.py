"""The C++ point-source kernel on hand-made inputs: validation, and the fit against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from icecore import _core

pytestmark = pytest.mark.kernel

G = 33  # gamma grid 0.9 ... 4.1
SETTINGS = {"gamma_grid0": 0.9, "gamma_grid_step": 0.1, "n_gamma_grid": G, "gamma_min": 1.0, "gamma_max": 4.0,
            "ns_max": 1000.0, "cone_rad": math.radians(10.0), "coarse_step": 0.5, "gamma_tol": 1e-3,
            "ra_box": False}


def _season(n=200, n_total=5000.0, seed=0, sigma_deg=1.0, flat=True):
    rng = np.random.default_rng(seed)
    dec = np.sort(rng.uniform(-0.1, 0.1, n))
    ra = rng.uniform(-0.1, 0.1, n) % (2 * np.pi)
    n_e = 12
    if flat:
        etable = np.ones((1, G, n_e))
    else:  # harder spectra favour high bins
        g = 0.9 + 0.1 * np.arange(G)
        k = np.arange(n_e)
        etable = np.exp(-np.outer(g - 2.0, k - 5.0) * 0.3)[None]
    etable[:, :, 0] = etable[:, :, -1] = 0.0
    return {
        "dec": dec, "ra": ra, "sin_dec": np.sin(dec), "cos_dec": np.cos(dec),
        "sigma": np.full(n, math.radians(sigma_deg)), "inv_b": rng.uniform(0.5, 20.0, n),
        "efrac": rng.uniform(0, 1, n), "cos_r": np.full(n, -2.0), "ebin": rng.integers(1, 10, n).astype(np.int32),
        "etable": etable.ravel(), "acc": np.array([1.0]), "acc_x_lo": np.array([1.0]), "acc_x_hi": np.array([10.0]),
        "n_total": n_total, "n_class": 1, "n_e": n_e,
    }


def _model(seasons, settings=SETTINGS):
    """The kernel from season dicts (typed PsSeason / PsSettings objects cross the binding)."""
    return _core.ps.PsModel([_core.ps.PsSeason(**s) for s in seasons], _core.ps.PsSettings(**settings))


def test_validation_errors():
    good = _season()
    _model([good])
    for key, val, match in [
        ("ra", np.zeros(3), "differ in length"),
        ("dec", good["dec"][::-1].copy(), "sorted"),
        ("ebin", np.full(200, 11, np.int32), "energy bin"),
        ("sigma", -good["sigma"], "sigma"),
        ("etable", np.ones(5), "energy table"),
        ("n_total", 10.0, "n_total"),
        ("inv_b", np.full(200, np.nan), "NaN"),
    ]:
        bad = dict(good)
        bad[key] = val
        with pytest.raises(ValueError, match=match):
            _model([bad])
    with pytest.raises(ValueError, match="gamma range"):
        _model([good], {**SETTINGS, "gamma_max": 4.5})
    m = _model([good])
    with pytest.raises(ValueError, match="cls"):
        m.fit(0.0, 0.0, np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="offsets"):
        m.trials(0.0, 0.0, np.zeros(1, np.int32), np.arange(3, dtype=np.uint64),
                 _core.ps.PsInjected(**{"season": np.zeros(1, np.int32), "ebin": np.ones(1, np.int32),
                                        "ra": np.zeros(1), "sin_dec": np.zeros(1), "cos_dec": np.ones(1),
                                        "sigma": np.ones(1), "inv_b": np.ones(1), "efrac": np.zeros(1),
                                        "cos_r": np.zeros(1), "offsets": np.array([0, 1], np.int64)}))
    with pytest.raises(ValueError, match="threads"):
        m.scan(np.zeros(2), np.zeros(2), np.zeros((2, 1), np.int32), -1)


def _numpy_x(season, ra=0.0, dec=0.0):
    cpsi = np.sin(dec) * season["sin_dec"] + np.cos(dec) * season["cos_dec"] * np.cos(season["ra"] - ra)
    psi = np.arccos(np.clip(cpsi, -1, 1))
    s2 = season["sigma"] ** 2
    spat = np.exp(-psi**2 / (2 * s2)) / (2 * np.pi * s2) * np.where(psi > 1e-6, psi / np.sin(psi), 1.0)
    return spat * season["inv_b"]  # flat energy table: S_E = 1


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(300.0, 1e5), st.floats(0.3, 3.0))
def test_flat_energy_fit_matches_scipy_root(seed, n_total, sigma_deg):
    """With a gamma-independent energy PDF and one season the profile in ns is a 1-d root problem."""
    s = _season(n_total=n_total, seed=seed, sigma_deg=sigma_deg)
    m = _model([s])
    r = m.fit(0.0, 0.0, np.zeros(1, np.int32))
    x = _numpy_x(s)
    N, nsel = n_total, len(x)

    def logl(ns):
        return np.sum(np.log1p(ns / N * (x - 1))) + (N - nsel) * np.log1p(-ns / N)

    def grad(ns):
        return np.sum((x - 1) / N / (1 + ns / N * (x - 1))) - (N - nsel) / N / (1 - ns / N)

    ns_hi = min(1000.0, 0.999999 * N)
    if grad(0.0) <= 0:
        want = 0.0
    elif grad(ns_hi) >= 0:
        want = ns_hi
    else:
        want = optimize.brentq(grad, 0.0, ns_hi, xtol=1e-12)
    assert r["ns"][0] == pytest.approx(want, rel=1e-6, abs=1e-6)
    assert r["ts"][0] == pytest.approx(2 * logl(want), rel=1e-6, abs=1e-6)
    assert m.log_lambda(0.0, 0.0, np.zeros(1, np.int32), want, 2.0) == pytest.approx(logl(want), rel=1e-9, abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 300.0), st.floats(1.0, 4.0))
def test_fit_is_a_maximum(seed, ns, gamma):
    seasons = [_season(seed=seed, flat=False), _season(seed=seed + 1, n_total=9000.0, flat=False)]
    seasons[1]["acc"] = np.array([2.0])
    m = _model(seasons)
    cls = np.zeros(2, np.int32)
    r = m.fit(0.0, 0.0, cls)
    assert r["ts"][0] >= 0 and r["status"][0] in (0, 1)
    assert r["ts"][0] >= 2 * m.log_lambda(0.0, 0.0, cls, ns, gamma) - 1e-6
    assert 1.0 <= r["gamma"][0] <= 4.0


def test_trials_thread_independent_and_injection_counts():
    s = _season(n=300)
    m = _model([s])
    cls = np.zeros(1, np.int32)
    seeds = np.arange(50, dtype=np.uint64) * 7919
    a = m.trials(0.0, 0.0, cls, seeds, None, 1)
    b = m.trials(0.0, 0.0, cls, seeds, None, 2)
    np.testing.assert_array_equal(a["ts"], b["ts"])
    # injected events at the source raise the TS
    n_inj = 5
    inj = {"season": np.zeros(50 * n_inj, np.int32), "ebin": np.full(50 * n_inj, 5, np.int32),
           "ra": np.zeros(50 * n_inj), "sin_dec": np.zeros(50 * n_inj), "cos_dec": np.ones(50 * n_inj),
           "sigma": np.full(50 * n_inj, 0.01), "inv_b": np.full(50 * n_inj, 10.0), "efrac": np.zeros(50 * n_inj),
           "cos_r": np.full(50 * n_inj, -2.0), "offsets": np.arange(51, dtype=np.int64) * n_inj}
    c = m.trials(0.0, 0.0, cls, seeds, _core.ps.PsInjected(**inj), 2)
    assert np.all(c["ts"] > a["ts"]) and np.median(c["ns"]) > 3


def test_typed_binding_objects():
    """Settings, seasons and injected events are typed objects; results are structured arrays."""
    st = _core.ps.PsSettings()
    assert st.n_gamma_grid == 33 and st.gamma_tol == pytest.approx(1e-3) and st.ra_box is False
    st.ns_max = 50.0
    assert _core.ps.PsSettings(**SETTINGS).cone_rad == pytest.approx(math.radians(10.0))
    season = _core.ps.PsSeason(**_season(n=20))
    assert (season.n_events, season.n_total, season.n_class, season.n_e) == (20, 5000.0, 1, 12)
    with pytest.raises(TypeError):
        _core.ps.PsModel([_season()], _core.ps.PsSettings())  # a dict is not a season
    with pytest.raises(ValueError, match="coarse_step"):
        _model([_season()], {**SETTINGS, "coarse_step": 0.0})
    m = _core.ps.PsModel([season], st)
    assert m.n_seasons == 1
    r = m.fit(0.0, 0.0, np.zeros(1, np.int32))
    assert r.dtype.names == ("ts", "ns", "gamma", "status", "n_selected", "n_eval") and r.shape == (1,)
    assert r["status"].dtype == np.int32 and r["ts"].dtype == np.float64
    s = m.scan(np.zeros(3), np.zeros(3), np.zeros((3, 1), np.int32), 1)
    assert s.shape == (3,) and np.all(s["ts"] == r["ts"][0])


def _injected(n=4, **over):
    cols = {"season": np.zeros(n, np.int32), "ebin": np.full(n, 5, np.int32), "ra": np.zeros(n),
            "sin_dec": np.zeros(n), "cos_dec": np.ones(n), "sigma": np.full(n, 0.01), "inv_b": np.full(n, 10.0),
            "efrac": np.zeros(n), "cos_r": np.full(n, -2.0), "offsets": np.array([0, n // 2, n], np.int64)}
    cols.update(over)
    return _core.ps.PsInjected(**cols)


def test_injected_events_validation():
    inj = _injected()
    assert (inj.n_events, inj.n_trials) == (4, 2)
    for over, match in [({"ra": np.zeros(3)}, "length"), ({"sigma": np.zeros(4)}, "sigma"),
                        ({"inv_b": np.full(4, np.inf)}, "inv_b"), ({"offsets": np.array([0, 3, 2, 4])}, "offsets"),
                        ({"offsets": np.array([0, 3], np.int64)}, "offsets"), ({"season": np.full(4, -1, np.int32)},
                                                                                "season")]:
        with pytest.raises(ValueError, match=match):
            _injected(**over)
    m = _model([_season()])
    cls, seeds = np.zeros(1, np.int32), np.arange(2, dtype=np.uint64)
    assert m.trials(0.0, 0.0, cls, seeds, inj, 1).shape == (2,)
    with pytest.raises(ValueError, match="injected.season"):
        m.trials(0.0, 0.0, cls, seeds, _injected(season=np.ones(4, np.int32)), 1)
    with pytest.raises(ValueError, match="injected.ebin"):
        m.trials(0.0, 0.0, cls, seeds, _injected(ebin=np.full(4, 11, np.int32)), 1)
    with pytest.raises(ValueError, match="offsets"):
        m.trials(0.0, 0.0, cls, np.arange(3, dtype=np.uint64), inj, 1)


def _sky_season(n=3000, seed=5):
    """Events over the whole sky (some RAs outside [0, 2 pi)), mixed radii: always / never / 0-15 deg."""
    rng = np.random.default_rng(seed)
    dec = np.sort(np.arcsin(rng.uniform(-1, 1, n)))
    ra = rng.uniform(0, 2 * np.pi, n)
    ra[::7] -= 2 * np.pi  # the same directions written with another turn
    ra[::11] += 2 * np.pi
    cos_r = np.cos(np.radians(rng.uniform(0.0, 15.0, n)))
    cos_r[::5] = -2.0
    cos_r[::13] = 2.0
    s = _season(n=n, seed=seed, flat=False)
    s.update(dec=dec, ra=ra, sin_dec=np.sin(dec), cos_dec=np.cos(dec), cos_r=cos_r,
             sigma=np.radians(rng.uniform(0.3, 5.0, n)), n_total=float(2 * n))
    return s


def _brute_selected(s, ra0, dec0, box):
    """The events a loop over the whole declination band selects (the kernel's rule, in numpy)."""
    cone = SETTINGS["cone_rad"]
    ux, uy = s["cos_dec"] * np.cos(s["ra"]), s["cos_dec"] * np.sin(s["ra"])
    cs = math.cos(dec0)
    cpsi = cs * math.cos(ra0) * ux + cs * math.sin(ra0) * uy + math.sin(dec0) * s["sin_dec"]
    sel = (s["dec"] >= dec0 - cone) & (s["dec"] <= dec0 + cone) & ~(cpsi < s["cos_r"])
    if box:
        lo, hi = max(-np.pi / 2, dec0 - cone), min(np.pi / 2, dec0 + cone)
        f = min(math.cos(lo), math.cos(hi))
        hw = min(2 * np.pi, cone / f) if f > 0 else 4 * np.pi
        if hw < np.pi:
            d = np.abs(s["ra"] - ra0) % (2 * np.pi)
            sel &= np.minimum(d, 2 * np.pi - d) < hw
    return int(sel.sum())


@pytest.mark.parametrize("box", [False, True])
def test_fixed_selection_matches_a_loop_over_the_band(box):
    # select_fixed visits only each declination strip's RA window: the selected set must be the
    # band loop's, also where the window wraps through RA 0, reaches a pole, or the RAs carry turns
    s1, s2 = _sky_season(3000, 5), _sky_season(1700, 6)
    m = _model([s1, s2], {**SETTINGS, "ra_box": box})
    rng = np.random.default_rng(1)
    ra = np.r_[0.0, 1e-4, 2 * np.pi - 1e-4, rng.uniform(0, 2 * np.pi, 40), 0.3, 3.0]
    dec = np.r_[0.2, -0.4, 1.1, np.arcsin(rng.uniform(-1, 1, 40)), math.radians(89.5), math.radians(-86.0)]
    cls = np.zeros((ra.size, 2), dtype=np.int32)
    out = m.scan(ra, dec, cls, 2)
    want = [_brute_selected(s1, a, d, box) + _brute_selected(s2, a, d, box) for a, d in zip(ra, dec)]
    assert list(out["n_selected"]) == want
    assert min(want) > 0
    # the scan sums in the band loop's order: bit-identical to single fits and to one thread
    one = m.scan(ra, dec, cls, 1)
    assert np.array_equal(out, one)
    for k in (0, 2, 17, 44):
        f = m.fit(ra[k], dec[k], cls[k])[0]
        assert (f["ts"], f["ns"], f["gamma"], f["n_eval"]) == (out["ts"][k], out["ns"][k], out["gamma"][k],
                                                               out["n_eval"][k])
