"""The time-dependent (flare) search: kernel against a numpy reference, recovery, the real TXS 0506+056 flare."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from icecore import _core
from icecore.errors import InputError

REAL = Path("/work/shared/data/real/ps")
alt = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "ps"
if alt.is_dir():
    REAL = alt


def _model(t, x, runs, n_total=None, gamma0=1.0, dgamma=0.5, **kw):
    st = _core.ps.FlareSettings(gamma_min=gamma0, gamma_max=gamma0 + dgamma * (x.shape[0] - 1), **kw)
    runs = np.asarray(runs, dtype=float)
    return _core.ps.FlareModel(t=np.asarray(t, float), x=np.ascontiguousarray(x, dtype=float), gamma0=gamma0,
                               dgamma=dgamma, n_total=float(len(t) if n_total is None else n_total),
                               run_start=np.ascontiguousarray(runs[:, 0]), run_stop=np.ascontiguousarray(runs[:, 1]),
                               settings=st)


def _toy(seed=3, n_bkg=300, n_sig=15, mu=140.0, sigma=6.0):
    """Synthetic sample (not real data): uniform background, a Gaussian flare of signal-like events."""
    rng = np.random.default_rng(seed)
    runs = np.array([[0.0, 90.0], [95.0, 200.0], [203.0, 365.0]])
    live = np.diff(runs, axis=1).ravel()

    def uniform_live(k):
        r = rng.choice(len(runs), size=k, p=live / live.sum())
        return runs[r, 0] + rng.random(k) * live[r]

    tb = uniform_live(n_bkg)
    ts = rng.normal(mu, sigma, size=n_sig)
    ts = ts[((ts > 95) & (ts < 200))]
    t = np.concatenate([tb, ts])
    g = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    xb = 0.05 * rng.exponential(1.0, size=(1, len(tb))) * np.ones((len(g), 1))
    xs = 50.0 * np.exp(-((g[:, None] - 2.0) ** 2)) * np.ones((1, len(ts)))
    return t, np.concatenate([xb, xs], axis=1), runs, len(ts)


def _ref_log_lambda(t, x_g, runs, kind, a, b, ns, n_total):
    tl = float(np.sum(runs[:, 1] - runs[:, 0]))
    if kind == "gauss":
        z = sum(stats.norm.cdf(e, a, b) - stats.norm.cdf(s, a, b) for s, e in runs)
        r = tl * stats.norm.pdf(t, a, b) / z
    elif kind == "box":
        lv = sum(max(0.0, min(e, b) - max(s, a)) for s, e in runs)
        r = np.where((t >= a) & (t <= b), tl / lv, 0.0)
    else:
        r = np.ones_like(t)
    xx = x_g * r
    return float(np.sum(np.log1p(ns / n_total * (xx - 1.0))) + (n_total - len(t)) * math.log1p(-ns / n_total))


@pytest.mark.kernel
@pytest.mark.parametrize("kind,a,b", [("gauss", 150.0, 7.0), ("gauss", 92.0, 3.0), ("box", 120.0, 160.0),
                                      ("box", 80.0, 100.0), ("none", 0.0, 0.0)])
def test_log_lambda_matches_numpy_reference(kind, a, b):
    t, x, runs, _ = _toy()
    m = _model(t, x, runs, n_total=len(t) + 50)
    for ns, gamma in ((3.0, 2.0), (10.0, 2.25)):
        k = int((gamma - 1.0) / 0.5)
        f = (gamma - 1.0) / 0.5 - k
        xg = (1 - f) * x[k] + f * x[k + 1]
        ref = _ref_log_lambda(t, xg, runs, kind, a, b, ns, len(t) + 50)
        assert m.log_lambda(kind, a, b, ns, gamma) == pytest.approx(ref, rel=1e-10, abs=1e-10)


@pytest.mark.kernel
def test_uptime_integrals():
    t, x, runs, _ = _toy()
    m = _model(t, x, runs)
    assert m.livetime == pytest.approx(90 + 105 + 162)
    assert m.live_between(80, 100) == pytest.approx(10 + 5)
    assert m.live_between(-10, 1000) == pytest.approx(m.livetime)
    for mu, sg in ((92.5, 2.0), (150.0, 30.0), (0.0, 5.0)):
        ref = sum(integrate.quad(lambda u: stats.norm.pdf(u, mu, sg), s, e)[0] for s, e in runs)
        assert m.gauss_norm(mu, sg) == pytest.approx(ref, rel=1e-8)


@pytest.mark.kernel
def test_fit_fixed_is_the_maximum_of_log_lambda():
    t, x, runs, _ = _toy()
    m = _model(t, x, runs)
    r = m.fit_fixed("gauss", 140.0, 6.0)[0]
    best = m.log_lambda("gauss", 140.0, 6.0, r["ns"], r["gamma"])
    assert r["log_lambda"] == pytest.approx(2 * best, rel=1e-9)
    for dns, dg in ((0.3, 0), (-0.3, 0), (0, 0.05), (0, -0.05)):
        assert m.log_lambda("gauss", 140.0, 6.0, r["ns"] + dns, r["gamma"] + dg) <= best + 1e-9


@pytest.mark.kernel
@pytest.mark.parametrize("kind", ["gauss", "box"])
def test_synthetic_flare_recovered(kind):
    t, x, runs, n_sig = _toy()
    m = _model(t, x, runs, sigma_min=0.5)
    r = m.fit(kind)[0]
    assert r["ns"] == pytest.approx(n_sig, rel=0.25)
    assert r["gamma"] == pytest.approx(2.0, abs=0.15)
    if kind == "gauss":
        assert r["t_a"] == pytest.approx(140.0, abs=3.0)
        assert r["t_b"] == pytest.approx(6.0, rel=0.4)
        pen = 2 * math.log(math.sqrt(2 * math.pi) * r["t_b"] / m.livetime)
    else:
        assert 125 < r["t_a"] < 140 < r["t_b"] < 155
        pen = 2 * math.log(m.live_between(r["t_a"], r["t_b"]) / m.livetime)
    # the TS carries the marginalisation term for the flare length
    assert r["ts"] == pytest.approx(r["log_lambda"] + pen, rel=1e-9)


@pytest.mark.kernel
def test_trials_deterministic_across_threads_and_respect_uptime():
    t, x, runs, _ = _toy()
    m = _model(t, x, runs, n_seed=20, n_sigma=10)
    seeds = np.arange(1, 13, dtype=np.uint64)
    a = m.trials("gauss", seeds, 1)
    b = m.trials("gauss", seeds, 2)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a["ts"])) and np.all(a["ts"] >= 0)
    # a box over the gap [90, 95] only: no scrambled event can fall there -> TS 0
    w = m.trials("box", seeds, 1, window=(90.5, 94.5))
    assert np.all(w["ns"] == 0)


@pytest.mark.kernel
def test_trials_with_spatial_factors():
    t, x, runs, _ = _toy()
    m = _model(t, x, runs, n_seed=20, n_sigma=10)
    seeds = np.arange(3, 9, dtype=np.uint64)
    ones = np.ones((len(seeds), len(t)))
    # factors of one: the time-scrambled trials themselves
    np.testing.assert_array_equal(m.trials_spatial("gauss", seeds, ones, 1), m.trials("gauss", seeds, 1))
    # zero for the signal-like events: no candidate flare left, TS 0; scaling all by 2 changes the TS
    f = ones.copy()
    f[:, 300:] = 0.0
    f[:, :300] = 1e-3
    assert np.all(m.trials_spatial("box", seeds, f, 1)["ts"] == 0)
    two = m.trials_spatial("gauss", seeds, 2 * ones, 2)
    assert not np.allclose(two["ts"], m.trials("gauss", seeds, 1)["ts"])
    np.testing.assert_array_equal(two, m.trials_spatial("gauss", seeds, 2 * ones, 1))  # thread count
    with pytest.raises(ValueError, match="spatial"):
        m.trials_spatial("gauss", seeds, ones[:, :10], 1)


def test_cone_ra_scramble_stays_in_the_cone():
    from icecore.ps.dataset import Season
    from icecore.ps.flare import _angular_distance, cone_ra_scramble

    rng = np.random.default_rng(1)
    n = 400
    dec = rng.uniform(2.8, 8.6, n)
    ra = 77.4 + rng.uniform(-2, 2, n)
    s = Season.__new__(Season)
    s.region = (77.4, 5.7, 3.0)
    s.dec_deg = dec
    out = cone_ra_scramble(s, np.random.default_rng(2), 50)
    psi = np.degrees(_angular_distance(out, np.radians(dec)[None, :], np.radians(77.4), np.radians(5.7)))
    inside = np.degrees(_angular_distance(np.radians(ra), np.radians(dec), np.radians(77.4), np.radians(5.7))) < 3
    assert np.all(psi[:, inside] <= 3.0 + 1e-9)
    # uniform on the chord: an event at the source declination spans the full +-3 deg
    k = int(np.argmin(np.abs(dec - 5.7)))
    assert np.ptp(np.degrees(out[:, k])) > 5.0


def test_ten_season_search_and_simulated_flare(tmp_path):
    """SIMULATED data (toy detector): a flare injected into one of two seasons is found by the joint search."""
    from icecore.ps import load_public_data, simulate_public_data
    from icecore.ps.flare import FlareSearch, inject_flare_events

    root = tmp_path / "toy"
    simulate_public_data(root, seasons=("IC86_II", "IC86_III"), n_events=4000, seed=3)
    s = load_public_data(root)["IC86_III"]
    mid = float(0.5 * (s.uptime_mjd[0, 0] + s.uptime_mjd[-1, 1]))
    assert inject_flare_events(root, "IC86_III", 150.0, 20.0, 10, mean_mjd=mid, sigma_days=5.0, seed=1) == 10
    d = load_public_data(root)
    assert len(d["IC86_III"]) == len(s) + 10
    fs = FlareSearch(d, 150.0, 20.0, season="all", threads=1, n_seed=15, n_sigma=8)
    assert fs.livetime_days == pytest.approx(sum(x.livetime_days for x in d), rel=1e-9)
    r = fs.fit("gauss")
    assert r.season == "IC86_II+IC86_III" and abs(r.mean_mjd - mid) < 5.0 and 6 < r.ns < 16
    # one season, RA and time scrambled: the flare's events leave the source (time-only trials keep them)
    one = FlareSearch(d, 150.0, 20.0, season="IC86_III", threads=1, n_seed=15, n_sigma=8)
    ra_t = one.trials(3, "box", seed=2, scramble="time+ra", threads=1)
    np.testing.assert_array_equal(ra_t, one.trials(3, "box", seed=2, scramble="time+ra", threads=2))
    assert np.max(ra_t["ts"]) < np.min(one.trials(3, "box", seed=2)["ts"])
    # another event list for the same search: bad times or ratios are refused, naming the argument
    t_ok, x_ok = one.sample.t_mjd.copy(), one.sample.x.copy()
    assert one.on_events(t_ok, x_ok).fit("box").ts == pytest.approx(one.fit("box").ts, rel=1e-12, abs=1e-12)
    with pytest.raises(InputError, match="t_mjd"):
        one.on_events(np.where(np.arange(t_ok.size) == 0, np.nan, t_ok), x_ok)
    with pytest.raises(InputError, match="'x'"):
        one.on_events(t_ok, -x_ok - 1.0)
    with pytest.raises(InputError, match="rates"):
        simulate_public_data(tmp_path / "b", seasons=("IC86_II", "IC86_III"), n_events=[2000, 4000], seed=3)
        FlareSearch(load_public_data(tmp_path / "b"), 150.0, 20.0, season="all")


def test_invalid_input_is_rejected():
    t, x, runs, _ = _toy()
    with pytest.raises(ValueError, match="run"):
        _model([92.0], x[:, :1], runs)  # event in a gap
    with pytest.raises(ValueError, match="kind"):
        _model(t, x, runs).fit("lorentz")


# ------------------------------------------------------------------------------- real TXS data

needs_real = pytest.mark.skipif(not (REAL / "TXS0506_release").is_dir(), reason="real TXS 0506+056 release absent")


@pytest.fixture(scope="module")
def ic86b():
    from icecore.ps.flare import FlareSearch
    from icecore.ps.releases import TXS_DEC_DEG, TXS_RA_DEG, load_release

    d = load_release(REAL / "TXS0506_release", seasons=["IC86b"])
    return FlareSearch(d, TXS_RA_DEG, TXS_DEC_DEG, threads=1)


@needs_real
def test_txs_2014_15_gaussian_flare(ic86b):
    # Science 361, 147 (2018): centred near MJD 57004, ns ~ 13, gamma ~ 2.1
    r = ic86b.fit("gauss")
    assert 56983 < r.mean_mjd < 57025
    assert 40 < r.sigma_days < 80
    assert 8 < r.ns < 16
    assert 1.9 < r.gamma < 2.4
    assert r.ts > 12


@needs_real
def test_txs_2014_15_box_flare(ic86b):
    # the paper's box: MJD 56937.81 - 57096.21 (158 d)
    r = ic86b.fit("box")
    assert r.start_mjd == pytest.approx(56937.81, abs=0.05)
    assert 57090 < r.stop_mjd < 57120
    assert 9 < r.ns < 16 and 1.9 < r.gamma < 2.5


@needs_real
def test_txs_wider_background_energy_pdf_and_ra_scrambled_trials(ic86b):
    from icecore.ps.flare import FlareSearch
    from icecore.ps.releases import TXS_DEC_DEG, TXS_RA_DEG, load_release

    if not (REAL / "IC86-2011_PS-release").is_dir():
        pytest.skip("real IC86-2011 release absent")
    ic = load_release(REAL / "IC86-2011_PS-release").seasons[0]
    band = ic.log10_e[np.abs(ic.dec_deg - TXS_DEC_DEG) < 3.0]
    wide = FlareSearch(ic86b.season, TXS_RA_DEG, TXS_DEC_DEG, threads=1, background_log10_e=band,
                       background_rounding=0.1)
    r = wide.fit("gauss")
    # B_E from the release's own events contains the flare's high-energy events: the wider sample's is
    # lower there, so the same flare is more significant (TS 15.4 -> 21.9), at the same place
    assert 20.5 < r.ts < 23.5 and 56990 < r.mean_mjd < 57025 and 9 < r.ns < 14
    a = ic86b.trials(16, "box", seed=1, scramble="time")["ts"]
    b = ic86b.trials(16, "box", seed=1, scramble="time+ra")["ts"]
    # time-only scrambling keeps the flare's events at the source in every trial
    assert np.median(a) > np.median(b) + 2.0
    with pytest.raises(InputError, match="scramble"):
        ic86b.trials(2, "box", scramble="azimuth")
    # resampled trials: fresh events from the wider sample, uniform in the cone; thread count irrelevant
    rs = FlareSearch(ic86b.season, TXS_RA_DEG, TXS_DEC_DEG, threads=1, background_rounding=0.1,
                     background_events=(band, ic.angerr_deg[np.abs(ic.dec_deg - TXS_DEC_DEG) < 3.0]))
    assert rs.fit("gauss").ts == pytest.approx(r.ts, rel=1e-12)  # B_E from the same wider sample
    c = rs.trials(12, "box", seed=4, scramble="resample", threads=1)
    np.testing.assert_array_equal(c, rs.trials(12, "box", seed=4, scramble="resample", threads=2))
    assert np.median(c["ts"]) < np.median(a) - 2.0
    with pytest.raises(InputError, match="resample"):
        ic86b.trials(2, "box", scramble="resample")  # no wider sample given


@needs_real
def test_txs_background_trials_and_pvalue(ic86b):
    bg = ic86b.background(40, "gauss", seed=5, batch=20)
    r = ic86b.unblind("gauss", bg)
    assert r.p_value is not None and 0 < r.p_value < 0.1
    with pytest.raises(InputError):
        ic86b.fit_window(57000.0, 56990.0)
    w = ic86b.fit_window(56937.81, 57096.21)
    assert w.ns > 5
