"""Time-integrated point-source likelihood search on IceCube public track data.

- :func:`load_public_data` reads the 10-year and 14-year release layouts (events, uptime, IRFs);
- :func:`simulate_public_data` writes synthetic data in that layout from a documented toy detector;
- :class:`PointSourceAnalysis` fits ns and gamma, runs trials (RA scrambling, injection from the
  IRFs), sensitivity / discovery potential and flux <-> ns conversion;
- :func:`sky_scan` fits every HEALPix pixel (a :class:`SkyMap`);
- :mod:`icecore.ps.skyllh_ref` runs SkyLLH on the same folder (optional dependency);
- :func:`load_release` reads the three real public formats (10-year layout, the TXS 0506+056
  release, the IC86-2011 release), with each release's own instrument model (:mod:`icecore.ps.releases`);
- :class:`FlareSearch` is the time-dependent (Gaussian / box flare) search (:mod:`icecore.ps.flare`);
- :class:`StackingAnalysis` stacks weighted source lists (:mod:`icecore.ps.stacking`, :mod:`icecore.ps.sources`).

Modules: ``irf`` and ``dataset`` (data model), ``io`` (release files), ``flux`` (flux <-> events),
``model`` (likelihood PDFs), ``engine`` (the C++ kernel), ``analysis``, ``results``, ``plots``,
``toy``, ``binning``, ``cli``.
"""

from .analysis import PointSourceAnalysis, sky_scan
from .dataset import PublicData, Season
from .flare import FlareResult, FlareSearch
from .flux import flux_to_mu
from .io import load_public_data
from .irf import EffectiveArea, SmearingMatrix
from .releases import load_release
from .results import FitResult, SensitivityResult, SkyMap, TrialResults
from .sources import SourceList, read_4fgl, read_source_csv
from .stacking import StackingAnalysis
from .toy import simulate_public_data

__all__ = [
    "load_public_data",
    "load_release",
    "FlareSearch",
    "FlareResult",
    "StackingAnalysis",
    "SourceList",
    "read_source_csv",
    "read_4fgl",
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
