"""Instrument models for releases that publish no smearing matrix.

The likelihood and the signal injection of :mod:`icecore.ps.model` consume a
:class:`~icecore.ps.irf.SmearingMatrix`. Releases without one publish less:

* the TXS 0506+056 release: A_eff(E_nu) at the source declination and the energy-proxy table of
  its Fig. S4, P(log10 E_mu,proxy | E_nu) (IC86, at delta ~ +5.7 deg);
* the IC86-2011 release: A_eff(E_nu, cos zenith) and a median angular resolution versus log10 E;
* the 10-year release folder here: A_eff(E_nu, delta) only (its smearing files are not present).

:func:`proxy_smearing` turns what a release does publish into a smearing table with the same
nesting, so that the rest of the code is unchanged. **The approximations, stated once:**

1. the energy response P(log10 E_reco | E_nu) is the published energy-proxy table (Fig. S4 of the
   TXS paper), used at every declination (one declination bin, -90..90 deg) and, for releases that
   publish none, borrowed from the TXS release -- it is IC86's response at the TXS declination;
2. the angular response is independent of the reconstructed energy: either (a) AngErr drawn from
   the season's own AngErr distribution (quantile bins) with the true-to-reconstructed distance psi
   Rayleigh-distributed with sigma = AngErr (i.e. AngErr taken as a calibrated 1-sigma error), or
   (b) from a median angular-resolution curve m(log10 E_nu): sigma = m / sqrt(2 ln 2) (the median
   of a 2-d Rayleigh), AngErr = sigma;
3. psi uses the small-angle Rayleigh law P(psi < x) = 1 - exp(-x^2 / 2 sigma^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .irf import SmearingMatrix

__all__ = ["EnergyProxyTable", "proxy_smearing", "PSI_EDGES_DEG", "RAYLEIGH_MEDIAN"]

PSI_EDGES_DEG = np.concatenate([[0.0], np.geomspace(0.02, 40.0, 48)])
"""Bin edges of the true-to-reconstructed distance psi in the proxy tables [deg]."""

RAYLEIGH_MEDIAN = math.sqrt(2.0 * math.log(2.0))
"""Median of a 2-d Rayleigh distribution in units of its sigma (1.1774)."""


@dataclass
class EnergyProxyTable:
    """A published energy-proxy response P(log10 E_reco | E_nu).

    Attributes
    ----------
    log10_e_true_edges : (n_t + 1,) array
        Neutrino-energy bin edges in log10(E_nu/GeV).
    log10_e_reco_edges : (n_r + 1,) array
        Energy-proxy bin edges in log10(E/GeV).
    prob : (n_t, n_r) array
        Probability of each proxy bin per true-energy bin (rows normalised to 1 on reading).
    path : str or None
    """

    log10_e_true_edges: np.ndarray
    log10_e_reco_edges: np.ndarray
    prob: np.ndarray
    path: str | None = None


def _rayleigh_cdf(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return 1.0 - np.exp(-0.5 * (x / sigma) ** 2)


def proxy_smearing(energy: EnergyProxyTable, *, angerr_sample_deg: np.ndarray | None = None,
                   psf_median: tuple[np.ndarray, np.ndarray] | None = None, n_angerr: int = 10,
                   path: str | None = None) -> SmearingMatrix:
    """A smearing table built from an energy-proxy table and an angular model (see the module notes).

    Parameters
    ----------
    energy : EnergyProxyTable
        The energy response.
    angerr_sample_deg : array, optional
        AngErr values [deg] of the season's events: model (a), quantile bins of this sample.
    psf_median : (log10_e, median_deg), optional
        Median angular resolution [deg] versus log10(E_nu/GeV): model (b), interpolated linearly in
        log10 E and held constant beyond the tabulated range.
    n_angerr : int
        Number of AngErr bins for model (a).
    path : str, optional
        Recorded as the table's origin.

    Returns
    -------
    SmearingMatrix
        With one declination bin (-90..90 deg).
    """
    if (angerr_sample_deg is None) == (psf_median is None):
        raise InputError("give exactly one of 'angerr_sample_deg' and 'psf_median'", "angerr_sample_deg")
    te = np.asarray(energy.log10_e_true_edges, dtype=np.float64)
    re = np.asarray(energy.log10_e_reco_edges, dtype=np.float64)
    nt, nr = len(te) - 1, len(re) - 1
    npsi = len(PSI_EDGES_DEG) - 1
    if angerr_sample_deg is not None:
        a = np.asarray(angerr_sample_deg, dtype=np.float64)
        a = a[np.isfinite(a) & (a > 0)]
        if a.size == 0:
            raise InputError("argument 'angerr_sample_deg': no positive value", "angerr_sample_deg")
        q = np.quantile(a, np.linspace(0.0, 1.0, n_angerr + 1))
        q[0] = max(q[0] * 0.999, 1e-3)
        q = np.maximum.accumulate(q + 1e-9 * np.arange(len(q)))  # strictly increasing
        na = n_angerr
        a_lo = np.broadcast_to(q[:-1], (nt, na)).copy()
        a_hi = np.broadcast_to(q[1:], (nt, na)).copy()
        p_a = np.full((nt, na), 1.0 / na)
    else:
        assert psf_median is not None
        x, m = (np.asarray(v, dtype=np.float64) for v in psf_median)
        order = np.argsort(x)
        ec = 0.5 * (te[1:] + te[:-1])
        sig = np.interp(ec, x[order], m[order]) / RAYLEIGH_MEDIAN
        na = 1
        a_lo = (sig * 0.999)[:, None]
        a_hi = (sig * 1.001)[:, None]
        p_a = np.ones((nt, 1))
    sigma = 0.5 * (a_lo + a_hi)  # (nt, na)
    cdf = _rayleigh_cdf(PSI_EDGES_DEG[None, None, :], sigma[:, :, None])  # (nt, na, npsi+1)
    cdf[..., -1] = 1.0  # everything beyond the last edge folded into the last bin
    p_psi = np.diff(cdf, axis=-1)  # (nt, na, npsi)
    ang = p_a[:, :, None] * p_psi  # (nt, na, npsi)
    ang = np.transpose(ang, (0, 2, 1))  # (nt, npsi, na)
    prob = np.asarray(energy.prob, dtype=np.float64)
    frac = prob[:, None, :, None, None] * ang[:, None, None, :, :]  # (nt, 1, nr, npsi, na)
    shape = (nt, 1, nr, npsi, na)
    reco_lo = np.broadcast_to(re[:-1], (nt, 1, nr)).copy()
    reco_hi = np.broadcast_to(re[1:], (nt, 1, nr)).copy()
    psi_lo = np.broadcast_to(PSI_EDGES_DEG[:-1], shape[:4]).copy()
    psi_hi = np.broadcast_to(PSI_EDGES_DEG[1:], shape[:4]).copy()
    alo = np.broadcast_to(a_lo[:, None, None, None, :], shape).copy()
    ahi = np.broadcast_to(a_hi[:, None, None, None, :], shape).copy()
    return SmearingMatrix(te, np.array([-90.0, 90.0]), reco_lo, reco_hi, psi_lo, psi_hi, alo, ahi,
                          np.ascontiguousarray(frac), path)
