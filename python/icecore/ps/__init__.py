"""Time-integrated point-source likelihood search on IceCube public track data.

- :func:`load_public_data` reads the 10-year and 14-year release layouts (events, uptime, IRFs);
- :func:`simulate_public_data` writes synthetic data in that layout from a documented toy detector;
- :class:`PointSourceAnalysis` fits ns and gamma, runs trials (RA scrambling, injection from the
  IRFs), sensitivity / discovery potential and flux <-> ns conversion;
- :func:`sky_scan` fits every HEALPix pixel;
- :mod:`icecore.ps.skyllh_ref` runs SkyLLH on the same folder (optional dependency).
"""

from .analysis import FitResult, PointSourceAnalysis, SensitivityResult, TrialResults, sky_scan
from .io import EffectiveArea, PublicData, Season, SmearingMatrix, load_public_data
from .toy import simulate_public_data

__all__ = [
    "load_public_data",
    "simulate_public_data",
    "PointSourceAnalysis",
    "sky_scan",
    "FitResult",
    "TrialResults",
    "SensitivityResult",
    "PublicData",
    "Season",
    "EffectiveArea",
    "SmearingMatrix",
]
