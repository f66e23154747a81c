"""Time-integrated point-source likelihood search on IceCube public track data."""

from .io import EffectiveArea, PublicData, Season, SmearingMatrix, load_public_data
from .toy import simulate_public_data

__all__ = ["load_public_data", "simulate_public_data", "PublicData", "Season", "EffectiveArea", "SmearingMatrix"]
from .analysis import FitResult, PointSourceAnalysis, SensitivityResult, TrialResults, sky_scan

__all__ += ["PointSourceAnalysis", "FitResult", "TrialResults", "SensitivityResult", "sky_scan"]
