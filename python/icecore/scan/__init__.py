"""Sky scan: the HEALPix refinement loop over a per-direction vertex fit, and its products.

- :func:`scan` -> :class:`ScanResult` (in-process C++ threads, or remote workers through
  :class:`icecore.scan.amqp.AMQPExecutor`); :func:`make_problem` / :func:`run_problem` split it;
- what can be scanned (:mod:`icecore.scan.adapt`): an ``icecore.likelihood.Event``, a
  :class:`SyntheticEvent` (a synthetic problem with a known answer, :mod:`icecore.scan.synthetic`),
  a bare ``DirectionFitter``, or any :class:`Scannable`;
- contours and areas with explicit critical-value conventions (:mod:`icecore.scan.contours`:
  :data:`WILKS`, :data:`ICECUBE_CALIBRATED`, :data:`SKYREADER_WILKS`, ...), and per-event levels
  from resimulations (:func:`calibrate_event`, :mod:`icecore.scan.calibration`);
- files: icecube-skyreader npz/json (:mod:`icecore.scan.skyreader`), HEALPix FITS, PNG plots and
  the product directory (:mod:`icecore.scan.products`), catalogue association.
"""

from __future__ import annotations

from .adapt import Scannable, fitter_from_spec, make_problem
from .calibration import EventCalibration, ResimulationModel, calibrate_event
from .contours import (
    CONVENTIONS,
    DIRECT_DLLH_WILKS,
    ICECUBE_CALIBRATED,
    SKYREADER_WILKS,
    WILKS,
    CriticalValues,
    Rectangle,
)
from .loop import ScanSettings, run_problem, scan
from .problem import ScanProblem
from .result import ContourSet, ScanResult
from .synthetic import SyntheticEvent

__all__ = [
    "scan",
    "run_problem",
    "ScanSettings",
    "ScanResult",
    "ContourSet",
    "ScanProblem",
    "Scannable",
    "SyntheticEvent",
    "make_problem",
    "fitter_from_spec",
    "CriticalValues",
    "Rectangle",
    "CONVENTIONS",
    "WILKS",
    "ICECUBE_CALIBRATED",
    "SKYREADER_WILKS",
    "DIRECT_DLLH_WILKS",
    "calibrate_event",
    "EventCalibration",
    "ResimulationModel",
]
