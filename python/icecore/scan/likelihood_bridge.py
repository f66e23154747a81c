"""The photon-likelihood side of the scan (:mod:`icecore.likelihood`): fitter, problem, events, truth.

Kept in one module so that the scan loop itself only knows ``DirectionFitter``. The scan's
fitter for an :class:`icecore.likelihood.Event` is ``TrackLikelihood(event, mode="mpe")``:
the Pandel MPE likelihood whose ``fit_batch`` fits the vertex for each fixed direction from the
seed the scan passes (the parent pixel's best vertex) plus ring seeds: at nside 8 (the all-sky
first level, seeded with the LineFit vertex) 1 + 2, at the refinement levels 1 + 6 as IceCube's
realtime scans, reduced to 1 + 2 where the given seed is already good (see
:data:`DEFAULT_FITTER_OPTIONS`). The scan passes each batch's nside to ``fit_batch`` (in-process
and, through the task message, in AMQP workers), so the per-level choice is the same everywhere.

:class:`LikelihoodScannable` adapts an Event to :class:`icecore.scan.adapt.Scannable`; the
fitter travels to remote workers as ``{"kind": "likelihood", "event": json, "options": {...}}``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .. import likelihood as lk
from ..coords import as_time, equatorial_to_icecube, icecube_to_equatorial
from ..errors import InputError
from .problem import ScanProblem, equatorial_rotation, vertex_seed

__all__ = [
    "LikelihoodScannable",
    "fitter_from_likelihood_spec",
    "problem_from_likelihood_event",
    "simulate_likelihood_event",
    "likelihood_event_from_json",
    "likelihood_true_direction",
    "DEFAULT_FITTER_OPTIONS",
]

#: TrackLikelihood options of the scan, chosen by measurement on the bench's 200 TeV muon (full
#: 8/64/512 scan, 2 threads, same run; see bench/test_scan_likelihood.py):
#:
#: - ``likelihood="fast"``: tabulated ln cp / ln S (no ln S for single-photon hits); in one
#:   same-process run 3.8x less CPU than ``"exact"`` (89 vs 24 s, shared machine), the same best
#:   pixel, best -lnL off by 2e-6, Wilks 50/90 % areas identical, calibrated areas -0.3 % / +0.1 %.
#:   On 20 simulated events (tools/results/scan_fast_vs_exact.md, full 8/64/512 schedule) 14 have
#:   the same best pixel and 11 all four areas within 2 %; in 5 of the 6 others the fast scan found
#:   the lower -lnL (by 3-257): the exact scan's vertex fits ended in worse local minima
#:   (tools/results/scan_fit_basins.json), not an error of the tables (~3e-6 per term). With the
#:   scan's polishing pass (``ScanSettings.polish``, default on) 18 / 20 and 18 / 20
#:   (tools/results/scan_fast_vs_exact_polish.md).
#: - seeds where they matter: 1 + ``n_ring`` = 7 seeds (the given seed plus a 150 m ring) unless
#:   the fit from the given seed stays within ``near_m`` = 20 m / ``near_ns`` = 60 ns of it (the
#:   parent pixel's vertex was already good: mostly at nside 64/512), then only ``n_ring_near``
#:   = 2 ring seeds. At nside 8 (LineFit seed) this keeps the full ring for almost every pixel;
#:   evaluations per fit at 64/512 drop from 162/191 to 111/72, the scan's CPU by another 1.6x,
#:   with the same best pixel, identical Wilks areas and the calibrated 90 % area -0.3 %.
#: - ``max_iter`` = 400 BFGS iterations per seed (the C++ default is 100): with the step cap of
#:   500 the remaining non-converged fits of coarse levels stop at 100 iterations while still
#:   moving; only those fits use the extra iterations.
#:
#: - ``gtol`` = 1e-2, ``ftol`` = 1e-4 (the C++ defaults are 1e-3 / 1e-6): a seed stops when its
#:   -lnL changes by < 1e-4 per iteration, far below the ~0.5-5 units that separate contour levels;
#:   8 % fewer evaluations in the bench scan (nside 64: 111 -> 74 per fit, as more fits from the
#:   parent's vertex count as converged near it), the same best pixel, best -lnL +1e-6, identical
#:   Wilks areas, calibrated 50 % area -0.7 %.
#:
#: - seeds per level (``level_seeds`` = {8: (2, 2)}: the fitter gets each batch's nside): at the
#:   first level (nside 8, every direction of the sky from the LineFit vertex) the 768 fits used
#:   415 evaluations each with 1 + 6 seeds, 62 % of the scan. Those values only choose where the
#:   scan refines (an nside-8 pixel is ~54 deg², far larger than any contour), and with 1 + 2
#:   seeds the bench event's scan keeps the same best pixel, the same best -lnL and identical
#:   Wilks and calibrated areas (to all digits), with 178 instead of 415 evaluations per nside-8
#:   fit and 327 k instead of 510 k evaluations per scan (-36 %); the same on a second simulated
#:   muon (seed 3: identical best pixel and areas, 295 k instead of 482 k). Session 5, with the
#:   polishing pass and the batched table: 1 + 1 seeds at nside 8 gave the same best pixel and
#:   truth-inside flags as 1 + 2 on the 20 events of ``tools/results/scan_seed_variant_*.json``
#:   (areas within 1.0 %, 12 % fewer evaluations), but on a 21st (the ``--seed 2027`` coverage
#:   event 475) the nside-8 level lost the true minimum (best -lnL 792.9 vs 733.2 with 1 + 2);
#:   1 + 0 lost event 1002's: both rejected. Fewer seeds at the
#:   fine levels are not free: ``n_ring_near`` = 1 at nside 512 changes the Wilks 50 % area by
#:   -8 % (0 ring seeds: -8 %, calibrated 90 % -1.7 %), so the refinement levels keep 1 + 6 / 1 + 2.
#:   Tried and dropped: a trust-region Newton vertex fit (``minimizer="newton"``, the tables'
#:   Hessian model): for wrong directions the -ln L surface is rugged on the scale of the 4 ns
#:   jitter (Hessian eigenvalues change sign from step to step), Newton steps need more
#:   evaluations than BFGS (511 vs 419 per 7-seed fit of 60 random directions; 566 vs 342 near
#:   the truth from the LineFit seed) and end in worse local minima (median +840 in -ln L).
#:   Newton only for the given seed at nside 64/512 (``seed_minimizer="newton"``: from the parent's
#:   vertex it converges in ~3 instead of ~12 evaluations, same minimum to 1e-4) saves 5.6 % of
#:   the scan's evaluations (327 k -> 309 k; per fit 74 -> 68.5 at nside 64, 69.6 -> 62.1 at 512)
#:   but each evaluation with the Hessian costs more, the CPU did not drop measurably, and the
#:   calibrated areas move by +0.7 % / +0.4 %: not used (the option stays, default "bfgs").
#:
#: ``likelihood="exact"`` (the closed form) stays available as the reference.
DEFAULT_FITTER_OPTIONS: dict[str, Any] = {"mode": "mpe", "n_ring": 6, "n_ring_near": 2, "likelihood": "fast",
                                          "max_iter": 400, "gtol": 1e-2, "ftol": 1e-4,
                                          "level_seeds": {"8": [2, 2]}}


def _options(fitter_options: dict[str, Any] | None) -> dict[str, Any]:
    opts = {**DEFAULT_FITTER_OPTIONS, **(fitter_options or {})}
    try:
        json.dumps(opts)
    except TypeError:
        raise InputError("argument 'fitter_options': must be JSON-serialisable (they travel to workers)",
                         "fitter_options") from None
    return opts


def _make_fitter(event: lk.Event, opts: dict[str, Any]) -> lk.TrackLikelihood:
    o = dict(opts)
    mode = o.pop("mode", "mpe")
    return lk.TrackLikelihood(event, mode, **o)


def fitter_from_likelihood_spec(spec: dict[str, Any]) -> lk.TrackLikelihood:
    """Rebuild ``TrackLikelihood`` from ``{"kind": "likelihood", "event": json, "options": {...}}``."""
    try:
        event = lk.Event.from_json(spec["event"])
        opts = dict(spec.get("options") or {})
    except (KeyError, TypeError) as exc:
        raise InputError(f"argument 'spec': malformed likelihood spec ({exc})", "spec") from None
    return _make_fitter(event, opts)


def problem_from_likelihood_event(event: lk.Event, *, time: Any = None, initial_seed: Any = None,
                                  fitter_options: dict[str, Any] | None = None) -> ScanProblem:
    """The complete :class:`ScanProblem` of an :class:`icecore.likelihood.Event`.

    ``time`` (astropy Time or MJD) overrides the event's MJD; ``initial_seed`` (x, y, z m; t ns)
    the LineFit vertex; ``fitter_options`` update :data:`DEFAULT_FITTER_OPTIONS`.
    """
    if time is not None:
        mjd = float(as_time(time).mjd)
    elif event.mjd is not None:
        mjd = float(event.mjd)
    else:
        raise InputError("argument 'time': the event has no MJD; pass time=", "time")
    opts = _options(fitter_options)
    fitter = _make_fitter(event, opts)
    seed = vertex_seed(initial_seed, lk.linefit(event).vertex if initial_seed is None else None)
    truth = (event.meta or {}).get("truth")
    meta = {"run_id": int(event.run_id), "event_id": int(event.event_id),
            "event_type": "SIMULATED" if truth else "EVENT", "is_real_event": False}
    spec = {"kind": "likelihood", "event": event.to_json(), "options": opts}
    return ScanProblem(fitter, spec, mjd, equatorial_rotation(mjd), seed, meta)


def likelihood_true_direction(event: lk.Event) -> tuple[float, float] | None:
    """(ra_deg, dec_deg) of a simulated event's truth (from meta), or None."""
    truth = (event.meta or {}).get("truth")
    if not truth:
        return None
    if "ra_deg" in truth and "dec_deg" in truth:
        return float(truth["ra_deg"]), float(truth["dec_deg"])
    if event.mjd is None or "zenith_deg" not in truth:
        return None
    ra, dec = icecube_to_equatorial(truth["zenith_deg"], truth["azimuth_deg"], event.mjd)
    return float(ra), float(dec)


class LikelihoodScannable:
    """An :class:`icecore.likelihood.Event` seen as a :class:`icecore.scan.adapt.Scannable`."""

    def __init__(self, event: lk.Event) -> None:
        self.event = event

    def scan_problem(self, *, time: Any = None, initial_seed: Any = None,
                     fitter_options: dict[str, Any] | None = None) -> ScanProblem:
        return problem_from_likelihood_event(self.event, time=time, initial_seed=initial_seed,
                                             fitter_options=fitter_options)

    def to_json(self) -> str:
        return self.event.to_json()

    def true_direction(self) -> tuple[float, float] | None:
        return likelihood_true_direction(self.event)


def simulate_likelihood_event(*, rng: np.random.Generator, ra_deg: float, dec_deg: float, energy_tev: float,
                              mjd: float, mismatch: bool, **options: Any) -> lk.Event:
    """``simulate_track`` for a muon from (ra_deg, dec_deg) at ``mjd``; truth kept in ``meta``."""
    zen, azi = equatorial_to_icecube(ra_deg, dec_deg, mjd)
    ev = lk.simulate_track(float(energy_tev), float(zen), float(azi), seed=rng, mjd=float(mjd), mismatch=bool(mismatch),
                           **options)
    truth = ev.meta.setdefault("truth", {})
    truth["ra_deg"] = float(ra_deg)
    truth["dec_deg"] = float(dec_deg)
    return ev


def likelihood_event_from_json(text: str) -> lk.Event:
    """An :class:`icecore.likelihood.Event` from its JSON text."""
    return lk.Event.from_json(text)
