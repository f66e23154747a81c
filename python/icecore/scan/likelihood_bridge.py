"""The photon-likelihood side of the scan (icecore.likelihood): build fitters and events.

Kept in one module so that the scan itself only knows ``DirectionFitter``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

__all__ = [
    "fitter_from_likelihood_spec",
    "problem_from_likelihood_event",
    "simulate_likelihood_event",
    "likelihood_event_from_json",
    "likelihood_true_direction",
]


def _lk():
    try:
        from .. import likelihood
    except ImportError as exc:
        raise InputError(
            "the photon likelihood (icecore.likelihood) is not available in this installation; use a "
            f"SyntheticEvent or a DirectionFitter ({exc})", "event") from None
    return likelihood


def fitter_from_likelihood_spec(spec: dict[str, Any]):
    raise InputError("argument 'spec': icecore.likelihood is not wired into the scan yet", "spec")


def problem_from_likelihood_event(event: Any, *, time: Any, initial_seed: Any, fitter_options: dict[str, Any]):
    """A ScanProblem for an icecore.likelihood Event, or None if ``event`` is not one."""
    return None


def simulate_likelihood_event(**kwargs: Any) -> Any:
    _lk()
    raise InputError("photon-level simulation: icecore.likelihood is not wired into the scan yet", "synthetic")


def likelihood_event_from_json(text: str, source: str = "json") -> Any:
    _lk()
    raise InputError(f"{source}: icecore.likelihood events are not wired into the scan yet", "event")


def likelihood_true_direction(event: Any) -> tuple[float, float] | None:
    return None
