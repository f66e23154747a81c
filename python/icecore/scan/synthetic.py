"""The SYNTHETIC scan event: an analytic −ln L with a known answer (tests, benchmarks, AMQP checks).

:class:`SyntheticEvent` is scanned with :class:`icecore._core.scan.AnalyticDirectionFitter`,
whose −ln L is ``kappa (1 - cos psi)`` around the event's direction, so 2Δ(−ln L) <= c is a
cap of ``pi c / kappa`` sr. :func:`simulate_synthetic` draws that maximum from a Gaussian of
width ``1/sqrt(kappa)`` around a true direction (``mismatch=True`` widens the draw by
:data:`MISMATCH_SCALE`, as an imperfect model would). Not a physics simulation.

The fitter travels to remote workers as ``{"kind": "analytic", "params": {...}}``
(:func:`analytic_spec`, :func:`analytic_fitter_from_spec`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array, as_degrees
from ..coords import as_time
from ..errors import InputError
from .problem import ScanProblem, equatorial_rotation, vertex_seed

__all__ = [
    "SyntheticEvent",
    "simulate_synthetic",
    "synthetic_kappa",
    "MISMATCH_SCALE",
    "analytic_spec",
    "analytic_fitter_from_spec",
]

#: Widening of the synthetic scatter with ``mismatch=True``.
MISMATCH_SCALE = 1.5


@dataclass
class SyntheticEvent:
    """A SYNTHETIC scan problem with a known answer (tests, benchmarks, AMQP checks).

    Parameters
    ----------
    ra_deg, dec_deg : float
        Direction of the −ln L maximum, degrees (J2000).
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
    run_id, event_id : int
        Identifiers written to the skyreader files.
    true_ra_deg, true_dec_deg : float, optional
        For coverage toys: the "true" direction when (ra_deg, dec_deg), the likelihood maximum,
        was drawn around it (:func:`simulate_synthetic`).
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
        vertex = tuple(float(x) for x in as_array(self.vertex, "vertex", ndim=1))
        if len(vertex) != 4:
            raise InputError("argument 'vertex': expected (x, y, z, t)", "vertex")
        self.vertex = (vertex[0], vertex[1], vertex[2], vertex[3])

    # ---- Scannable ------------------------------------------------------------------------
    def scan_problem(self, *, time: Any = None, initial_seed: Any = None,
                     fitter_options: dict[str, Any] | None = None) -> ScanProblem:
        """The :class:`ScanProblem` (``fitter_options`` do not apply to the synthetic fitter)."""
        mjd = float(self.mjd if time is None else as_time(time).mjd)
        rot = equatorial_rotation(mjd)
        spec = {"kind": "analytic", "params": self.fitter_params(rot)}
        meta = {"run_id": int(self.run_id), "event_id": int(self.event_id), "event_type": "SYNTHETIC",
                "is_real_event": False}
        return ScanProblem(analytic_fitter_from_spec(spec), spec, mjd, rot, vertex_seed(initial_seed, np.zeros(4)),
                           meta)

    def to_json(self) -> str:
        """``{"synthetic_event": {...}}`` (read back with :meth:`from_json`)."""
        return json.dumps({"synthetic_event": asdict(self)})

    def true_direction(self) -> tuple[float, float] | None:
        """(ra_deg, dec_deg) of the simulated truth, or None."""
        if self.true_ra_deg is None or self.true_dec_deg is None:
            return None
        return float(self.true_ra_deg), float(self.true_dec_deg)

    # ---- helpers --------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str) -> SyntheticEvent:
        d = json.loads(text)
        return cls(**d["synthetic_event"])

    def fitter_params(self, rotation: np.ndarray) -> dict[str, Any]:
        """AnalyticDirectionFitter arguments with the maximum in local coordinates (radians)."""
        a, d = np.radians(self.ra_deg), np.radians(self.dec_deg)
        v = rotation @ np.array([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)])
        zen = float(np.arctan2(np.hypot(v[0], v[1]), v[2]))
        azi = float(np.arctan2(v[1], v[0]) % (2 * np.pi))
        return {"zenith": zen, "azimuth": azi, "kappa": float(self.kappa), "vertex": list(self.vertex),
                "vertex_pull": float(self.vertex_pull), "vertex_weight": float(self.vertex_weight),
                "work": int(self.work)}


def analytic_spec(fitter: _core.scan.AnalyticDirectionFitter) -> dict[str, Any]:
    """The ``{"kind": "analytic", "params": ...}`` spec that rebuilds ``fitter``."""
    params = {"zenith": fitter.zenith, "azimuth": fitter.azimuth, "kappa": fitter.kappa,
              "vertex": list(fitter.vertex), "vertex_pull": fitter.vertex_pull,
              "vertex_weight": fitter.vertex_weight, "work": fitter.work}
    return {"kind": "analytic", "params": params}


def analytic_fitter_from_spec(spec: dict[str, Any]) -> _core.scan.AnalyticDirectionFitter:
    """Rebuild the AnalyticDirectionFitter of an ``"analytic"`` spec."""
    try:
        p = spec["params"]
        return _core.scan.AnalyticDirectionFitter(
            float(p["zenith"]), float(p["azimuth"]), float(p["kappa"]), np.asarray(p["vertex"], float),
            float(p["vertex_pull"]), float(p["vertex_weight"]), int(p["work"]))
    except (KeyError, TypeError) as exc:
        raise InputError(f"argument 'spec': malformed analytic spec ({exc!r})", "spec") from None


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


def simulate_synthetic(*, rng: np.random.Generator, ra_deg: float, dec_deg: float, energy_tev: float,
                       mjd: float, mismatch: bool) -> SyntheticEvent:
    """A :class:`SyntheticEvent` whose maximum is drawn around the true (ra_deg, dec_deg)."""
    kappa = synthetic_kappa(energy_tev)
    sigma = (MISMATCH_SCALE if mismatch else 1.0) / np.sqrt(kappa)
    dx, dy = rng.normal(0.0, sigma, 2)
    rra, rdec = _tangent_offset(ra_deg, dec_deg, dx, dy)
    return SyntheticEvent(ra_deg=rra, dec_deg=rdec, mjd=mjd, kappa=kappa, true_ra_deg=ra_deg,
                          true_dec_deg=dec_deg)
