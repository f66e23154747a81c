"""``scan()``: the HEALPix refinement loop (C++ state machine) driven in-process or remotely.

The state machine is ``icecore._core.scan.ScanDriver``. In-process, ``ScanDriver.step`` fits
each round in C++ threads. With an :class:`Executor`, each round's tasks (a structured array of
``_core.scan.SCAN_TASK_DTYPE``: level, nside, pixel, zenith, azimuth, seeds) go to
``session.evaluate``, whose results (fields neg_llh, vertex, n_eval, status, as
``_core.scan.FIT_RESULT_DTYPE``) are submitted back in the same order.

Polishing: the −ln L of a fixed direction is multimodal in the vertex, so a pixel's fit can end
in a worse local minimum than its neighbours'. With ``ScanSettings.polish`` (default on) the
driver follows every round with polishing rounds: pixels of that level that lie above the line
through their lowest evaluated neighbour and the one opposite it by more than
``polish_threshold`` (−ln L), with that neighbour within ``polish_window`` of the level's best,
are re-fitted from the neighbour's vertex (moved along its track to the closest approach to the
detector centre) and keep the lower minimum (``cpp/include/icecore/scan.hpp``). The re-fits are
ordinary tasks, so workers need nothing new and give the in-process result.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .. import _core
from .._progress import progress_bar
from .._validation import check_positive, check_threads
from ..errors import InputError
from .adapt import make_problem
from .healpix import check_nside
from .problem import ScanProblem
from .result import ScanResult

__all__ = ["ScanSettings", "scan", "Executor", "ExecutorSession", "run_problem"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSettings:
    """Refinement schedule (defaults as icecube/skymap_scanner's realtime scans), checked when made.

    Attributes
    ----------
    nsides : increasing powers of two, e.g. (8, 64, 512)
    extensions : per refinement level, the disc area around the best pixel in units of the
        parent level's pixel area, e.g. (12, 24)
    llh_diff_threshold : also refine parent pixels whose −ln L differs from an evaluated
        neighbour's by more than this (None: off)
    max_refine_radius_deg : region (degrees) around the best pixel where the threshold rule applies
    max_rounds_per_level : safety stop for the "repeat until no new pixel" rule
    polish : re-fit, after every round, pixels whose vertex fit ended in a worse local minimum
        than their neighbours' (see :mod:`icecore.scan.loop`, "Polishing"); False turns it off
    polish_threshold : a pixel is re-fitted when it lies above the line through its lowest
        neighbour and the neighbour opposite to it by more than this (−ln L units)
    max_polish_rounds : polishing rounds after each regular round (each ends the pass if it
        improves nothing)
    polish_window : only neighbours whose −ln L is within this of the level's best seed a re-fit
        (−ln L units; pixels far outside every contour are left alone, which bounds the cost)
    """

    nsides: Sequence[int] = (8, 64, 512)
    extensions: Sequence[float] = (12.0, 24.0)
    llh_diff_threshold: float | None = None
    max_refine_radius_deg: float = 10.0
    max_rounds_per_level: int = 64
    polish: bool = True
    polish_threshold: float = 1.0
    max_polish_rounds: int = 3
    polish_window: float = 100.0

    def __post_init__(self) -> None:
        ns = [check_nside(n, "nsides") for n in self.nsides]
        if not ns or any(b <= a for a, b in zip(ns, ns[1:])):
            raise InputError("argument 'nsides': must be non-empty and strictly increasing", "nsides")
        if len(self.extensions) != len(ns) - 1:
            raise InputError(f"argument 'extensions': need {len(ns) - 1} values (one per refinement level)",
                             "extensions")
        for e in self.extensions:
            check_positive(e, "extensions")
        if self.llh_diff_threshold is not None:
            check_positive(self.llh_diff_threshold, "llh_diff_threshold")
        check_positive(self.max_refine_radius_deg, "max_refine_radius_deg")
        check_positive(self.max_rounds_per_level, "max_rounds_per_level", integer=True)
        if not isinstance(self.polish, (bool, np.bool_)):
            raise InputError("argument 'polish': must be True or False", "polish")
        check_positive(self.polish_threshold, "polish_threshold")
        check_positive(self.max_polish_rounds, "max_polish_rounds", integer=True)
        check_positive(self.polish_window, "polish_window")


class ExecutorSession(Protocol):
    """One scan's connection to remote workers."""

    def evaluate(self, batch: np.ndarray) -> Mapping[str, np.ndarray] | np.ndarray:
        """Fit ``batch`` (SCAN_TASK_DTYPE); fields neg_llh, vertex, n_eval, status in its order."""
        ...

    def close(self) -> None: ...


class Executor(Protocol):
    """Evaluates batches remotely: ``open(problem)`` returns an :class:`ExecutorSession`."""

    def open(self, problem: ScanProblem) -> ExecutorSession: ...


def _driver(problem: ScanProblem, settings: ScanSettings) -> _core.scan.ScanDriver:
    return _core.scan.ScanDriver(
        [int(n) for n in settings.nsides], [float(e) for e in settings.extensions],
        np.ascontiguousarray(problem.rotation, float), np.asarray(problem.initial_seed, float),
        float(settings.llh_diff_threshold or 0.0),
        float(np.radians(settings.max_refine_radius_deg)) if settings.llh_diff_threshold else 0.0,
        int(settings.max_rounds_per_level),
        float(settings.polish_threshold) if settings.polish else 0.0, int(settings.max_polish_rounds),
        float(settings.polish_window))


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _expected_pixels(settings: ScanSettings, level: int) -> int:
    """Pixels a level is expected to fit (the progress total): every pixel at level 0; at a
    refinement level the children of the extension's disc of parents (+ the best one) in the first
    round. Later rounds (the best pixel moved) raise the total as they come."""
    ns = [int(n) for n in settings.nsides]
    if level == 0:
        return 12 * ns[0] ** 2
    ratio = ns[level] // ns[level - 1]
    return int(round((float(settings.extensions[level - 1]) + 1.0) * ratio * ratio))


def run_problem(problem: ScanProblem, settings: ScanSettings | None = None, *, executor: Executor | None = None,
                threads: int | None = None, progress: bool | None = None) -> ScanResult:
    """Run the refinement loop for a prepared :class:`ScanProblem` (see :func:`scan`)."""
    settings = settings or ScanSettings()
    nthreads = check_threads(threads)
    driver = _driver(problem, settings)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    nlev = len(settings.nsides)
    bars = [progress_bar(total=_expected_pixels(settings, k), progress=progress, desc=f"scan nside {ns}",
                         unit="px", leave=False)
            for k, ns in enumerate(settings.nsides)]
    per_batch: list[dict[str, Any]] = []
    session = executor.open(problem) if executor is not None else None
    try:
        while True:
            tb = time.perf_counter()
            polish_before = sum(driver.polish_fits)
            if session is None:
                n = driver.step(problem.fitter, nthreads)
                if n == 0:
                    break
                level = int(driver.level)  # the level of the batch just fitted
            else:
                batch = driver.next_batch()
                n = len(batch)
                if n == 0:
                    break
                level = int(batch["level"][0])
                res = session.evaluate(batch)
                driver.submit(res["neg_llh"], res["vertex"], res["n_eval"], res["status"])
            polished = sum(driver.polish_fits) > polish_before  # that batch re-fitted evaluated pixels
            per_batch.append({"level": level, "nside": int(settings.nsides[level]), "pixels": int(n),
                              "polish": polished, "seconds": round(time.perf_counter() - tb, 4)})
            if polished:
                log.debug("scan level %d: polished %d pixels in %.3f s", level, n, per_batch[-1]["seconds"])
                continue
            if bars[level].total is not None and bars[level].n + n > bars[level].total:
                bars[level].total = bars[level].n + n  # the best pixel moved: the level grew
            bars[level].update(n)
            log.debug("scan level %d: %d pixels in %.3f s", level, n, per_batch[-1]["seconds"])
        for b in bars:  # finished: each level's total is what it fitted
            b.total = b.n
    finally:
        if session is not None:
            session.close()
        for b in bars:
            b.close()
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    rec = driver.records()
    info = {
        "nsides": [int(n) for n in settings.nsides],
        "extensions": [float(e) for e in settings.extensions],
        "llh_diff_threshold": settings.llh_diff_threshold,
        "pixels_per_level": [int(np.count_nonzero(rec["level"] == k)) for k in range(nlev)],
        "rounds_per_level": [int(r) for r in driver.rounds],
        "fits": len(rec),
        "likelihood_evaluations": int(np.sum(rec["n_eval"])),
        "failed_fits": int(np.count_nonzero(rec["status"] != 0)),
        "polish": bool(settings.polish),
        "polish_threshold": float(settings.polish_threshold) if settings.polish else None,
        "polish_window": float(settings.polish_window) if settings.polish else None,
        "polish_rounds_per_level": [int(r) for r in driver.polish_rounds],
        "polish_fits_per_level": [int(r) for r in driver.polish_fits],
        "polish_improved_per_level": [int(r) for r in driver.polish_improved],
        "polish_evaluations": int(sum(driver.polish_evaluations)),
        "wall_s": round(wall, 4),
        "cpu_s_this_process": round(cpu, 4),
        "executor": "in-process" if executor is None else type(executor).__name__,
        "batches": per_batch,
    }
    meta = {**problem.meta, "mjd": float(problem.mjd)}
    return ScanResult(rec["nside"], rec["pixel"], rec["neg_llh"], rec["vertex"], rec["n_eval"], rec["status"],
                      meta=meta, info=info)


def scan(event: Any, *, time: Any = None, nsides: Sequence[int] = (8, 64, 512),
         extensions: Sequence[float] = (12.0, 24.0), llh_diff_threshold: float | None = None,
         max_refine_radius_deg: float = 10.0, executor: Executor | None = None, threads: int | None = None,
         progress: bool | None = None, initial_seed: Any = None,
         fitter_options: dict[str, Any] | None = None, likelihood: str | None = None,
         polish: bool = True) -> ScanResult:
    """Scan the sky for the best direction of a track event.

    Parameters
    ----------
    event : icecore.likelihood.Event, SyntheticEvent, icecore._core.scan.DirectionFitter or Scannable
        What to fit (see :func:`icecore.scan.adapt.make_problem`). A likelihood Event is turned
        into its per-direction vertex fitter; a bare DirectionFitter needs ``time`` and only runs
        in-process (except the plain AnalyticDirectionFitter).
    time : astropy Time or MJD, optional
        Event time (overrides the event's own) fixing the equatorial -> IceCube rotation.
    nsides, extensions : refinement schedule (see :class:`ScanSettings`); defaults 8/64/512 and
        12/24 as IceCube's realtime scans.
    llh_diff_threshold : optional neighbour-difference refinement threshold (−ln L units),
        applied within ``max_refine_radius_deg`` (degrees) of the best pixel.
    executor : None (in-process, threaded C++; no Python between pixels) or an executor such
        as :class:`icecore.scan.amqp.AMQPExecutor`. The result does not depend on it.
    threads : in-process fitting threads (None = all cores); the result does not depend on it.
    progress : tqdm bar per level (None: only on a terminal).
    initial_seed : (x, y, z, t) vertex seed (m, ns) of the first level (default: the event's guess).
    fitter_options : passed to the likelihood fitter's constructor (e.g. number of seeds).
    likelihood : {"exact", "fast"}, optional
        Evaluation of the photon likelihood of an ``icecore.likelihood.Event`` (shorthand for
        ``fitter_options={"likelihood": ...}``; default
        :data:`icecore.scan.likelihood_bridge.DEFAULT_FITTER_OPTIONS`). It is part of the fitter
        spec, so remote workers use the same setting and give identical results.
    polish : re-fit pixels whose vertex fit ended in a worse local minimum than their
        neighbours' (:class:`ScanSettings` ``polish``; default on). The re-fits are ordinary
        tasks, so remote workers give the same result.

    Returns
    -------
    ScanResult
        All evaluated pixels (NESTED, equatorial), with best fit, maps and contours.
    """
    settings = ScanSettings(tuple(nsides), tuple(extensions), llh_diff_threshold, max_refine_radius_deg,
                            polish=polish)
    if likelihood is not None:
        fitter_options = {**(fitter_options or {}), "likelihood": likelihood}
    problem = make_problem(event, time=time, initial_seed=initial_seed, fitter_options=fitter_options)
    return run_problem(problem, settings, executor=executor, threads=threads, progress=progress)
