"""Events for the scan CLI and coverage studies: simulate, serialise, load, truth.

Two kinds:

- photon-level track events of :mod:`icecore.likelihood` (Pandel likelihood) — the real thing;
- :class:`~.synthetic.SyntheticEvent` — a SYNTHETIC analytic toy (see :mod:`.synthetic`) that
  exercises the scan, contours and coverage machinery quickly.

Serialising and the truth go through :func:`icecore.scan.adapt.as_scannable`; reading picks the
kind from the JSON (a ``synthetic_event`` object, else an :class:`icecore.likelihood.Event`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import rng_from_seed
from ..errors import DataFormatError
from .adapt import as_scannable
from .likelihood_bridge import likelihood_event_from_json, simulate_likelihood_event
from .synthetic import MISMATCH_SCALE, SyntheticEvent, simulate_synthetic, synthetic_kappa

__all__ = ["simulate_event", "event_to_json", "load_event", "true_direction", "MISMATCH_SCALE", "synthetic_kappa"]


def simulate_event(*, seed: Any = 1, ra_deg: float | None = None, dec_deg: float | None = None,
                   energy_tev: float = 200.0, mjd: float = 60000.0, mismatch: bool = False,
                   synthetic: bool = False, **likelihood_options: Any) -> Any:
    """Simulate one event (isotropic direction unless given; degrees, TeV, MJD).

    ``synthetic=False`` (default) uses the photon-level simulator of :mod:`icecore.likelihood`
    (``simulate_track``, with ``likelihood_options``) and its model-mismatch switch, and returns
    an ``icecore.likelihood.Event``; ``synthetic=True`` returns a
    :class:`~.synthetic.SyntheticEvent` toy (:func:`~.synthetic.simulate_synthetic`).
    """
    rng = rng_from_seed(seed)
    if ra_deg is None:
        ra_deg = float(rng.uniform(0, 360))
    if dec_deg is None:
        dec_deg = float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
    if synthetic:
        return simulate_synthetic(rng=rng, ra_deg=ra_deg, dec_deg=dec_deg, energy_tev=energy_tev, mjd=mjd,
                                  mismatch=mismatch)
    return simulate_likelihood_event(rng=rng, ra_deg=ra_deg, dec_deg=dec_deg, energy_tev=energy_tev, mjd=mjd,
                                     mismatch=mismatch, **likelihood_options)


def event_to_json(event: Any) -> str:
    """JSON text of a SyntheticEvent or an icecore.likelihood Event (any :class:`~.adapt.Scannable`)."""
    return as_scannable(event).to_json()


def load_event(path: str | Path) -> Any:
    """Read an event JSON written by :func:`event_to_json` (or by icecore.likelihood)."""
    try:
        text = Path(path).read_text()
        d = json.loads(text)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"cannot read event JSON: {exc}", str(path)) from None
    if isinstance(d, dict) and "synthetic_event" in d:
        return SyntheticEvent.from_json(text)
    return likelihood_event_from_json(text)


def true_direction(event: Any) -> tuple[float, float] | None:
    """(ra_deg, dec_deg) of the simulated truth, when the event carries it."""
    return as_scannable(event).true_direction()
