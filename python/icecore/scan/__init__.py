"""Sky scan: the HEALPix refinement loop over a per-direction vertex fit, and its products.

- :func:`scan` -> :class:`ScanResult` (in-process C++ threads, or remote workers through
  :class:`icecore.scan.amqp.AMQPExecutor`);
- contours and areas with explicit critical-value conventions (:mod:`icecore.scan.contours`:
  :data:`WILKS`, :data:`ICECUBE_CALIBRATED`, :data:`SKYREADER_WILKS`, ...);
- icecube-skyreader npz/json, HEALPix FITS, PNG plots, catalogue association;
- :class:`SyntheticEvent`: a synthetic problem with a known answer (tests, benchmarks).
"""

from __future__ import annotations

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
from .problem import ScanProblem, SyntheticEvent, fitter_from_spec, make_problem
from .result import ContourSet, ScanResult

__all__ = [
    "scan",
    "run_problem",
    "ScanSettings",
    "ScanResult",
    "ContourSet",
    "ScanProblem",
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
]
