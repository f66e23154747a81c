"""Per-season histogram binnings of the data-driven background PDFs.

The background PDFs are histograms of the data in sin(dec) and in (log10 E, sin dec). These are
the binnings the public-data analyses use for each season (as defined for the two releases in
the SkyLLH dataset definitions ``PublicData_10y_ps`` / ``PublicData_14y_ps``), so that both codes
build the same background model from the same events. Seasons not listed use ``DEFAULT``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["season_binning", "DEFAULT_SIN_DEC", "DEFAULT_LOG_E"]


def _u(*parts: tuple[float, float, int]) -> np.ndarray:
    return np.unique(np.concatenate([np.linspace(a, b, n + 1) for a, b, n in parts]))


_B = float(np.sin(np.radians(-5.0)))

_IC40 = _u((-1.0, -0.25, 10), (-0.25, 0.0, 10), (0.0, 1.0, 10))
_IC59 = _u((-1.0, -0.95, 2), (-0.95, -0.25, 25), (-0.25, 0.05, 15), (0.05, 1.0, 10))
_IC79 = np.linspace(-1, 1, 50)
_IC86_I_10Y = np.unique(np.concatenate([np.linspace(-1.0, -0.2, 11), np.linspace(-0.2, _B, 5),
                                        np.linspace(_B, 0.2, 6), np.linspace(0.2, 1.0, 10)]))
_IC86_II = _u((-1.0, -0.93, 4), (-0.93, -0.3, 10), (-0.3, 0.05, 9), (0.05, 1.0, 18))

DEFAULT_SIN_DEC = _IC86_II
DEFAULT_LOG_E = np.arange(1.0, 9.5 + 0.01, 0.125)


def _e(lo: float, hi: float) -> np.ndarray:
    return np.arange(lo, hi + 0.01, 0.125)


_10Y = {
    "IC40": (_IC40, _e(2.0, 9.5)),
    "IC59": (_IC59, _e(2.0, 9.5)),
    "IC79": (_IC79, _e(2.0, 9.5)),
    "IC86_I": (_IC86_I_10Y, _e(1.0, 10.5)),
    "IC86_II": (_IC86_II, _e(0.5, 9.5)),
}
_14Y = {
    "IC40": (_IC40, _e(2.0, 9.0)),
    "IC59": (_IC59, _e(2.0, 9.5)),
    "IC79": (_IC79, _e(1.0, 9.0)),
    "IC86": (_IC86_II, _e(1.0, 9.5)),
}


def season_binning(season: str, release: str = "10y") -> tuple[np.ndarray, np.ndarray]:
    """(sin_dec_edges, log10_e_edges) used for a season's background PDFs.

    Parameters
    ----------
    season : str
        Season name; IC86_III ... share IC86_II's binning (10-year), all IC86 seasons share one
        binning in the 14-year release.
    release : {"10y", "14y"}
    """
    table = _14Y if release == "14y" else _10Y
    key = season
    if season.startswith("IC86_"):
        key = "IC86" if release == "14y" else ("IC86_I" if season == "IC86_I" else "IC86_II")
    sd, le = table.get(key, (DEFAULT_SIN_DEC, DEFAULT_LOG_E))
    return sd.copy(), le.copy()
