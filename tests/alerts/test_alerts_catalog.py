"""ICECAT-1 loading and cross-matching against real alerts."""

from __future__ import annotations

import io

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from icecore.alerts import load_icecat1, parse
from icecore.errors import DataFormatError, InputError


@pytest.fixture(scope="module")
def icecat(icecat_dir):
    return load_icecat1(icecat_dir / "IceCube_Gold_Bronze_Tracks.csv")


def test_load_quirks(icecat, icecat_dir):
    assert len(icecat) == 348
    assert b"\r\n" in (icecat_dir / "IceCube_Gold_Bronze_Tracks.csv").read_bytes()[:400]
    e = icecat["IC190730A"]
    assert (e.run_id, e.event_id, e.i3type) == (132910, 57145925, "gfu-gold")
    assert (e.ra_deg, e.dec_deg, e.energy_tev, e.far_per_year, e.signalness) == (226.14, 10.77, 298.0, 0.68, 0.67)
    assert e.cr_veto is False and e.other_i3types == ("gfu-bronze",)
    assert e.max_error_deg == 1.98
    vetoes = [ev.cr_veto for ev in icecat]
    assert vetoes.count(True) == 8 and vetoes.count(False) == 340  # TRUE / FALSE / False
    assert sum(ev.other_i3types == ("ehe-gold", "gfu-bronze") for ev in icecat) == 17  # quoted list
    assert icecat.mjd.min() == pytest.approx(55695.06415108922)
    assert all(isinstance(v, float) for v in icecat["IC110514A"].scores.values())


def test_cascade_table_missing_values(icecat_dir):
    cas = load_icecat1(icecat_dir / "UNVERIFIED_ema1501_IceCube_cascade.csv")
    e = cas["IC240518A"]
    assert e.signalness is None and e.cr_veto is None and e.scores["CASCADE_SCR"] is None
    assert e.other_i3types == ()


def test_crossmatch_distance_against_astropy(icecat):
    ra, dec = 225.7899, 10.47
    m = icecat.crossmatch(ra, dec, radius_deg=5.0)
    assert m[0].event.name == "IC190730A"
    ref = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(226.14 * u.deg, 10.77 * u.deg)).deg
    assert m[0].distance_deg == pytest.approx(ref, abs=1e-9)
    d = [x.distance_deg for x in m]
    assert d == sorted(d) and max(d) <= 5.0


def test_match_alerts_from_every_format(icecat, icecat_dir, notices):
    gold = parse(notices["voevent/amon_icecube_gold_190730_rev1.xml"])
    [m] = icecat.match_alert(gold)
    assert m.event.name == "IC190730A" and abs(m.dt_days) * 86400 < 1
    bronze = parse(notices["voevent/amon_icecube_bronze_190819_rev0.xml"])
    assert [x.event.name for x in icecat.match_alert(bronze)] == ["IC190819A"]
    # same position, a day later: no time match
    assert icecat.crossmatch(gold.ra_deg, gold.dec_deg, gold.mjd + 1, time_window_days=0.5) == []
    cas = load_icecat1(icecat_dir / "UNVERIFIED_ema1501_IceCube_cascade.csv")
    binary = parse(notices["classic_binary/ICECUBE_CASCADE_IC240518A.bin"])
    [m] = cas.match_alert(binary)
    assert m.event.name == "IC240518A" and m.event.run_id == binary.run_id and m.distance_deg < 1e-3
    # the hand-edited VOEvent's time matches nothing in the catalogue
    edited = parse(notices["voevent/EDITED_fastresponse_sample_astrotrack_alert_2021.xml"])
    assert icecat.match_alert(edited) == []


def test_crossmatch_inputs(icecat):
    m_deg = icecat.crossmatch(226.14 * u.deg, (10.77 * u.deg).to(u.arcmin), radius_deg=0.1)
    assert m_deg[0].event.name == "IC190730A"
    with pytest.raises(InputError):
        icecat.crossmatch(np.nan, 10.0)
    with pytest.raises(InputError):
        icecat.crossmatch(10.0, 95.0)
    with pytest.raises(InputError):
        icecat.crossmatch(10.0, 10.0, time_window_days=1)


def test_malformed_catalogue():
    header = ("NAME,RUNID,EVENTID,START,EVENTMJD,I3TYPE,RA,DEC,RA_ERR_PLUS,RA_ERR_MINUS,DEC_ERR_PLUS,"
              "DEC_ERR_MINUS,ENERGY,FAR,SIGNAL,CASCADE_SCR,SKIMMING_SCR,START_SCR,STOP_SCR,THRGOING_SCR,CR_VETO,OTHER_I3TYPES\r\n")
    good = "IC1,1,2,2011-05-14 01:32:22,55695.06,gfu-gold,138.47,-1.94,6.68,3.78,0.97,1.12,187.0,1.3,0.508,0,0,0,0,1,FALSE,None\r\n"
    assert len(load_icecat1(io.StringIO(header + good + "\r\n"))) == 1
    with pytest.raises(DataFormatError, match=":3"):
        load_icecat1(io.StringIO(header + good + good.replace("138.47", "400")))
    with pytest.raises(DataFormatError, match="CR_VETO"):
        load_icecat1(io.StringIO(header + good.replace("FALSE", "maybe")))
    with pytest.raises(DataFormatError, match="missing columns"):
        load_icecat1(io.StringIO("NAME,RA\r\nx,1\r\n"))
