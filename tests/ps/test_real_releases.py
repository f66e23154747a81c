"""The three real public release formats (skipped without ../shared/data/real)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from icecore.errors import DataFormatError
from icecore.ps import PointSourceAnalysis
from icecore.ps.releases import (
    TXS_DEC_DEG,
    TXS_RA_DEG,
    detect_release,
    load_release,
    read_fig_s4,
    read_numeric,
    read_tabulated_aeff,
    read_txs_aeff,
)

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "ps"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real/ps")
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real public data (../shared/data/real/ps) not present")

TXS = REAL / "TXS0506_release"
IC86 = REAL / "IC86-2011_PS-release"
TENY = REAL / "icecube_10year_ps"
IRF3 = REAL / "3year-PS-release_irfs"


@pytest.fixture(scope="module")
def txs():
    return load_release(TXS)


@pytest.fixture(scope="module")
def ic86():
    return load_release(IC86)


@pytest.fixture(scope="module")
def ic40():
    return load_release(TENY)


def test_detect_release_formats():
    assert detect_release(TXS) == "txs"
    assert detect_release(IC86) == "ic86-2011"
    assert detect_release(TENY) == "10y"


def test_txs_event_counts_and_livetimes(txs):
    # event counts as in PROVENANCE.md
    assert [len(s) for s in txs] == [31, 109, 97, 109, 320, 591]
    assert txs.names == ["IC40", "IC59", "IC79", "IC86a", "IC86b", "IC86c"]
    for s in txs:
        assert s.region == (TXS_RA_DEG, TXS_DEC_DEG, 3.0)
        # every event lies in a good run of the 10-year uptime lists
        k = np.searchsorted(s.uptime_mjd[:, 0], s.mjd, side="right") - 1
        assert np.all(k >= 0) and np.all(s.mjd <= s.uptime_mjd[k, 1])
        assert "10-year release uptime" in s.instrument
    lt = {s.name: s.livetime_days for s in txs}
    # IC40 season = the 10-year IC40 uptime file (376.36 d) clipped to 2008 Apr 5 - 2009 May 20
    assert lt["IC40"] == pytest.approx(376.36, abs=0.5)
    # IC86b spans 2012 May 16 - 2015 May 18: about 3 years of ~90-95 % uptime
    assert 1000 < lt["IC86b"] < 1100


def test_txs_effective_area_integral(txs):
    s = txs["IC86b"]
    t = read_numeric(TXS / "Aeff_IC86b.txt", 3)
    # integral of A_eff dE over the file's bins, recomputed by hand
    e_lo, e_hi = 10.0 ** t[:, 0], 10.0 ** t[:, 1]
    ref = float(np.sum(t[:, 2] * 1e4 * (e_hi - e_lo)))
    got = float(np.sum(s.aeff.aeff_cm2[0] * np.diff(10.0 ** s.aeff.log10_e_edges)))
    assert got == pytest.approx(ref, rel=1e-9)
    assert s.aeff.aeff_cm2.shape == (1, 70)
    assert s.aeff.row(TXS_DEC_DEG).max() > 1e4  # > 1 m^2 at the highest energies


def test_fig_s4_energy_proxy_table():
    e = read_fig_s4(TXS / "Fig_S4_tabulated.txt")
    assert e.prob.shape == (28, 22)
    np.testing.assert_allclose(e.prob.sum(axis=1), 1.0)
    assert e.log10_e_true_edges[0] == pytest.approx(2.0) and e.log10_e_true_edges[-1] == pytest.approx(9.0)
    assert e.log10_e_reco_edges[0] == pytest.approx(2.6) and e.log10_e_reco_edges[-1] == pytest.approx(7.0)
    # the proxy grows with the neutrino energy
    mean = e.prob @ (0.5 * (e.log10_e_reco_edges[1:] + e.log10_e_reco_edges[:-1]))
    assert np.all(np.diff(mean[:20]) > 0)


def test_ic86_2011_counts_livetime_and_aeff(ic86):
    s = ic86.seasons[0]
    assert s.name == "IC86_2011"
    assert len(s) + s.n_cut == 69227 + 69095
    assert s.n_cut < 100
    assert s.livetime_days == pytest.approx(332.96, abs=0.01)  # the 10-year IC86_I good runs
    a = s.aeff
    assert a.aeff_cm2.shape == (200, 70)
    assert a.dec_edges_deg[0] == pytest.approx(-90.0) and a.dec_edges_deg[-1] == pytest.approx(90.0)
    t = read_numeric(IC86 / "TabulatedAeff.txt", 5)
    ref = float(np.sum(t[:, 4] * 1e4 * (t[:, 1] - t[:, 0])))
    got = float(np.sum(a.aeff_cm2 * np.diff(10.0 ** a.log10_e_edges)[None, :]))
    assert got == pytest.approx(ref, rel=2e-3)  # the file's rounded energy edges vs exact log10 edges
    # the row at cos(zenith) in [-0.10, -0.09) (dec ~ +5.5 deg) is the one used at TXS
    row = a.row(5.5)
    ic = np.flatnonzero(np.isclose(t[:, 2], -0.10))
    np.testing.assert_allclose(row, t[ic, 4] * 1e4)
    assert np.all(s.angerr_deg >= 0.05) and np.all(s.angerr_deg <= 180)


def test_three_year_irfs_read():
    for f in sorted(IRF3.glob("*TabulatedAeff.txt")):
        a = read_tabulated_aeff(f)
        assert a.aeff_cm2.shape == (200, 70)
        assert np.all(a.aeff_cm2 >= 0)


def test_ic40_ten_year_counts_livetime_and_proxy(ic40):
    s = ic40["IC40"]
    assert len(s) + s.n_cut == 36900
    assert s.livetime_days == pytest.approx(376.36, abs=0.01)
    assert "smearing.csv absent" in s.instrument
    assert s.smearing.shape[0] == 28
    # E^-2-weighted A_eff integrals (events per unit flux and second) of the real effective-area
    # files at the TXS declination grow with the detector: IC40 < IC59 < IC79 < IC86_I
    from icecore.ps.flux import flux_to_mu
    from icecore.ps.io import read_effective_area

    integ = []
    for name in ("IC40", "IC59", "IC79", "IC86_I", "IC86_II"):
        a = read_effective_area(TENY / "irfs" / f"{name}_effectiveArea.csv")
        integ.append(flux_to_mu(a, 1.0, TXS_DEC_DEG, 1.0, 2.0))
    assert integ[0] < integ[1] < integ[2] < integ[3]
    assert integ[0] == pytest.approx(3.797e7, rel=1e-3)  # cm^2 GeV per (GeV^-1 cm^-2 s^-1) at 1 TeV, 1 s


@pytest.mark.parametrize("which", ["ic86", "ic40"])
def test_time_integrated_fit_runs_on_full_sky_samples(which, ic86, ic40):
    data = ic86 if which == "ic86" else ic40
    for ra, dec in ((TXS_RA_DEG, TXS_DEC_DEG), (40.67, -0.01), (180.0, 30.0), (300.0, -40.0)):
        r = PointSourceAnalysis(data, ra, dec, threads=1).unblind()
        assert r.ok and np.isfinite(r.ts) and r.ts >= 0 and 0 <= r.ns < 1000


def test_time_integrated_fit_runs_on_txs_release(txs):
    from icecore.ps.flare import FlareSearch

    for s in txs:
        r = FlareSearch(s, TXS_RA_DEG, TXS_DEC_DEG, threads=1).fit_time_integrated()
        assert np.isfinite(r.ts) and r.ts >= 0 and r.ns >= 0


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for p in dst.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    return dst


def test_malformed_files_name_file_and_line(tmp_path):
    d = _copy(TXS, tmp_path / "txs")
    ev = d / "events_IC40.txt"
    lines = ev.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split()[2], "abc")
    ev.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"events_IC40.txt:6: not a number"):
        load_release(d)
    a = tmp_path / "Aeff.txt"
    a.write_text("h\n2.0 2.1 1e-3\n2.1 2.2\n")
    with pytest.raises(DataFormatError, match=r"Aeff.txt:3: expected 3 fields"):
        read_txs_aeff(a, (0, 10))
    a.write_text("h\n2.0 2.1 1e-3\n2.1 2.2 -1\n")
    with pytest.raises(DataFormatError, match=r"Aeff.txt:3: negative"):
        read_txs_aeff(a, (0, 10))
    f = tmp_path / "fig.txt"
    f.write_text("-1.00 , -0.75 : " + " ".join(["0.1"] * 21) + "\n")
    with pytest.raises(DataFormatError, match=r"fig.txt:1: expected 24 fields"):
        read_fig_s4(f)
