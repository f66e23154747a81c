"""Likelihood ingredients against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from icecore.ps import PointSourceAnalysis
from icecore.ps.engine import kernel_settings
from icecore.ps.flux import powerlaw_integral
from icecore.ps.model import SeasonModel, true_energy_weights


@pytest.mark.parametrize("gamma", [1.0, 2.0, 2.7, 3.9])
def test_powerlaw_integral_matches_quad(gamma):
    lo, hi = 150.0, 3.7e5
    want = integrate.quad(lambda e: (e / 1000.0) ** -gamma, lo, hi, epsrel=1e-12, limit=200)[0]
    assert powerlaw_integral(lo, hi, gamma) == pytest.approx(want, rel=1e-9)


def _direct_mu(release, seasons, dec, phi0, gamma, e0):
    """livetime x sum A_eff x integral Phi dE, straight from the CSV files (numpy + scipy.quad)."""
    from icecore.ps.io import irf_names

    mu = 0.0
    for s in seasons:
        up = np.loadtxt(release / "uptime" / f"{s}_exp.csv", comments="#")
        live_s = np.sum(up[:, 1] - up[:, 0]) * 86400.0
        a = np.loadtxt(release / "irfs" / f"{irf_names(s, '10y')}_effectiveArea.csv", comments="#")
        rows = a[(a[:, 2] <= dec) & (dec < a[:, 3])]
        for emin, emax, _, _, aeff in rows:
            mu += live_s * aeff * integrate.quad(lambda e: phi0 * (e / e0) ** -gamma, 10**emin, 10**emax,
                                                 epsrel=1e-11)[0]
    return mu


@pytest.mark.parametrize("dec", np.arange(-80.0, 81.0, 20.0))
def test_flux_conversion_against_direct_computation(small_release, small_data, dec):
    ana = PointSourceAnalysis(small_data, 30.0, float(dec))
    for gamma, e0 in ((2.0, 1000.0), (2.5, 1e5), (3.0, 100.0)):
        phi0 = 1e-18
        want = _direct_mu(small_release, small_data.names, dec, phi0, gamma, e0)
        assert ana.flux2mu(phi0, gamma, e0) == pytest.approx(want, rel=1e-8)
        assert ana.mu2flux(want, gamma, e0) == pytest.approx(phi0, rel=1e-8)
    shares = ana.season_shares(2.0)
    assert sum(shares.values()) == pytest.approx(1.0)
    # toy: IC79 has 0.85 of the IC86 effective area, same livetime
    assert shares["IC79"] / shares["IC86_I"] == pytest.approx(0.85, rel=1e-6)


@pytest.fixture(scope="module")
def season_model(small_data):
    _, grid = kernel_settings((1.0, 4.0), 1000, 10)
    return SeasonModel(small_data["IC86_II"], grid)


def test_background_spatial_pdf_normalised(season_model):
    s = np.linspace(-1, 1, 20001)
    total = 2 * np.pi * integrate.trapezoid(season_model.bkg_spatial(s), s)  # integral over the sphere
    assert total == pytest.approx(1.0, rel=2e-3)


def test_background_energy_pdf_normalised(season_model):
    x = np.linspace(season_model.log_e_edges[0], season_model.log_e_edges[-1], 40001)
    for sd in (-0.9, -0.3, 0.0, 0.21, 0.77):
        v = season_model.bkg_energy(x, np.full_like(x, sd))
        assert integrate.trapezoid(v, x) == pytest.approx(1.0, rel=1e-3)
        assert np.all(v > 0)


@pytest.mark.parametrize("dec", [-45.0, 5.7, 50.0])
def test_signal_energy_pdf_normalised_and_ordered(season_model, dec):
    tab = season_model.signal_energy_table(dec)
    x = season_model.fine_x
    for row in tab:
        assert integrate.trapezoid(row[1:-1], x) == pytest.approx(1.0, rel=2e-3)
        assert row[0] == 0 and row[-1] == 0
    # harder spectra put more signal at high energy: mean log E decreases with gamma
    mean = np.array([integrate.trapezoid(r[1:-1] * x, x) for r in tab])
    assert np.all(np.diff(mean) < 0)


def test_true_energy_weights_exact_vs_skyllh(small_data):
    s = small_data["IC86_I"]
    p = true_energy_weights(s.aeff, s.smearing, 10.0, [2.0])[0]
    # direct: A_eff(bin) x integral E^-2 over each 0.25-wide effective-area bin, summed per 0.5 bin
    row = s.aeff.row(10.0)
    e = 10 ** s.aeff.log10_e_edges
    per = row * (1 / e[:-1] - 1 / e[1:])
    want = per.reshape(-1, 2).sum(axis=1)
    np.testing.assert_allclose(p, want / want.sum(), rtol=1e-10)
    q = true_energy_weights(s.aeff, s.smearing, 10.0, [2.0], weighting="skyllh")[0]
    assert q.sum() == pytest.approx(1.0) and np.max(np.abs(q - p)) < 0.05


def test_sampled_signal_follows_the_irfs(small_data):
    """Injected events: PSF distribution matches the smearing table's psi marginal."""
    s = small_data["IC86_II"]
    m = SeasonModel(s, kernel_settings((1.0, 4.0), 1000, 10)[1])
    rng = np.random.default_rng(3)
    ev = m.sample_signal(rng, 20000, 120.0, 30.0, 2.0)
    psi = np.degrees(np.arccos(np.clip(
        np.sin(np.radians(30.0)) * np.sin(np.radians(ev["dec_deg"]))
        + np.cos(np.radians(30.0)) * np.cos(np.radians(ev["dec_deg"])) * np.cos(np.radians(ev["ra_deg"] - 120.0)),
        -1, 1)))
    # expected mean psi from the table: sum p_j frac * bin centre
    sm = s.smearing
    d = sm.dec_index(30.0)
    p = m.true_energy_weights(30.0, [2.0])[0]
    a, b = sm.psi_lo[:, d], sm.psi_hi[:, d]
    centres = 2.0 / 3.0 * (b**3 - a**3) / (b**2 - a**2)  # mean psi, uniform in solid angle in the annulus
    frac_psi = sm.frac[:, d].sum(axis=-1)
    want = np.sum(p[:, None, None] * frac_psi * centres)
    assert psi.mean() == pytest.approx(want, rel=0.02)
    assert np.all((ev["log10_e"] >= 2.0) & (ev["log10_e"] <= 9.0))


def test_time_integrated_flare_and_stacking_share_the_background_energy_pdf(small_data):
    # issue #13 item 3: the default smooths only sparse background energy bins; the flare and
    # stacking searches used to build theirs with SkyLLH's smoothing of every bin
    from icecore.ps.flare import FlareSearch
    from icecore.ps.sources import SourceList
    from icecore.ps.stacking import StackingAnalysis

    ana = PointSourceAnalysis(small_data, 77.35, 5.7)
    fl = FlareSearch(small_data, 77.35, 5.7, season="IC86_I", threads=1)
    one = small_data.select(["IC86_I"])
    st = StackingAnalysis(one, SourceList.single(77.35, 5.7))
    j = small_data.names.index("IC86_I")
    x, sd = np.meshgrid(np.linspace(2.0, 6.0, 81), np.linspace(-0.9, 0.9, 19))
    x, sd = x.ravel(), sd.ravel()
    want = ana._eng.models[j].bkg_energy(x, sd)
    assert fl.season_model is not None
    np.testing.assert_array_equal(fl.season_model.bkg_energy(x, sd), want)
    np.testing.assert_array_equal(st.seasons[0].m.bkg_energy(x, sd), want)
    # ... and it is the sparse-bin one, which differs from SkyLLH's where the bins are dense
    s = small_data["IC86_I"]
    grid = ana._eng.gamma_grid
    np.testing.assert_array_equal(SeasonModel(s, grid, energy_smoothing="sparse").bkg_energy(x, sd), want)
    assert np.max(np.abs(SeasonModel(s, grid, energy_smoothing="all").bkg_energy(x, sd) / want - 1)) > 0.02
    # the SkyLLH-compatible configuration keeps SkyLLH's smoothing, and every search takes it explicitly
    sky = PointSourceAnalysis(small_data, 77.35, 5.7, energy_weighting="skyllh")._eng.models[j].bkg_energy(x, sd)
    fl_all = FlareSearch(small_data, 77.35, 5.7, season="IC86_I", threads=1, energy_smoothing="all")
    assert fl_all.season_model is not None
    np.testing.assert_array_equal(fl_all.season_model.bkg_energy(x, sd), sky)
    st_all = StackingAnalysis(one, SourceList.single(77.35, 5.7), energy_smoothing="all")
    np.testing.assert_array_equal(st_all.seasons[0].m.bkg_energy(x, sd), sky)
