"""Ice model of the Pandel likelihood (IceCube's standard "H2" bulk-ice defaults).

Where the defaults live: the C++ struct ``IceParams`` (``cpp/include/icecore/track_llh.hpp``) is
the one place the numbers are written. :class:`IceModel` takes its field defaults from
``icecore._core.likelihood.IceParams()`` when this module is imported and hands the compiled
likelihood an ``IceParams`` again (:meth:`IceModel.to_params`), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from ..errors import InputError

__all__ = ["IceModel", "DEFAULT_ICE"]

_CXX = _core.likelihood.IceParams()  # the defaults, read once


@dataclass(frozen=True)
class IceModel:
    """Pandel ice parameters.

    Defaults are those of the C++ ``IceParams`` (see the module docstring); the values quoted
    below are what they are at the time of writing.

    Parameters
    ----------
    absorption_m : float
        Absorption length lambda_a (m), default 98.
    tau_ns : float
        Pandel tau (ns), default 556.7.
    scattering_m : float
        Effective scattering length lambda (m), default 33.29: the Pandel shape is d_eff/lambda.
    n_phase, n_group : float
        Phase (Cherenkov angle) and group (photon speed) refractive indices, 1.3195 / 1.35634.
    c_m_per_ns : float
        Speed of light in vacuum, 0.299792458 m/ns.
    deff_coefficients : tuple of 4 floats
        ``d_eff = a0 + a1 d + a2 cos(eta) + a3 cos(eta)**2`` with (a0, a1, a2, a3) =
        (3.094, 0.8395, -3.946, 4.636) (AMANDA/IceCube muon reconstruction, NIM A 524 (2004) 169),
        d the photon path length (m) and eta the angle between the down-facing PMT axis and the
        direction the photon comes from.
    """

    absorption_m: float = _CXX.absorption_m
    tau_ns: float = _CXX.tau_ns
    scattering_m: float = _CXX.scattering_m
    n_phase: float = _CXX.n_phase
    n_group: float = _CXX.n_group
    c_m_per_ns: float = _CXX.c_m_per_ns
    deff_coefficients: tuple[float, float, float, float] = field(default=_CXX.deff_coefficients)

    def __post_init__(self) -> None:
        for name in ("absorption_m", "tau_ns", "scattering_m", "c_m_per_ns"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"argument '{name}': must be finite and > 0, got {v!r}", name)
        for name in ("n_phase", "n_group"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 1:
                raise InputError(f"argument '{name}': must be finite and > 1, got {v!r}", name)
        coeffs = tuple(float(c) for c in self.deff_coefficients)
        if len(coeffs) != 4 or not all(np.isfinite(coeffs)):
            raise InputError("argument 'deff_coefficients': expected 4 finite numbers", "deff_coefficients")
        object.__setattr__(self, "deff_coefficients", coeffs)

    @property
    def rho(self) -> float:
        """Pandel rate 1/tau + c/(n_group lambda_a) in 1/ns (computed by ``IceParams.rho``)."""
        return float(self.to_params().rho)

    @property
    def cherenkov_angle_rad(self) -> float:
        """Cherenkov angle arccos(1/n_phase) in radians."""
        return float(np.arccos(1.0 / self.n_phase))

    def effective_distance(self, distance_m: Any, cos_eta: Any) -> np.ndarray:
        """Effective distance (m) from the photon path length and cos(eta)."""
        a0, a1, a2, a3 = self.deff_coefficients
        d = np.asarray(distance_m, dtype=float)
        c = np.asarray(cos_eta, dtype=float)
        return a0 + a1 * d + a2 * c + a3 * c * c

    def to_params(self) -> _core.likelihood.IceParams:
        """The compiled likelihood's ``IceParams`` with these values."""
        p = _core.likelihood.IceParams()
        p.absorption_m = self.absorption_m
        p.tau_ns = self.tau_ns
        p.scattering_m = self.scattering_m
        p.n_phase = self.n_phase
        p.n_group = self.n_group
        p.c_m_per_ns = self.c_m_per_ns
        p.deff_coefficients = list(self.deff_coefficients)
        return p


DEFAULT_ICE = IceModel()
