"""Ice model of the Pandel likelihood (IceCube's standard "H2" bulk-ice defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["IceModel", "DEFAULT_ICE"]


@dataclass(frozen=True)
class IceModel:
    """Pandel ice parameters.

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

    absorption_m: float = 98.0
    tau_ns: float = 556.7
    scattering_m: float = 33.29
    n_phase: float = 1.3195
    n_group: float = 1.35634
    c_m_per_ns: float = 0.299792458
    deff_coefficients: tuple[float, float, float, float] = field(default=(3.094, 0.8395, -3.946, 4.636))

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
        """Pandel rate 1/tau + c/(n_group lambda_a) in 1/ns."""
        return 1.0 / self.tau_ns + self.c_m_per_ns / (self.n_group * self.absorption_m)

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

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the compiled likelihood."""
        return dict(
            absorption_m=self.absorption_m,
            tau_ns=self.tau_ns,
            scattering_m=self.scattering_m,
            n_phase=self.n_phase,
            n_group=self.n_group,
            c_m_per_ns=self.c_m_per_ns,
            deff_coefficients=list(self.deff_coefficients),
        )


DEFAULT_ICE = IceModel()
