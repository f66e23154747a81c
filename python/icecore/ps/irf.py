"""The instrument response functions of a public release: what they are, not how files store them.

* :class:`EffectiveArea` -- binned muon-neutrino effective area A_eff(E_nu, dec_nu) [cm^2];
* :class:`SmearingMatrix` -- the 5-d table P(log10 E_reco, psi, AngErr | E_nu, dec_nu).

Reading and writing the release files (``irfs/*_effectiveArea.csv``, ``irfs/*_smearing.csv``) is
done by :mod:`icecore.ps.io`; ``from_file``/``to_file`` below are shortcuts to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["EffectiveArea", "SmearingMatrix"]


@dataclass
class EffectiveArea:
    """A binned muon-neutrino effective area A_eff(E_nu, dec_nu).

    Attributes
    ----------
    log10_e_edges : (n_e + 1,) array
        Bin edges in log10(E_nu/GeV).
    dec_edges_deg : (n_dec + 1,) array
        Bin edges of the true neutrino declination in degrees.
    aeff_cm2 : (n_dec, n_e) array
        Bin-averaged effective area in cm^2.
    path : str or None
        File it was read from.
    """

    log10_e_edges: np.ndarray
    dec_edges_deg: np.ndarray
    aeff_cm2: np.ndarray
    path: str | None = None

    def dec_index(self, dec_deg: float | np.ndarray) -> np.ndarray:
        """Index of the declination bin holding ``dec_deg`` (upper edge belongs to the last bin)."""
        d = np.asarray(dec_deg, dtype=np.float64)
        idx = np.searchsorted(self.dec_edges_deg, d, side="right") - 1
        return np.clip(idx, 0, len(self.dec_edges_deg) - 2)

    def row(self, dec_deg: float) -> np.ndarray:
        """A_eff in cm^2 versus energy at the declination bin holding ``dec_deg``."""
        return self.aeff_cm2[int(self.dec_index(dec_deg))]

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> EffectiveArea:
        """Read ``*_effectiveArea.csv`` (see :func:`icecore.ps.io.read_effective_area`)."""
        from .io import read_effective_area

        return read_effective_area(path)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write in the release format (see :func:`icecore.ps.io.write_effective_area`)."""
        from .io import write_effective_area

        return write_effective_area(self, path)


@dataclass
class SmearingMatrix:
    """The 5-d smearing table P(log10 E_reco, psi, AngErr | E_nu, dec_nu) of a public release.

    Bins of the reconstructed quantities are nested: each (true energy, true declination) bin has
    its own reco-energy edges, each reco-energy bin its own PSF edges, each PSF bin its own AngErr
    edges. Bins of zero width are padding.

    Attributes
    ----------
    log10_e_true_edges : (n_t + 1,) array
    dec_true_edges_deg : (n_d + 1,) array
    reco_lo, reco_hi : (n_t, n_d, n_r) arrays, log10(E/GeV)
    psi_lo, psi_hi : (n_t, n_d, n_r, n_p) arrays, degrees
    angerr_lo, angerr_hi : (n_t, n_d, n_r, n_p, n_a) arrays, degrees
    frac : (n_t, n_d, n_r, n_p, n_a) array
        Fraction of the simulated events of each (true energy, true dec) bin in each cell.
    """

    log10_e_true_edges: np.ndarray
    dec_true_edges_deg: np.ndarray
    reco_lo: np.ndarray
    reco_hi: np.ndarray
    psi_lo: np.ndarray
    psi_hi: np.ndarray
    angerr_lo: np.ndarray
    angerr_hi: np.ndarray
    frac: np.ndarray
    path: str | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """(n_t, n_d, n_r, n_p, n_a)."""
        return tuple(self.frac.shape)

    def dec_index(self, dec_deg: float) -> int:
        """Index of the true-declination bin holding ``dec_deg``."""
        e = self.dec_true_edges_deg
        return int(np.clip(np.searchsorted(e, dec_deg, side="right") - 1, 0, len(e) - 2))

    def reco_energy_pdf(self, dec_idx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Marginal density of log10(E_reco) for every true-energy bin of a declination bin.

        Returns
        -------
        density : (n_t, n_r) array
            Fraction per unit log10 E in each reco bin (PSF and AngErr summed out).
        lo, hi : (n_t, n_r) arrays
            The reco bin edges.
        """
        lo = self.reco_lo[:, dec_idx]
        hi = self.reco_hi[:, dec_idx]
        w = hi - lo
        f = self.frac[:, dec_idx].sum(axis=(-2, -1))
        dens = np.zeros_like(f)
        np.divide(f, w, out=dens, where=w > 0)
        return dens, lo, hi

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SmearingMatrix:
        """Read ``*_smearing.csv`` (see :func:`icecore.ps.io.read_smearing`)."""
        from .io import read_smearing

        return read_smearing(path)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write in the release format (see :func:`icecore.ps.io.write_smearing`)."""
        from .io import write_smearing

        return write_smearing(self, path)
