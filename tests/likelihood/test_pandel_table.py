"""The tabulated ("fast") ln cp / ln S against the exact closed form: the stated error bound
(pandel_table.hpp) on a dense off-node grid and on arguments sampled from a real scan, gradients,
domain fallback and the likelihood="fast" option."""

from __future__ import annotations

import numpy as np
import pytest

from icecore import _core
from icecore.errors import InputError
from icecore.likelihood import DEFAULT_ICE, TrackLikelihood, simulate_track, track_geometry

pytestmark = pytest.mark.kernel

L = _core.likelihood
RHO = DEFAULT_ICE.rho

# The bounds stated in cpp/include/icecore/pandel_table.hpp: in the core (t <= 6000 ns, nu <= 60,
# every hit of a direction near the best fit) and in the rest of the domain (late hits of
# directions whose vertex is pulled ~1 km away).
CORE = {"cp": (2e-6, 1e-7), "sf": (2e-6, 1e-6)}
REST = {"cp": (2e-5, 5e-7), "sf": (1e-4, 1e-6)}
CP_ABS, CP_REL = REST["cp"]
SF_ABS, SF_REL = REST["sf"]


def _tol(t, nu, f, kind):
    core = (t <= 6000.0) & (nu <= 60.0)
    a = np.where(core, CORE[kind][0], REST[kind][0])
    r = np.where(core, CORE[kind][1], REST[kind][1])
    return a + r * np.abs(f)


def _check_bound(t, nu, sigma):
    cp, cp_nu, cp_t, sf, sf_nu, sf_t, inside = L.pandel_table_eval(t, nu, RHO, sigma)
    one = np.ones_like(t)
    ecp = L.pandel_eval(2, t, nu, RHO, sigma, one, 1)
    esf = L.pandel_eval(3, t, nu, RHO, sigma, one, 1)
    assert np.all(np.isfinite(ecp[0])) and np.all(np.isfinite(esf[0]))
    assert np.all(np.abs(cp - ecp[0]) <= _tol(t, nu, ecp[0], "cp"))
    assert np.all(np.abs(sf - esf[0]) <= _tol(t, nu, esf[0], "sf"))
    # gradients (stated bound: 1e-5 per ns in t, 2e-5 per unit nu, plus 1e-4 relative)
    for got, ref, tol in ((cp_t, ecp[2], 1e-5), (cp_nu, ecp[1], 2e-5), (sf_t, esf[2], 1e-5), (sf_nu, esf[1], 2e-5)):
        assert np.all(np.abs(got - ref) <= tol + 1e-4 * np.abs(ref))
    return inside


@pytest.mark.parametrize("sigma", [4.0, 15.0])
def test_error_bound_on_dense_off_node_grid(sigma):
    # points half-way between grid nodes (the worst case of the Hermite interpolation) and random
    hx, hy = L.PANDEL_TABLE_STEPS
    x = np.arange(np.arcsinh(-20.0) + 0.5 * hx, np.arcsinh(50000.0 / sigma), 3 * hx)
    y = np.arange(np.log(0.04) + 0.5 * hy, np.log(250.0), 2 * hy)
    X, Y = np.meshgrid(x, y)
    t = sigma * np.sinh(X.ravel())
    nu = np.exp(Y.ravel())
    inside = _check_bound(t, nu, sigma)
    assert inside.all()
    rng = np.random.default_rng(3)
    t2 = np.concatenate([rng.uniform(-20 * sigma, 300, 20000), np.exp(rng.uniform(0, np.log(50000), 20000))])
    nu2 = np.exp(rng.uniform(np.log(0.04), np.log(250), t2.size))
    assert _check_bound(t2, nu2, sigma).all()


def test_outside_the_domain_is_exact():
    t = np.array([-500.0, 60000.0, 10.0, 10.0])
    nu = np.array([1.0, 1.0, 0.01, 300.0])
    cp, _, _, sf, _, _, inside = L.pandel_table_eval(t, nu, RHO, 4.0)
    assert not inside.any()
    one = np.ones_like(t)
    np.testing.assert_array_equal(cp, L.pandel_eval(2, t, nu, RHO, 4.0, one, 1)[0])
    np.testing.assert_array_equal(sf, L.pandel_eval(3, t, nu, RHO, 4.0, one, 1)[0])


@pytest.fixture(scope="module")
def event():
    return simulate_track(200, 65, 210, seed=21, impact_m=[30.0, -40.0, 20.0], mjd=60123.4)


def test_error_bound_on_arguments_from_a_scan(event):
    """(t_res, nu, n) of every hit DOM at the fitted vertices of a coarse scan (48 directions)."""
    from icecore.scan import scan

    res = scan(event, nsides=(2,), extensions=(), threads=2, progress=False,
               fitter_options={"n_ring": 0, "likelihood": "fast"})
    hits = event.hit_doms()
    ice = DEFAULT_ICE
    sin_c = np.sqrt(1 - 1 / ice.n_phase**2)
    a0, a1, a2, a3 = ice.deff_coefficients
    ts, nus, ns = [], [], []
    from icecore.coords import equatorial_to_icecube

    ra, dec = res.radec()
    zen, azi = equatorial_to_icecube(ra, dec, event.mjd)
    for k in range(len(res.neg_llh)):
        g = track_geometry(hits["position"], res.vertex[k], float(zen[k]), float(azi[k]))
        d = np.sqrt(g["distance"] ** 2 + 0.01)
        ce = g["cos_eta"]
        ts.append(hits["first_time_ns"] - g["t_geo"])
        nus.append((a0 + a1 / sin_c * d + a2 * ce + a3 * ce * ce) / ice.scattering_m)
        ns.append(np.maximum(1.0, np.floor(hits["charge_pe"] + 0.5)))
    t, nu, n = np.concatenate(ts), np.concatenate(nus), np.concatenate(ns)
    keep = t > -20 * 4.0  # earlier hits are skipped by the likelihood (noise floor)
    t, nu, n = t[keep], nu[keep], n[keep]
    inside = _check_bound(t, nu, 4.0)
    assert inside.mean() > 0.95
    # the MPE term: |error| <= bound(cp) + (n - 1) bound(S)
    ex = L.pandel_eval(4, t, nu, RHO, 4.0, n, 1)[0]
    cp, _, _, sf, _, _, _ = L.pandel_table_eval(t, nu, RHO, 4.0)
    fast = np.log(n) + cp + (n - 1) * sf
    bound = _tol(t, nu, cp, "cp") + (n - 1) * _tol(t, nu, sf, "sf")
    assert np.all(np.abs(fast - ex) <= bound + 1e-12)


@pytest.mark.parametrize("mode", ["spe", "mpe"])
def test_fast_likelihood_matches_exact_and_its_gradient(event, mode):
    exact = TrackLikelihood(event, mode)
    fast = TrackLikelihood(event, mode, likelihood="fast")
    assert exact.likelihood == "exact" and fast.likelihood == "fast"
    assert fast.options.likelihood == "fast"
    t = event.meta["truth"]
    x0 = np.array([*t["vertex"], np.radians(66.0), np.radians(208.0)])
    x0[:3] += [5.0, -7.0, 3.0]
    x0[3] += 12.0
    fe, ge = exact.neg_llh(*x0)
    ff, gf = fast.neg_llh(*x0)
    assert abs(ff - fe) < 1e-3
    np.testing.assert_allclose(gf, ge, rtol=1e-3, atol=1e-2)
    # the fast gradient is the derivative of the fast value (C1 interpolant)
    steps = np.array([1e-3, 1e-3, 1e-3, 1e-3, 1e-6, 1e-6])
    for i in range(6):
        xp, xm = x0.copy(), x0.copy()
        xp[i] += steps[i]
        xm[i] -= steps[i]
        fd = (fast.neg_llh(*xp)[0] - fast.neg_llh(*xm)[0]) / (2 * steps[i])
        assert abs(fd - gf[i]) <= 2e-4 * abs(gf[i]) + 1e-3


def test_fast_fit_matches_exact_fit(event):
    t = event.meta["truth"]
    zen = t["zenith_deg"] + np.array([0.0, 1.0, -2.0, 5.0])
    azi = t["azimuth_deg"] + np.array([0.0, -1.0, 2.0, 4.0])
    seed = np.asarray(t["vertex"], float) + [20.0, -10.0, 5.0, 0.0]
    ex = TrackLikelihood(event, "mpe", n_ring=2).fit_directions(zen, azi, seed, threads=2)
    fa = TrackLikelihood(event, "mpe", n_ring=2, likelihood="fast").fit_directions(zen, azi, seed, threads=2)
    assert np.all(ex["status"] == 0) and np.all(fa["status"] == 0)
    np.testing.assert_allclose(fa["neg_llh"], ex["neg_llh"], atol=2e-3)


def test_likelihood_option_is_checked(event):
    with pytest.raises(InputError, match="likelihood"):
        TrackLikelihood(event, "mpe", likelihood="table")
    o = L.LikelihoodOptions("mpe")
    assert o.likelihood == "exact"
    o.likelihood = "fast"
    assert o.likelihood == "fast"
    with pytest.raises(ValueError):
        o.likelihood = "bogus"


def test_softplus_table_bound_and_consistent_weight():
    """The fast likelihood's noise mixing (SoftplusTable, pandel_table.hpp): ln(e^a + e^b) within
    5e-10 and its weight within 5e-8 on node mid-points and random points, the weight the
    derivative of the value, ln 2 and 1/2 at a == b, e^-z below rounding beyond z = 40, NaN kept."""
    rng = np.random.default_rng(7)
    h = 1.0 / 32
    z = np.concatenate([(np.arange(40 * 32) + 0.5) * h, rng.uniform(0.0, 45.0, 20000), [39.99, 40.0, 41.0, 1e3]])
    b = rng.uniform(-30.0, 5.0, z.size)  # the noise level
    for sign in (1.0, -1.0):
        a = b + sign * z
        v, w = L.softplus_log_add(a, b)
        ref = np.logaddexp(a, b)
        assert np.all(np.abs(v - ref) <= 5e-10 + 4e-16 * np.abs(ref))
        assert np.all(np.abs(w - np.exp(a - ref)) <= 5e-8)
    a = b[:4000] + rng.uniform(-39.0, 39.0, 4000)
    eps = 1e-6
    fd = (L.softplus_log_add(a + eps, b[:4000])[0] - L.softplus_log_add(a - eps, b[:4000])[0]) / (2 * eps)
    assert np.all(np.abs(fd - L.softplus_log_add(a, b[:4000])[1]) <= 1e-7)
    v, w = L.softplus_log_add(np.array([-3.0, 2.0, np.nan, -np.inf]), np.array([-3.0, -50.0, 0.0, -1.0]))
    assert v[0] == pytest.approx(-3.0 + np.log(2.0), abs=1e-15) and w[0] == 0.5
    assert v[1] == 2.0 and w[1] == 1.0  # z = 52: exactly the larger argument
    assert np.isnan(v[2]) and np.isnan(w[2])
    assert v[3] == -1.0 and w[3] == 0.0


@pytest.mark.parametrize("sigma", [4.0, 15.0])
def test_batch_photon_term_is_the_table_mix(sigma):
    """The vertex fit's photon term (PandelTable::log_pdf_sf_batch: corners mixed, one bicubic)
    equals ln cp + m ln S of the tables' own interpolation (same polynomial, up to rounding: 1e-11
    relative in the partials, where the corners cancel)
    inside the domain, and the exact code outside it."""
    rng = np.random.default_rng(11)
    k = 3000
    t = np.concatenate([rng.uniform(-20 * sigma, 300.0, k), np.exp(rng.uniform(0.0, np.log(5e4), k)),
                        [-500.0, 6e4, 10.0, 10.0]])
    nu = np.concatenate([np.exp(rng.uniform(np.log(0.04), np.log(250.0), 2 * k)), [1.0, 1.0, 0.01, 300.0]])
    m = np.floor(rng.exponential(4.0, t.size))
    m[-4:] = [3.0, 0.0, 5.0, 0.0]
    v, v_nu, v_t = L.pandel_table_mix(t, nu, m, RHO, sigma)
    cp, cp_nu, cp_t, sf, sf_nu, sf_t, inside = L.pandel_table_eval(t, nu, RHO, sigma)
    assert inside[:-4].all() and not inside[-4:].any()
    i = inside
    for got, p, s in ((v, cp, sf), (v_nu, cp_nu, sf_nu), (v_t, cp_t, sf_t)):
        ref = p[i] + m[i] * s[i]
        scale = np.abs(p[i]) + m[i] * np.abs(s[i])
        assert np.all(np.abs(got[i] - ref) <= 1e-11 * scale + 1e-13)  # rounding: partials cancel
    o = ~inside
    n = m[o] + 1.0
    ex_mpe = L.pandel_eval(4, t[o], nu[o], RHO, sigma, n, 1)
    ex_cp = L.pandel_eval(2, t[o], nu[o], RHO, sigma, n, 1)
    for q in range(3):
        ref = np.where(m[o] > 0, ex_mpe[q] - (np.log(n) if q == 0 else 0.0), ex_cp[q])
        np.testing.assert_allclose((v, v_nu, v_t)[q][o], ref, rtol=1e-14, atol=0)
