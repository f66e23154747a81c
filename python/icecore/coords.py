"""Equatorial (ICRS, J2000) <-> IceCube local coordinates.

IceCube convention (IceCube coordinate system note; i3astropy): +z up, +y "grid north" along the
Greenwich meridian, +x "grid east" toward 90 deg E; zenith is measured from +z and azimuth
counter-clockwise from +x, both giving the direction *from which* a particle arrives.
The detector centre is at latitude -89.9944 deg, longitude -62.6081 deg, 883.9 m above the
ellipsoid (nominal IceCube location). astropy's AltAz azimuth (east of local north) depends on
the longitude of the observer at the pole; the conversion below removes it:

    azimuth_icecube = 90 deg - azimuth_altaz - longitude     (mod 360)
    zenith_icecube  = 90 deg - altitude

No refraction is applied (neutrinos). Times are astropy ``Time`` or MJD (UTC) floats.

Earth orientation (IERS) without a network
-------------------------------------------
Local coordinates need UT1-UTC and polar motion from the IERS tables. astropy refuses times
more than 30 days past its bundled table unless it can download a new one, which fails on
machines without internet (many sites, CI). icecore therefore evaluates every conversion under
one policy, :func:`set_iers_mode` (or the environment variable ``ICECORE_IERS``):

``"auto"`` (default)
    astropy's normal behaviour; if the download fails or astropy refuses the time, the
    conversion is repeated once in offline mode, a warning is logged, and offline mode is kept
    for the rest of the process (no repeated network timeouts).
``"offline"``
    never download: use the tables bundled with astropy (``astropy-iers-data``: measured values
    and about one year of IERS predictions); beyond them the last value is held.

Accuracy bound in offline mode: within the bundled predictions UT1-UTC is known to a few ms
(< 0.05 arcsec of Earth rotation); beyond them UTC is kept within 0.9 s of UT1 by definition,
so the rotation angle is off by at most 0.9 s x 15.04 arcsec/s = 13.5 arcsec = 0.0038 deg, and
the polar-motion mean used in place of the table adds < 0.5 arcsec. Both are far below any
IceCube angular uncertainty (>= 0.1 deg).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from ._validation import as_degrees
from .errors import InputError

__all__ = [
    "ICECUBE_LAT_DEG",
    "ICECUBE_LON_DEG",
    "ICECUBE_HEIGHT_M",
    "icecube_location",
    "as_time",
    "equatorial_to_icecube",
    "icecube_to_equatorial",
    "equatorial_to_icecube_matrix",
    "angular_distance_deg",
    "set_iers_mode",
    "iers_mode",
    "offline_iers",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_IERS_MODES = ("auto", "offline")
_iers_mode: str | None = None  # None: read ICECORE_IERS on first use
_fell_back = False


def set_iers_mode(mode: str) -> None:
    """Choose how Earth-orientation tables are obtained: ``"auto"`` or ``"offline"``.

    See the module docstring for the accuracy bound of offline mode.
    """
    global _iers_mode, _fell_back
    if mode not in _IERS_MODES:
        raise InputError(f"argument 'mode': expected one of {_IERS_MODES}, got {mode!r}", "mode")
    _iers_mode = mode
    _fell_back = False


def iers_mode() -> str:
    """The Earth-orientation policy in force (``"auto"`` or ``"offline"``)."""
    global _iers_mode
    if _iers_mode is None:
        env = os.environ.get("ICECORE_IERS", "auto").strip().lower() or "auto"
        if env not in _IERS_MODES:
            raise InputError(f"environment variable ICECORE_IERS: expected one of {_IERS_MODES}, got {env!r}",
                             "ICECORE_IERS")
        _iers_mode = env
    return "offline" if _fell_back else _iers_mode


@contextmanager
def offline_iers() -> Iterator[None]:
    """Evaluate astropy transformations inside this block with the bundled IERS tables only."""
    from astropy.utils import iers
    from astropy.utils.exceptions import AstropyWarning

    with iers.conf.set_temp("auto_download", False), iers.conf.set_temp("auto_max_age", None), \
            iers.conf.set_temp("iers_degraded_accuracy", "ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*polar motion.*", category=AstropyWarning)
        yield


def _is_iers_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(k in text for k in ("iers", "interpolating from", "offline", "download"))


def with_earth_orientation(compute: Callable[[], _T]) -> _T:
    """Run ``compute`` (an astropy transformation) under the IERS policy of :func:`iers_mode`."""
    global _fell_back
    if iers_mode() == "offline":
        with offline_iers():
            return compute()
    from astropy.utils.exceptions import AstropyWarning

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AstropyWarning)
            result = compute()
    except Exception as exc:  # astropy raises ValueError / IERSRangeError for stale tables
        if not _is_iers_failure(exc):
            raise
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    else:
        failed = [w for w in caught if "failed to download" in str(w.message)]
        for w in caught:
            if w not in failed:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if not failed:
            return result
        reason = str(failed[0].message).splitlines()[0][:200]
    _fell_back = True
    _log.warning("IERS tables could not be updated (%s); using the bundled tables offline from now on "
                 "(Earth-rotation error <= 0.004 deg; see icecore.coords)", reason)
    with offline_iers():
        return compute()

ICECUBE_LAT_DEG = -89.9944
ICECUBE_LON_DEG = -62.6081
ICECUBE_HEIGHT_M = 883.9


def icecube_location():
    """The nominal IceCube detector location as an astropy ``EarthLocation``."""
    import astropy.units as u
    from astropy.coordinates import EarthLocation

    return EarthLocation(lat=ICECUBE_LAT_DEG * u.deg, lon=ICECUBE_LON_DEG * u.deg, height=ICECUBE_HEIGHT_M * u.m)


def as_time(time: Any, name: str = "time"):
    """An astropy ``Time`` from a ``Time``, an MJD float/array (UTC) or an ISO string."""
    from astropy.time import Time

    if isinstance(time, Time):
        return time
    if isinstance(time, str):
        try:
            return Time(time, scale="utc")
        except Exception as exc:
            raise InputError(f"argument '{name}': cannot parse time {time!r} ({exc})", name) from None
    mjd = as_degrees(time, name, ndim=(0, 1))  # numeric check, finite
    return Time(mjd, format="mjd", scale="utc")


def _altaz_frame(time):
    from astropy.coordinates import AltAz

    return AltAz(obstime=time, location=icecube_location())


def equatorial_to_icecube(ra_deg: Any, dec_deg: Any, time: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert equatorial J2000 directions to IceCube (zenith, azimuth).

    Parameters
    ----------
    ra_deg, dec_deg : float or array, degrees (or astropy angle Quantities)
        Right ascension and declination (ICRS).
    time : astropy Time, MJD float or array (UTC), broadcastable with ``ra_deg``.

    Returns
    -------
    zenith_deg, azimuth_deg : ndarray
        IceCube zenith in [0, 180] and azimuth in [0, 360) degrees.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    ra = as_degrees(ra_deg, "ra_deg", ndim=(0, 1))
    dec = as_degrees(dec_deg, "dec_deg", ndim=(0, 1))
    if np.any(np.abs(dec) > 90):
        raise InputError("argument 'dec_deg': must be within [-90, 90] degrees", "dec_deg")
    t = as_time(time)
    sc = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs")
    aa = with_earth_orientation(lambda: sc.transform_to(_altaz_frame(t)))
    zen = 90.0 - aa.alt.to_value(u.deg)
    azi = np.mod(90.0 - aa.az.to_value(u.deg) - ICECUBE_LON_DEG, 360.0)
    return np.asarray(zen, dtype=float), np.asarray(azi, dtype=float)


def icecube_to_equatorial(zenith_deg: Any, azimuth_deg: Any, time: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert IceCube (zenith, azimuth) in degrees to equatorial (ra_deg, dec_deg), ICRS."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    zen = as_degrees(zenith_deg, "zenith_deg", ndim=(0, 1))
    azi = as_degrees(azimuth_deg, "azimuth_deg", ndim=(0, 1))
    if np.any((zen < 0) | (zen > 180)):
        raise InputError("argument 'zenith_deg': must be within [0, 180] degrees", "zenith_deg")
    t = as_time(time)
    az_altaz = np.mod(90.0 - azi - ICECUBE_LON_DEG, 360.0)
    aa = SkyCoord(alt=(90.0 - zen) * u.deg, az=az_altaz * u.deg, frame=_altaz_frame(t))
    eq = with_earth_orientation(lambda: aa.transform_to("icrs"))
    return np.asarray(eq.ra.to_value(u.deg), dtype=float), np.asarray(eq.dec.to_value(u.deg), dtype=float)


def _unit(theta_deg: np.ndarray, phi_deg: np.ndarray, *, colatitude: bool) -> np.ndarray:
    th = np.radians(theta_deg)
    ph = np.radians(phi_deg)
    if colatitude:
        return np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1)
    return np.stack([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph), np.sin(th)], axis=-1)


def equatorial_to_icecube_matrix(time: Any) -> np.ndarray:
    """3x3 rotation R with ``v_local = R @ v_equatorial`` at one instant.

    ``v_equatorial = (cos d cos a, cos d sin a, sin d)`` and ``v_local`` the IceCube unit vector
    toward (zenith, azimuth). Built from :func:`equatorial_to_icecube` on a set of directions and
    orthogonalised (Kabsch); annual aberration (<= 20.5 arcsec), which is not a rotation, is the
    only residual. Used by the sky scan, which converts every pixel in C++.
    """
    t = as_time(time)
    if not t.isscalar:
        raise InputError("argument 'time': expected a single instant", "time")
    rng = np.random.default_rng(12345)
    ra = rng.uniform(0, 360, 64)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 64)))
    zen, azi = equatorial_to_icecube(ra, dec, t)
    a = _unit(dec, ra, colatitude=False)
    b = _unit(zen, azi, colatitude=True)
    u_, _, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u_ @ vt))
    return u_ @ np.diag([1.0, 1.0, d]) @ vt


def angular_distance_deg(ra1_deg: Any, dec1_deg: Any, ra2_deg: Any, dec2_deg: Any) -> np.ndarray:
    """Great-circle distance in degrees (Vincenty formula, stable at all separations)."""
    a1, d1, a2, d2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    dra = a2 - a1
    num = np.hypot(np.cos(d2) * np.sin(dra), np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(dra))
    den = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(dra)
    return np.degrees(np.arctan2(num, den))
