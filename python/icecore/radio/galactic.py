"""Position of the Galactic Centre in IceCube local coordinates.

The Galactic Centre (GC) is taken as the origin of astropy's Galactic frame (l = b = 0),
RA 266.405 deg, Dec -28.936 deg (ICRS). Seen from the South Pole it circles once per sidereal day
at zenith ~61.06 deg (90 deg + Dec). Azimuths follow IceCube's convention (counter-clockwise from
grid east, +y = grid north along the Greenwich meridian) through :mod:`icecore.coords`, which
removes the longitude dependence of astropy's AltAz azimuth at the pole.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..coords import as_time, equatorial_to_icecube

__all__ = ["GC_RA_DEG", "GC_DEC_DEG", "gc_position", "gc_azimuth"]

# Direct astropy transformation up to this many times; beyond, an hourly grid is transformed and
# interpolated linearly (the azimuth grows almost exactly linearly with time: the interpolation
# error is below 1e-4 deg, checked in tests/radio/test_galactic.py).
_DIRECT_MAX = 2000
_GRID_STEP_DAYS = 1.0 / 24.0


@lru_cache(maxsize=1)
def _gc_icrs() -> tuple[float, float]:
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    gc = SkyCoord(l=0 * u.deg, b=0 * u.deg, frame="galactic").icrs
    return float(gc.ra.deg), float(gc.dec.deg)


GC_RA_DEG, GC_DEC_DEG = 266.40498829, -28.93617776  # astropy Galactic -> ICRS of (l, b) = (0, 0)


def _mjd(times: Any) -> tuple[np.ndarray, bool]:
    t = as_time(times, "times")
    return np.atleast_1d(np.asarray(t.utc.mjd, dtype=np.float64)), t.isscalar


def gc_position(times: Any, *, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """GC zenith and azimuth (IceCube convention, degrees) at the given times.

    Parameters
    ----------
    times : astropy Time, MJD float/array (UTC) or ISO string
    exact : bool
        Always run the astropy transformation for every time. By default more than 2000 times
        are served by interpolating an hourly grid (error < 1e-4 deg, much faster).

    Returns
    -------
    zenith_deg, azimuth_deg : ndarray (0-d for a scalar time)
        Zenith in degrees (about 61.06) and azimuth in [0, 360).

    NaN policy: NaN times raise :class:`~icecore.errors.InputError`.
    """
    mjd, scalar = _mjd(times)
    ra, dec = _gc_icrs()
    if exact or mjd.size <= _DIRECT_MAX:
        zen, azi = equatorial_to_icecube(np.full(mjd.size, ra), np.full(mjd.size, dec), mjd)
    else:
        lo, hi = float(mjd.min()), float(mjd.max())
        grid = np.arange(lo - _GRID_STEP_DAYS, hi + 2 * _GRID_STEP_DAYS, _GRID_STEP_DAYS)
        if grid.size >= mjd.size:
            zen, azi = equatorial_to_icecube(np.full(mjd.size, ra), np.full(mjd.size, dec), mjd)
        else:
            gz, ga = equatorial_to_icecube(np.full(grid.size, ra), np.full(grid.size, dec), grid)
            ga = np.degrees(np.unwrap(np.radians(ga)))
            zen = np.interp(mjd, grid, gz)
            azi = np.mod(np.interp(mjd, grid, ga), 360.0)
    zen, azi = np.asarray(zen, dtype=float), np.asarray(azi, dtype=float)
    if scalar:
        return zen.reshape(()), azi.reshape(())
    return zen, azi


def gc_azimuth(times: Any, *, exact: bool = False) -> np.ndarray:
    """GC azimuth in degrees, IceCube convention (counter-clockwise from grid east), in [0, 360).

    See :func:`gc_position` (which also returns the zenith) for the parameters.
    """
    return gc_position(times, exact=exact)[1]
