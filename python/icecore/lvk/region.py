"""The search region: the pixels of a rasterised GW map that the searches loop over."""

from __future__ import annotations

from dataclasses import dataclass

import healpy as hp
import numpy as np

from ..errors import InputError
from .skymap import FlatMap, SkyMap

__all__ = ["SearchRegion"]


@dataclass(frozen=True)
class SearchRegion:
    """Pixels (NESTED, one nside) holding ``containment`` of the GW probability.

    Attributes
    ----------
    nside : int
    ipix : ndarray of int64
        NESTED pixel indices.
    ra_deg, dec_deg : ndarray
        Pixel centres [deg].
    prob : ndarray
        GW probability per pixel, renormalised to 1 over the region.
    log_prior : ndarray
        2 ln(P_GW(pix) / max P_GW), the generic search's spatial prior term.
    in90 : ndarray of bool
        Pixels of the 90 % credible region.
    distmu, distsigma : ndarray or None
        Distance ansatz per pixel [Mpc].
    """

    nside: int
    ipix: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    prob: np.ndarray
    log_prior: np.ndarray
    in90: np.ndarray
    distmu: np.ndarray | None
    distsigma: np.ndarray | None
    containment: float

    @classmethod
    def from_map(cls, skymap: SkyMap | FlatMap, *, nside: int = 256, containment: float = 0.999) -> SearchRegion:
        """Rasterise ``skymap`` to ``nside`` and keep its greedy ``containment`` credible region."""
        if not 0.9 <= containment <= 1.0:
            raise InputError(f"argument 'containment': must be in [0.9, 1], got {containment}", "containment")
        flat = skymap.rasterize(nside) if isinstance(skymap, SkyMap) else skymap
        if flat.nside != nside:
            raise InputError(f"argument 'nside': the flat map has nside {flat.nside}, not {nside}", "nside")
        prob = flat.prob
        ipix = flat.credible_region(containment)
        ipix = ipix[prob[ipix] > 0]
        in90 = np.isin(ipix, flat.credible_region(0.9))
        p = prob[ipix] / prob[ipix].sum()
        ra, dec = hp.pix2ang(nside, ipix, nest=True, lonlat=True)
        dm = ds = None
        if flat.has_distance:
            dm = np.asarray(flat.distmu)[ipix]
            ds = np.asarray(flat.distsigma)[ipix]
        return cls(nside=nside, ipix=ipix, ra_deg=np.asarray(ra), dec_deg=np.asarray(dec), prob=p,
                   log_prior=2.0 * np.log(p / p.max()), in90=in90, distmu=dm, distsigma=ds,
                   containment=float(containment))

    @property
    def n_pixels(self) -> int:
        return int(self.ipix.size)

    def area90_deg2(self) -> float:
        return float(self.in90.sum() * hp.nside2pixarea(self.nside, degrees=True))
