"""Flux <-> expected signal events: the one implementation of the conversion.

For a power law ``Phi(E) = phi0 (E / e0)^-gamma`` [GeV^-1 cm^-2 s^-1] from a source at declination
delta, a season expects

    mu = phi0 * sum_k livetime [s] * A_eff(delta, k) [cm^2] * integral_k (E / e0)^-gamma dE [GeV]

events, with A_eff the bin of the effective-area table that contains delta and k its energy bins.
:func:`flux_to_mu` is that sum; :meth:`icecore.ps.model.SeasonModel.expected_signal`,
:meth:`icecore.ps.PointSourceAnalysis.flux2mu` / ``mu2flux`` / ``season_shares`` and the toy
detector's source injection all call it.
"""

from __future__ import annotations

import numpy as np

from .irf import EffectiveArea

__all__ = ["E0_DEFAULT", "powerlaw_integral", "flux_to_mu"]

E0_DEFAULT = 1000.0
"""Default reference energy e0 of the flux normalisation [GeV] (1 TeV)."""


def powerlaw_integral(e_lo: np.ndarray | float, e_hi: np.ndarray | float, gamma: float,
                      e0: float = E0_DEFAULT) -> np.ndarray:
    """Integral of (E/e0)^-gamma dE over [e_lo, e_hi] [GeV], exact (log form at gamma = 1)."""
    e_lo = np.asarray(e_lo, dtype=np.float64)
    e_hi = np.asarray(e_hi, dtype=np.float64)
    g = 1.0 - gamma
    if abs(g) < 1e-9:
        return e0 * np.log(e_hi / e_lo)
    return e0 * ((e_hi / e0) ** g - (e_lo / e0) ** g) / g


def flux_to_mu(aeff: EffectiveArea, livetime_s: float, dec_deg: float, phi0: float, gamma: float,
               e0: float = E0_DEFAULT, e_range: tuple[float, float] | None = None) -> float:
    """Expected signal events of one season for ``Phi(E) = phi0 (E/e0)^-gamma``.

    Parameters
    ----------
    aeff : EffectiveArea
        The season's effective area; its declination bin holding ``dec_deg`` is used.
    livetime_s : float
        Livetime [s].
    dec_deg : float
        Source declination [deg].
    phi0 : float
        Flux normalisation at ``e0`` [GeV^-1 cm^-2 s^-1] (1 gives the events per unit flux).
    gamma : float
        Spectral index.
    e0 : float
        Reference energy [GeV].
    e_range : (float, float), optional
        Clip the neutrino energies to this range [GeV].

    Returns
    -------
    float
        ``phi0 * sum_k (livetime * A_eff,k) * integral_k (E/e0)^-gamma dE``.
    """
    lo = 10.0 ** aeff.log10_e_edges[:-1]
    hi = 10.0 ** aeff.log10_e_edges[1:]
    if e_range is not None:
        lo = np.clip(lo, *e_range)
        hi = np.clip(hi, *e_range)
    ok = hi > lo
    integ = np.zeros_like(lo)
    integ[ok] = powerlaw_integral(lo[ok], hi[ok], gamma, e0)
    acceptance = livetime_s * aeff.row(dec_deg)  # [cm^2 s] per energy bin
    return float(phi0 * np.sum(acceptance * integ))
