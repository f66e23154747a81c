"""The photon-likelihood side of the scan (:mod:`icecore.likelihood`): fitters, events, truth.

Kept in one module so that the scan loop itself only knows ``DirectionFitter``. The scan's
fitter for an :class:`icecore.likelihood.Event` is ``TrackLikelihood(event, mode="mpe")``:
the Pandel MPE likelihood whose ``fit_batch`` fits the vertex for each fixed direction from the
seed the scan passes (the parent pixel's best vertex) plus ``n_ring`` = 6 ring seeds, i.e. 7
seeds per pixel as IceCube's realtime scans. The first level is seeded with the LineFit vertex.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._validation import as_array
from ..errors import InputError

__all__ = [
    "fitter_from_likelihood_spec",
    "problem_from_likelihood_event",
    "simulate_likelihood_event",
    "likelihood_event_from_json",
    "likelihood_true_direction",
    "DEFAULT_FITTER_OPTIONS",
]

#: TrackLikelihood options of the scan (MPE, 1 + 6 vertex seeds per pixel).
DEFAULT_FITTER_OPTIONS: dict[str, Any] = {"mode": "mpe", "n_ring": 6}


def _lk():
    try:
        from .. import likelihood
    except ImportError as exc:
        raise InputError(
            "the photon likelihood (icecore.likelihood) is not available in this installation; use a "
            f"SyntheticEvent or a DirectionFitter ({exc})", "event") from None
    return likelihood


def _options(fitter_options: dict[str, Any] | None) -> dict[str, Any]:
    opts = {**DEFAULT_FITTER_OPTIONS, **(fitter_options or {})}
    try:
        json.dumps(opts)
    except TypeError:
        raise InputError("argument 'fitter_options': must be JSON-serialisable (they travel to workers)",
                         "fitter_options") from None
    return opts


def _make_fitter(lk: Any, event: Any, opts: dict[str, Any]):
    o = dict(opts)
    mode = o.pop("mode", "mpe")
    return lk.TrackLikelihood(event, mode, **o)


def fitter_from_likelihood_spec(spec: dict[str, Any]):
    """Rebuild ``TrackLikelihood`` from ``{"kind": "likelihood", "event": json, "options": {...}}``."""
    lk = _lk()
    try:
        event = lk.Event.from_json(spec["event"])
        opts = dict(spec.get("options") or {})
    except (KeyError, TypeError) as exc:
        raise InputError(f"argument 'spec': malformed likelihood spec ({exc})", "spec") from None
    return _make_fitter(lk, event, opts)


def problem_from_likelihood_event(event: Any, *, time: Any, initial_seed: Any, fitter_options: dict[str, Any]):
    """A ScanProblem for an icecore.likelihood Event (None if ``event`` is not one)."""
    try:
        lk = _lk()
    except InputError:
        return None
    if not isinstance(event, lk.Event):
        return None
    from ..coords import as_time
    from .problem import ScanProblem

    if time is not None:
        mjd = float(as_time(time).mjd)
    elif event.mjd is not None:
        mjd = float(event.mjd)
    else:
        raise InputError("argument 'time': the event has no MJD; pass time=", "time")
    opts = _options(fitter_options)
    fitter = _make_fitter(lk, event, opts)
    if initial_seed is None:
        seed = np.asarray(lk.linefit(event).vertex, dtype=float)
    else:
        seed = as_array(initial_seed, "initial_seed", ndim=1)
        if seed.size != 4:
            raise InputError("argument 'initial_seed': expected (x, y, z, t)", "initial_seed")
    truth = (event.meta or {}).get("truth")
    meta = {"run_id": int(event.run_id), "event_id": int(event.event_id),
            "event_type": "SIMULATED" if truth else "EVENT", "is_real_event": False}
    spec = {"kind": "likelihood", "event": event.to_json(), "options": opts}
    return ScanProblem(fitter, spec, mjd, np.eye(3), seed, meta)


def simulate_likelihood_event(*, rng: np.random.Generator, ra_deg: float, dec_deg: float, energy_tev: float,
                              mjd: float, mismatch: bool, **options: Any) -> Any:
    """``simulate_track`` for a muon from (ra_deg, dec_deg) at ``mjd``; truth kept in ``meta``."""
    lk = _lk()
    from ..coords import equatorial_to_icecube

    zen, azi = equatorial_to_icecube(ra_deg, dec_deg, mjd)
    ev = lk.simulate_track(float(energy_tev), float(zen), float(azi), seed=rng, mjd=float(mjd), mismatch=bool(mismatch),
                           **options)
    truth = ev.meta.setdefault("truth", {})
    truth["ra_deg"] = float(ra_deg)
    truth["dec_deg"] = float(dec_deg)
    return ev


def likelihood_event_from_json(text: str, source: str = "json") -> Any:
    lk = _lk()
    return lk.Event.from_json(text)


def likelihood_true_direction(event: Any) -> tuple[float, float] | None:
    """(ra_deg, dec_deg) of a simulated event's truth (from meta), or None."""
    truth = (getattr(event, "meta", None) or {}).get("truth")
    if not truth:
        return None
    if "ra_deg" in truth and "dec_deg" in truth:
        return float(truth["ra_deg"]), float(truth["dec_deg"])
    if event.mjd is None or "zenith_deg" not in truth:
        return None
    from ..coords import icecube_to_equatorial

    ra, dec = icecube_to_equatorial(truth["zenith_deg"], truth["azimuth_deg"], event.mjd)
    return float(ra), float(dec)
