"""Time-integrated point-source likelihood search on IceCube public track data.

- :func:`load_public_data` reads the 10-year and 14-year release layouts (events, uptime, IRFs);
- :func:`simulate_public_data` writes synthetic data in that layout from a documented toy detector;
- :class:`PointSourceAnalysis` fits ns and gamma, runs trials (RA scrambling, injection from the
  IRFs), sensitivity / discovery potential and flux <-> ns conversion;
- :func:`sky_scan` fits every HEALPix pixel (a :class:`SkyMap`);
- :mod:`icecore.ps.skyllh_ref` runs SkyLLH on the same folder (optional dependency).

Modules: ``irf`` and ``dataset`` (data model), ``io`` (release files), ``flux`` (flux <-> events),
``model`` (likelihood PDFs), ``engine`` (the C++ kernel), ``analysis``, ``results``, ``plots``,
``toy``, ``binning``, ``cli``.
"""

from .analysis import PointSourceAnalysis, sky_scan
from .dataset import PublicData, Season
from .flux import flux_to_mu
from .io import load_public_data
from .irf import EffectiveArea, SmearingMatrix
from .results import FitResult, SensitivityResult, SkyMap, TrialResults
from .toy import simulate_public_data

__all__ = [
    "load_public_data",
    "simulate_public_data",
    "PointSourceAnalysis",
    "sky_scan",
    "flux_to_mu",
    "FitResult",
    "TrialResults",
    "SensitivityResult",
    "SkyMap",
    "PublicData",
    "Season",
    "EffectiveArea",
    "SmearingMatrix",
]
