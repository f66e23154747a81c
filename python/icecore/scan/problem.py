"""What a scan needs: a DirectionFitter, its JSON spec (for remote workers), time and metadata.

A scan can be driven by any ``icecore._core.scan.DirectionFitter``. To send work to remote workers,
the fitter must also be rebuildable from JSON: :func:`fitter_spec` / :func:`fitter_from_spec`
know the synthetic :class:`SyntheticEvent` (``"analytic"``) and the photon-likelihood event of
:mod:`icecore.likelihood` (``"likelihood"``, once that module is present).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._validation import as_array, as_degrees
from ..errors import InputError

__all__ = [
    "SyntheticEvent",
    "ScanProblem",
    "make_problem",
    "fitter_from_spec",
    "register_fitter_kind",
]

log = logging.getLogger(__name__)

_BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def register_fitter_kind(kind: str, builder: Callable[[dict[str, Any]], Any]) -> None:
    """Register ``builder(spec) -> DirectionFitter`` for specs with ``spec["kind"] == kind``."""
    _BUILDERS[kind] = builder


def fitter_from_spec(spec: dict[str, Any]):
    """Rebuild a DirectionFitter from its JSON-serialisable spec (used by remote workers)."""
    if not isinstance(spec, dict) or "kind" not in spec:
        raise InputError("argument 'spec': expected a dict with a 'kind'", "spec")
    kind = spec["kind"]
    if kind not in _BUILDERS and kind == "likelihood":
        _register_likelihood()
    if kind not in _BUILDERS:
        raise InputError(f"argument 'spec': unknown fitter kind {kind!r}", "spec")
    return _BUILDERS[kind](spec)


def _analytic_from_spec(spec: dict[str, Any]):
    from .._core import scan as _core_scan
    AnalyticDirectionFitter = _core_scan.AnalyticDirectionFitter

    p = spec["params"]
    return AnalyticDirectionFitter(
        float(p["zenith"]), float(p["azimuth"]), float(p["kappa"]), np.asarray(p["vertex"], float),
        float(p["vertex_pull"]), float(p["vertex_weight"]), int(p["work"]))


register_fitter_kind("analytic", _analytic_from_spec)


def _register_likelihood() -> None:
    """Teach fitter_from_spec the photon-likelihood event (icecore.likelihood), if installed."""
    try:
        from .likelihood_bridge import fitter_from_likelihood_spec
    except ImportError as exc:  # pragma: no cover - depends on the likelihood module
        log.debug("likelihood fitter unavailable: %s", exc)
        return
    register_fitter_kind("likelihood", fitter_from_likelihood_spec)


@dataclass
class SyntheticEvent:
    """A SYNTHETIC scan problem with a known answer (tests, benchmarks, AMQP checks).

    The scan's fitter is :class:`icecore._core.scan.AnalyticDirectionFitter`, whose −ln L is
    ``kappa (1 - cos psi)`` around the true direction (``ra_deg``, ``dec_deg`` at ``mjd``), so
    2Δ(−ln L) <= c is a cap of ``pi c / kappa`` sr. Not a physics simulation.

    Parameters
    ----------
    ra_deg, dec_deg : float
        True direction, degrees (J2000).
    mjd : float
        Event time (MJD, UTC); fixes the equatorial -> IceCube rotation.
    kappa : float
        Concentration, 1/rad² (for small angles, sigma = 1/sqrt(kappa) rad).
    vertex : 4 floats
        "True vertex" (m, m, m, ns) the fake vertex fit moves toward.
    vertex_pull, vertex_weight : float
        See the C++ class; ``vertex_weight > 0`` makes −ln L depend on the seed vertex.
    work : int
        Dummy evaluations per fit (emulates likelihood cost).
    true_ra_deg, true_dec_deg : float, optional
        For coverage toys: the "true" direction when (ra_deg, dec_deg), the likelihood maximum,
        was drawn around it (:func:`icecore.scan.events.simulate_event` with ``synthetic=True``).
    """

    ra_deg: float
    dec_deg: float
    mjd: float = 60000.0
    kappa: float = 3000.0
    vertex: tuple[float, float, float, float] = (10.0, -20.0, 30.0, 1000.0)
    vertex_pull: float = 0.5
    vertex_weight: float = 0.0
    work: int = 0
    run_id: int = 0
    event_id: int = 0
    true_ra_deg: float | None = None
    true_dec_deg: float | None = None

    def __post_init__(self) -> None:
        self.ra_deg = float(as_degrees(self.ra_deg, "ra_deg", ndim=0)) % 360.0
        self.dec_deg = float(as_degrees(self.dec_deg, "dec_deg", ndim=0))
        if abs(self.dec_deg) > 90:
            raise InputError("argument 'dec_deg': must be within [-90, 90]", "dec_deg")
        self.vertex = tuple(float(x) for x in as_array(self.vertex, "vertex", ndim=1))  # type: ignore[assignment]
        if len(self.vertex) != 4:
            raise InputError("argument 'vertex': expected (x, y, z, t)", "vertex")

    def to_json(self) -> str:
        return json.dumps({"synthetic_event": asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> SyntheticEvent:
        d = json.loads(text)
        return cls(**d["synthetic_event"])

    def fitter_params(self, rotation: np.ndarray) -> dict[str, Any]:
        """AnalyticDirectionFitter arguments with the true direction in local coordinates."""
        a, d = np.radians(self.ra_deg), np.radians(self.dec_deg)
        v = rotation @ np.array([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)])
        zen = float(np.arctan2(np.hypot(v[0], v[1]), v[2]))
        azi = float(np.arctan2(v[1], v[0]) % (2 * np.pi))
        return {"zenith": zen, "azimuth": azi, "kappa": float(self.kappa), "vertex": list(self.vertex),
                "vertex_pull": float(self.vertex_pull), "vertex_weight": float(self.vertex_weight),
                "work": int(self.work)}


@dataclass
class ScanProblem:
    """Everything the scan loop needs, independent of where the fits run.

    Attributes
    ----------
    fitter : icecore._core.scan.DirectionFitter
    spec : dict or None
        JSON-serialisable recipe that :func:`fitter_from_spec` turns into an equal fitter
        (None: in-process only).
    mjd : float
        Event time (MJD, UTC).
    rotation : (3, 3) ndarray
        ``v_local = rotation @ v_equatorial`` at ``mjd``.
    initial_seed : (4,) ndarray
        Vertex seed (m, m, m, ns) of the first level.
    meta : dict
        run_id, event_id, event_type, is_real_event (for the skyreader format).
    """

    fitter: Any
    spec: dict[str, Any] | None
    mjd: float
    rotation: np.ndarray
    initial_seed: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def _rotation(mjd: float) -> np.ndarray:
    from ..coords import equatorial_to_icecube_matrix

    return np.ascontiguousarray(equatorial_to_icecube_matrix(mjd), dtype=float)


def make_problem(event: Any, *, time: Any = None, initial_seed: Any = None,
                 fitter_options: dict[str, Any] | None = None) -> ScanProblem:
    """Turn what the user passed to :func:`icecore.scan.scan` into a :class:`ScanProblem`.

    ``event`` may be a :class:`SyntheticEvent`, an ``icecore.likelihood.Event`` (the photon
    likelihood; its time and first-guess vertex are used), or any
    ``icecore._core.scan.DirectionFitter`` (then ``time`` is required and the scan runs in-process).
    """
    from .._core import scan as _core_scan
    DirectionFitter = _core_scan.DirectionFitter
    from ..coords import as_time

    if isinstance(event, SyntheticEvent):
        mjd = float(event.mjd if time is None else as_time(time).mjd)
        rot = _rotation(mjd)
        params = event.fitter_params(rot)
        spec = {"kind": "analytic", "params": params}
        seed = np.zeros(4) if initial_seed is None else as_array(initial_seed, "initial_seed", ndim=1)
        meta = {"run_id": int(event.run_id), "event_id": int(event.event_id), "event_type": "SYNTHETIC",
                "is_real_event": False}
        return ScanProblem(fitter_from_spec(spec), spec, mjd, rot, seed, meta)
    if isinstance(event, DirectionFitter):
        if time is None:
            raise InputError("argument 'time': required when scanning with a bare DirectionFitter", "time")
        mjd = float(as_time(time).mjd)
        seed = np.zeros(4) if initial_seed is None else as_array(initial_seed, "initial_seed", ndim=1)
        spec = None
        params = getattr(event, "params", None)
        if type(event).__name__ == "AnalyticDirectionFitter" and isinstance(params, dict):
            spec = {"kind": "analytic", "params": params}
        meta = {"run_id": 0, "event_id": 0, "event_type": "UNKNOWN", "is_real_event": False}
        return ScanProblem(event, spec, mjd, _rotation(mjd), seed, meta)
    try:
        from .likelihood_bridge import problem_from_likelihood_event
    except ImportError:
        problem_from_likelihood_event = None  # type: ignore[assignment]
    if problem_from_likelihood_event is not None:
        prob = problem_from_likelihood_event(event, time=time, initial_seed=initial_seed,
                                             fitter_options=fitter_options or {})
        if prob is not None:
            prob.rotation = _rotation(prob.mjd)
            return prob
    raise InputError(
        f"argument 'event': cannot scan a {type(event).__name__}; pass an icecore.likelihood.Event, a "
        "SyntheticEvent or a DirectionFitter", "event")
