"""The seam between what users scan and what the scan loop runs: the one module that knows the kinds.

- :class:`Scannable`: anything with ``scan_problem(...) -> ScanProblem`` (plus ``to_json`` and
  ``true_direction`` for the CLI and coverage studies). :class:`~.synthetic.SyntheticEvent`
  is one; :func:`as_scannable` adapts an :class:`icecore.likelihood.Event`
  (:class:`~.likelihood_bridge.LikelihoodScannable`) and a bare
  ``icecore._core.scan.DirectionFitter`` (:class:`FitterScannable`, in-process only).
- :func:`make_problem`: what :func:`icecore.scan.scan` does with its ``event`` argument.
- :func:`fitter_from_spec`: how a remote worker rebuilds the fitter from the problem's JSON
  spec. Both kinds, ``"analytic"`` (synthetic) and ``"likelihood"`` (Pandel), are registered
  when this module is imported; :func:`register_fitter_kind` adds others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import _core
from .. import likelihood as lk
from ..coords import as_time
from ..errors import InputError
from .likelihood_bridge import LikelihoodScannable, fitter_from_likelihood_spec
from .problem import ScanProblem, equatorial_rotation, vertex_seed
from .synthetic import analytic_fitter_from_spec, analytic_spec

__all__ = [
    "Scannable",
    "FitterScannable",
    "as_scannable",
    "make_problem",
    "fitter_from_spec",
    "register_fitter_kind",
]

FitterBuilder = Callable[[dict[str, Any]], _core.scan.DirectionFitter]


@runtime_checkable
class Scannable(Protocol):
    """What :func:`icecore.scan.scan` accepts (after :func:`as_scannable`)."""

    def scan_problem(self, *, time: Any = None, initial_seed: Any = None,
                     fitter_options: dict[str, Any] | None = None) -> ScanProblem:
        """The complete :class:`ScanProblem`: ``time`` (astropy Time or MJD) overrides the event's
        own, ``initial_seed`` (x, y, z m; t ns) its first-level vertex seed, ``fitter_options``
        go to the fitter's constructor where it takes any."""
        ...

    def to_json(self) -> str:
        """JSON text that :func:`icecore.scan.events.load_event` reads back."""
        ...

    def true_direction(self) -> tuple[float, float] | None:
        """(ra_deg, dec_deg) of the simulated truth, or None."""
        ...


class FitterScannable:
    """A bare ``DirectionFitter``: needs ``time``; remote workers only for the exact
    ``AnalyticDirectionFitter`` class (whose spec is known), not for subclasses."""

    def __init__(self, fitter: _core.scan.DirectionFitter) -> None:
        self.fitter = fitter

    def scan_problem(self, *, time: Any = None, initial_seed: Any = None,
                     fitter_options: dict[str, Any] | None = None) -> ScanProblem:
        if time is None:
            raise InputError("argument 'time': required when scanning with a bare DirectionFitter", "time")
        mjd = float(as_time(time).mjd)
        f = self.fitter
        spec = analytic_spec(f) if type(f) is _core.scan.AnalyticDirectionFitter else None
        meta = {"run_id": 0, "event_id": 0, "event_type": "UNKNOWN", "is_real_event": False}
        return ScanProblem(f, spec, mjd, equatorial_rotation(mjd), vertex_seed(initial_seed, np.zeros(4)), meta)

    def to_json(self) -> str:
        raise InputError(f"argument 'event': cannot serialise a {type(self.fitter).__name__}", "event")

    def true_direction(self) -> tuple[float, float] | None:
        return None


def as_scannable(event: Any) -> Scannable:
    """``event`` as a :class:`Scannable` (the one place that dispatches on the event's type)."""
    if isinstance(event, Scannable):
        return event
    if isinstance(event, lk.Event):
        return LikelihoodScannable(event)
    if isinstance(event, _core.scan.DirectionFitter):
        return FitterScannable(event)
    raise InputError(
        f"argument 'event': cannot scan a {type(event).__name__}; pass an icecore.likelihood.Event, a "
        "SyntheticEvent or a DirectionFitter", "event")


def make_problem(event: Any, *, time: Any = None, initial_seed: Any = None,
                 fitter_options: dict[str, Any] | None = None) -> ScanProblem:
    """Turn what the user passed to :func:`icecore.scan.scan` into a :class:`ScanProblem`.

    ``event`` may be a :class:`~.synthetic.SyntheticEvent`, an ``icecore.likelihood.Event``
    (the photon likelihood; its time and LineFit vertex are used), any
    ``icecore._core.scan.DirectionFitter`` (then ``time`` is required and the scan runs
    in-process) or any other :class:`Scannable`.
    """
    return as_scannable(event).scan_problem(time=time, initial_seed=initial_seed, fitter_options=fitter_options)


_BUILDERS: dict[str, FitterBuilder] = {}


def register_fitter_kind(kind: str, builder: FitterBuilder) -> None:
    """Register ``builder(spec) -> DirectionFitter`` for specs with ``spec["kind"] == kind``."""
    _BUILDERS[kind] = builder


def fitter_from_spec(spec: dict[str, Any]) -> _core.scan.DirectionFitter:
    """Rebuild a DirectionFitter from its JSON-serialisable spec (used by remote workers)."""
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InputError("argument 'spec': expected a dict with a 'kind'", "spec")
    builder = _BUILDERS.get(spec["kind"])
    if builder is None:
        raise InputError(f"argument 'spec': unknown fitter kind {spec['kind']!r} (known: {sorted(_BUILDERS)})",
                         "spec")
    return builder(spec)


register_fitter_kind("analytic", analytic_fitter_from_spec)
register_fitter_kind("likelihood", fitter_from_likelihood_spec)
