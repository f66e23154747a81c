"""Events for the scan CLI: simulate, serialise, load.

Two kinds:

- photon-level track events of :mod:`icecore.likelihood` (Pandel likelihood) — the real thing;
- :class:`SyntheticEvent` — a SYNTHETIC analytic toy whose −ln L is
  ``kappa (1 - cos psi)`` around a maximum drawn from a Gaussian of width ``1/sqrt(kappa)``
  around the true direction (``mismatch=True`` widens the draw by ``MISMATCH_SCALE``, as an
  imperfect model would). It exercises the scan, contours and coverage machinery quickly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import rng_from_seed
from ..errors import DataFormatError, InputError
from .problem import SyntheticEvent

__all__ = ["simulate_event", "event_to_json", "load_event", "MISMATCH_SCALE", "synthetic_kappa"]

MISMATCH_SCALE = 1.5


def synthetic_kappa(energy_tev: float) -> float:
    """Toy concentration (1/rad²): resolution 1/sqrt(kappa) ~ 0.5 deg at 200 TeV, ~E^-0.25."""
    sigma_deg = 0.5 * (energy_tev / 200.0) ** -0.25
    return float(1.0 / np.radians(sigma_deg) ** 2)


def _tangent_offset(ra_deg: float, dec_deg: float, dx: float, dy: float) -> tuple[float, float]:
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    c = np.array([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)])
    e = np.array([-np.sin(a), np.cos(a), 0.0])
    n = np.cross(c, e)
    v = c + dx * e + dy * n
    v /= np.linalg.norm(v)
    return float(np.degrees(np.arctan2(v[1], v[0])) % 360.0), float(np.degrees(np.arcsin(np.clip(v[2], -1, 1))))


def simulate_event(*, seed: Any = 1, ra_deg: float | None = None, dec_deg: float | None = None,
                   energy_tev: float = 200.0, mjd: float = 60000.0, mismatch: bool = False,
                   synthetic: bool = False, **likelihood_options: Any) -> Any:
    """Simulate one event (isotropic direction unless given).

    ``synthetic=False`` (default) uses the photon-level simulator of :mod:`icecore.likelihood`
    (``simulate_track``) with its model-mismatch switch; ``synthetic=True`` returns a
    :class:`SyntheticEvent` toy (see the module docstring).
    """
    rng = rng_from_seed(seed)
    if ra_deg is None:
        ra_deg = float(rng.uniform(0, 360))
    if dec_deg is None:
        dec_deg = float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
    if not synthetic:
        from .likelihood_bridge import simulate_likelihood_event

        return simulate_likelihood_event(rng=rng, ra_deg=ra_deg, dec_deg=dec_deg, energy_tev=energy_tev, mjd=mjd,
                                         mismatch=mismatch, **likelihood_options)
    kappa = synthetic_kappa(energy_tev)
    sigma = (MISMATCH_SCALE if mismatch else 1.0) / np.sqrt(kappa)
    dx, dy = rng.normal(0.0, sigma, 2)
    rra, rdec = _tangent_offset(ra_deg, dec_deg, dx, dy)
    return SyntheticEvent(ra_deg=rra, dec_deg=rdec, mjd=mjd, kappa=kappa, true_ra_deg=ra_deg,
                          true_dec_deg=dec_deg)


def event_to_json(event: Any) -> str:
    """JSON text of a SyntheticEvent or an icecore.likelihood Event."""
    if isinstance(event, SyntheticEvent):
        return event.to_json()
    to_json = getattr(event, "to_json", None)
    if to_json is None:
        raise InputError(f"argument 'event': cannot serialise a {type(event).__name__}", "event")
    return to_json()


def load_event(path: str | Path) -> Any:
    """Read an event JSON written by :func:`event_to_json` (or by icecore.likelihood)."""
    try:
        text = Path(path).read_text()
        d = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read event JSON: {exc}", str(path)) from None
    if isinstance(d, dict) and "synthetic_event" in d:
        return SyntheticEvent.from_json(text)
    from .likelihood_bridge import likelihood_event_from_json

    return likelihood_event_from_json(text, source=str(path))


def true_direction(event: Any) -> tuple[float, float] | None:
    """(ra_deg, dec_deg) of the simulated truth, when the event carries it."""
    if isinstance(event, SyntheticEvent):
        if event.true_ra_deg is None or event.true_dec_deg is None:
            return None
        return float(event.true_ra_deg), float(event.true_dec_deg)
    from .likelihood_bridge import likelihood_true_direction

    return likelihood_true_direction(event)
