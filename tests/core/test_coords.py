import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import ITRS, SkyCoord
from astropy.time import Time

from icecore.coords import (
    angular_distance_deg,
    equatorial_to_icecube,
    equatorial_to_icecube_matrix,
    icecube_to_equatorial,
)


def itrs_route(ra, dec, time):
    """Independent route: ICRS -> ITRS unit vector, then the pole axes of IceCube.

    At the pole, grid north (+y) points along the Greenwich meridian (ITRS +x), grid east (+x)
    toward 90 deg E (ITRS +y), and up is ITRS -z (to 0.0056 deg, the detector's distance from
    the geographic pole)."""
    v = SkyCoord(ra=ra * u.deg, dec=dec * u.deg).transform_to(ITRS(obstime=time)).cartesian.xyz.value
    return np.stack([v[1], v[0], -v[2]], axis=-1)


def test_against_itrs_route_many_times():
    rng = np.random.default_rng(4)
    n = 200
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    times = Time(rng.uniform(55000, 61000, n), format="mjd")
    zen, azi = equatorial_to_icecube(ra, dec, times)
    z, a = np.radians(zen), np.radians(azi)
    mine = np.stack([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)], axis=-1)
    other = itrs_route(ra, dec, times)
    sep = np.degrees(np.arccos(np.clip(np.sum(mine * other, axis=-1), -1, 1)))
    assert sep.max() < 0.01


def test_galactic_centre_zenith_and_round_trip():
    t = Time("2024-03-01T00:00:00", scale="utc")
    zen, azi = equatorial_to_icecube(266.405, -28.936, t)
    assert zen == pytest.approx(90 - 28.936, abs=0.05)  # at the pole, zenith = 90 deg + dec
    ra, dec = icecube_to_equatorial(zen, azi, t)
    assert angular_distance_deg(ra, dec, 266.405, -28.936) < 1e-6


def test_azimuth_runs_with_sidereal_time():
    # One sidereal hour later a fixed source has moved 15 deg in IceCube azimuth (counter-clockwise
    # from grid east: the azimuth *increases* as the Earth turns).
    t0 = 60000.0
    _, a0 = equatorial_to_icecube(10.0, -60.0, t0)
    _, a1 = equatorial_to_icecube(10.0, -60.0, t0 + 1.0 / 24 / 1.0027379)
    assert np.mod(a1 - a0, 360) == pytest.approx(15.0, abs=0.01)


def test_rotation_matrix_matches_transform():
    t = 59000.25
    r = equatorial_to_icecube_matrix(t)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    ra, dec = np.array([1.0, 100.0, 250.0]), np.array([-80.0, 5.0, 60.0])
    v = np.stack([np.cos(np.radians(dec)) * np.cos(np.radians(ra)), np.cos(np.radians(dec)) * np.sin(np.radians(ra)), np.sin(np.radians(dec))])
    loc = r @ v
    zen, azi = equatorial_to_icecube(ra, dec, t)
    z, a = np.radians(zen), np.radians(azi)
    ref = np.stack([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)])
    sep = np.degrees(np.arccos(np.clip(np.sum(loc * ref, axis=0), -1, 1)))
    assert sep.max() < 0.01  # only aberration differs


def test_bad_input():
    with pytest.raises(ValueError, match="'dec_deg'"):
        equatorial_to_icecube(0.0, 91.0, 60000.0)
    with pytest.raises(ValueError, match="'ra_deg'"):
        equatorial_to_icecube(np.nan, 0.0, 60000.0)
    with pytest.raises(ValueError, match="'time'"):
        equatorial_to_icecube(0.0, 0.0, "not a time")
    with pytest.raises(ValueError, match="'zenith_deg'"):
        icecube_to_equatorial(190.0, 0.0, 60000.0)


def test_alert_time_of_today_converts_without_network(caplog, monkeypatch):
    """A realtime alert is always 'now': with the IERS download failing, the conversion must
    still work (bundled tables, one logged warning) and agree with the offline computation."""
    import logging

    from astropy.time import Time
    from astropy.utils import iers

    from icecore import coords

    now = Time.now()
    monkeypatch.setattr(iers.conf, "auto_download", True)
    monkeypatch.setattr(iers.conf, "auto_max_age", 30.0)
    monkeypatch.setattr(iers.conf, "iers_auto_url", "http://127.0.0.1:9/finals2000A.all")
    monkeypatch.setattr(iers.conf, "iers_auto_url_mirror", "http://127.0.0.1:9/mirror.all")
    monkeypatch.setattr(iers.conf, "remote_timeout", 2.0)
    monkeypatch.setattr(iers.IERS_Auto, "iers_table", None)
    # astropy refreshes only when the table's first predictive values are older than auto_max_age:
    # make the bundled table look 60 days old, so that the test does not depend on how fresh the
    # installed astropy-iers-data is (a 16-day-old package never tried the download)
    table = iers.IERS_Auto.open()
    monkeypatch.setitem(table.meta, "predictive_mjd", now.mjd - 60.0)
    coords.set_iers_mode("auto")
    try:
        with caplog.at_level(logging.WARNING, logger="icecore.coords"):
            zen, azi = coords.equatorial_to_icecube(77.36, 5.69, now + 40 * u.day)
        assert np.isfinite(zen) and np.isfinite(azi)
        assert 0 <= float(zen) <= 180
        # icecore's zenith at the pole is 90 + dec to within the Earth-orientation bound
        assert float(zen) == pytest.approx(90.0 + 5.69, abs=0.05)
        assert coords.iers_mode() == "offline"
        assert any("IERS tables could not be updated" in r.getMessage() for r in caplog.records)
        coords.set_iers_mode("offline")
        zen2, azi2 = coords.equatorial_to_icecube(77.36, 5.69, now + 40 * u.day)
        assert float(zen2) == pytest.approx(float(zen), abs=1e-9)
        assert float(azi2) == pytest.approx(float(azi), abs=1e-9)
    finally:
        coords.set_iers_mode("auto")
        iers.IERS_Auto.iers_table = None


def test_iers_mode_rejects_unknown_values():
    from icecore import coords
    from icecore.errors import InputError

    with pytest.raises(InputError, match="mode"):
        coords.set_iers_mode("sometimes")
