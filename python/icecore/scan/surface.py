"""The statistic surface that contours are drawn on: pixel values plus local curvature.

Why not plain bilinear interpolation
------------------------------------
A scan knows 2Δ(−ln L) only at pixel centres. ``healpy.get_interp_val`` interpolates
bilinearly between the four nearest centres; on a convex surface (any minimum) a linear
interpolant lies *above* the function between its nodes, by up to ``h² f'' / 8`` for a node
spacing ``h``. For a sharp event whose 50 % contour is only a few nside-512 pixels across (a
Gaussian-like 2Δ = (r/σ)² with σ ≈ 0.1 deg against h ≈ 0.11 deg) that bias is of the order of
the critical value itself, and the contour as drawn is too small: on 500 simulated scan maps
(``tools/scan_maps_coverage.py --seed 2030``, SIMULATION, mismatch on, the default per-event
levels) the per-event 50 % contour held the truth in 42.4 ± 2.2 % of events with bilinear
interpolation, the 90 % one in 89.2 ± 1.4 %.

The rule here
-------------
Every pixel ``p`` of the finest scanned level gets a local quadratic

    Q_p(x, y) = v_p + a x + b y + c x² + d x y + e y²

in the gnomonic tangent plane at its centre (x, y in units of the pixel spacing
``healpy.nside2resol(nside)``), fitted by least squares to the values of the finest-level
pixels whose centres lie within :data:`QUADRATIC_RADIUS` spacings (the pixel's ring of 8
neighbours); ``v_p`` is the pixel's own value, so the surface passes through every scanned
value. A pixel with fewer than :data:`QUADRATIC_MIN_POINTS` such pixels (itself included; at
the edge of the finest region) or a singular fit keeps ``Q_p = v_p``. The value at a point is
the bilinear blend of the four nearest pixels' functions with healpy's interpolation weights,
``Σ_k w_k Q_k``: continuous, equal to ``healpy.get_interp_val`` where no quadratic applies
(coarser levels, which fill the map as in :func:`~.contours.finest_map`), and exact for a
quadratic surface. With it the same 500 maps hold the truth in 50.8 ± 2.2 % / 90.0 ± 1.3 %.

NaN policy: as ``healpy.get_interp_val`` (a non-finite value among the four pixels gives a
non-finite result, which contours treat as outside).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import healpy as hp
import numpy as np

from ..errors import InputError

__all__ = ["StatisticSurface", "quadratic_surface", "QUADRATIC_RADIUS", "QUADRATIC_MIN_POINTS", "INTERPOLATIONS"]

#: Neighbourhood of a pixel's local quadratic: centres within this many pixel spacings.
QUADRATIC_RADIUS = 1.6

#: Fewest finest-level pixels (the pixel itself included) for a local quadratic (5 coefficients).
QUADRATIC_MIN_POINTS = 7

#: Interpolation rules of the drawn statistic (``"quadratic"``: this module; ``"bilinear"``: healpy).
INTERPOLATIONS = ("quadratic", "bilinear")


def _tangent_basis(vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit east and north vectors (n, 3) at unit vectors ``vec`` (n, 3)."""
    east = np.stack([-vec[:, 1], vec[:, 0], np.zeros(len(vec))], axis=1)
    norm = np.linalg.norm(east, axis=1)
    east = np.where(norm[:, None] > 1e-12, east / np.maximum(norm, 1e-300)[:, None], [[1.0, 0.0, 0.0]])
    north = np.cross(vec, east)
    return east, north


def _design(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([x, y, x * x, x * y, y * y], axis=-1)


@dataclass(frozen=True)
class StatisticSurface:
    """A full-sky NESTED statistic map with a local quadratic on each finest-level pixel.

    Attributes
    ----------
    smap : ndarray
        The full-sky NESTED map (12 nside² values) at the finest nside, e.g. 2Δ(−ln L).
    pixels : (n,) int64
        Sorted NESTED pixels that carry a quadratic.
    coefs : (n, 5) float
        Their coefficients (a, b, c, d, e) of ``Q_p - v_p`` in pixel-spacing units.
    """

    smap: np.ndarray
    pixels: np.ndarray
    coefs: np.ndarray

    @property
    def nside(self) -> int:
        return int(round(np.sqrt(self.smap.size / 12.0)))

    def __call__(self, theta: Any, phi: Any) -> np.ndarray:
        """Values at colatitudes ``theta`` and longitudes ``phi`` (radians); shape of ``theta``."""
        theta = np.asarray(theta, dtype=float)
        phi = np.asarray(phi, dtype=float)
        if not np.all(np.isfinite(theta)) or np.any((theta < 0) | (theta > np.pi)):
            raise InputError("argument 'theta': colatitudes must be finite and within [0, pi] radians", "theta")
        if not np.all(np.isfinite(phi)):
            raise InputError("argument 'phi': longitudes must be finite (radians)", "phi")
        shape = np.broadcast(theta, phi).shape
        th, ph = np.broadcast_to(theta, shape).ravel(), np.broadcast_to(phi, shape).ravel()
        nside = self.nside
        ip, w = hp.get_interp_weights(nside, th, ph, nest=True)  # (4, m)
        vals = self.smap[ip].astype(float)
        if self.pixels.size:
            q = hp.ang2vec(th, ph).reshape(-1, 3)
            spacing = hp.nside2resol(nside)
            pos = np.searchsorted(self.pixels, ip)
            pos = np.minimum(pos, self.pixels.size - 1)
            has = self.pixels[pos] == ip
            for k in range(ip.shape[0]):
                sel = np.flatnonzero(has[k])
                if sel.size == 0:
                    continue
                c = np.asarray(hp.pix2vec(nside, ip[k, sel], nest=True)).T
                east, north = _tangent_basis(c)
                qv = q[sel]
                dot = np.sum(qv * c, axis=1)
                safe = np.where(dot > 0, dot, 1.0) * spacing
                x = np.sum(qv * east, axis=1) / safe
                y = np.sum(qv * north, axis=1) / safe
                corr = np.einsum("ij,ij->i", _design(x, y), self.coefs[pos[k, sel]])
                vals[k, sel] = vals[k, sel] + np.where(dot > 0, corr, np.nan)
        out = np.sum(w * vals, axis=0)
        return out.reshape(shape)


def quadratic_surface(smap: np.ndarray, fine_pixels: Any, *, radius: float = QUADRATIC_RADIUS,
                      min_points: int = QUADRATIC_MIN_POINTS) -> StatisticSurface:
    """Fit the local quadratics of the finest-level pixels of a statistic map (see the module rule).

    Parameters
    ----------
    smap : ndarray
        Full-sky NESTED map at the finest nside (e.g. ``ScanResult.statistic_map("2dllh")``).
    fine_pixels : array of int
        NESTED pixels scanned at that nside (others only fill the map from coarser levels).
    radius : float
        Neighbourhood radius in pixel spacings (``healpy.nside2resol``), > 1 and <= 2.5.
    min_points : int
        Fewest pixels (itself included) for a quadratic, >= 6.
    """
    smap = np.asarray(smap, dtype=float)
    npix = smap.size
    nside = int(round(np.sqrt(npix / 12.0)))
    if smap.ndim != 1 or nside < 1 or 12 * nside * nside != npix:
        raise InputError(f"argument 'smap': expected a full-sky HEALPix map, got shape {smap.shape}", "smap")
    if not 1.0 < float(radius) <= 2.5:
        raise InputError(f"argument 'radius': must be in (1, 2.5] pixel spacings, got {radius}", "radius")
    if int(min_points) < 6:
        raise InputError(f"argument 'min_points': must be >= 6, got {min_points}", "min_points")
    raw = np.asarray(fine_pixels)
    if raw.ndim != 1 or (raw.size and not np.issubdtype(raw.dtype, np.integer)):
        raise InputError(f"argument 'fine_pixels': expected a 1-D array of integer NESTED pixels, got "
                         f"shape {raw.shape} dtype {raw.dtype}", "fine_pixels")
    fine = np.unique(raw.astype(np.int64))
    if fine.size and (fine[0] < 0 or fine[-1] >= npix):
        raise InputError(f"argument 'fine_pixels': must be NESTED pixels of nside {nside}", "fine_pixels")
    fine = fine[np.isfinite(smap[fine])]
    empty = StatisticSurface(smap, np.zeros(0, np.int64), np.zeros((0, 5)))
    if fine.size < min_points:
        return empty
    usable = np.zeros(npix, dtype=bool)
    usable[fine] = True
    n1 = hp.get_all_neighbours(nside, fine, nest=True)                   # (8, n)
    n2 = hp.get_all_neighbours(nside, np.where(n1 >= 0, n1, 0).ravel(), nest=True).reshape(8, 8, -1)
    n2 = np.where((n1 >= 0)[None, :, :], n2, -1).reshape(64, -1)
    cand = np.sort(np.concatenate([n1, n2], axis=0).T, axis=1)           # (n, 72)
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    ok = (cand >= 0) & ~dup & (cand != fine[:, None])
    ok &= usable[np.where(cand >= 0, cand, 0)]
    c = np.asarray(hp.pix2vec(nside, fine, nest=True)).T                 # (n, 3)
    east, north = _tangent_basis(c)
    v = np.moveaxis(np.asarray(hp.pix2vec(nside, np.where(ok, cand, 0), nest=True)), 0, -1)  # (n, 72, 3)
    dot = np.einsum("ijk,ik->ij", v, c)
    safe = np.where(dot > 0, dot, 1.0) * hp.nside2resol(nside)
    x = np.einsum("ijk,ik->ij", v, east) / safe
    y = np.einsum("ijk,ik->ij", v, north) / safe
    ok &= (dot > 0) & (x * x + y * y <= float(radius) ** 2)
    count = ok.sum(axis=1) + 1
    A = _design(x, y) * ok[..., None]                                    # (n, 72, 5)
    b = np.where(ok, smap[np.where(ok, cand, 0)] - smap[fine][:, None], 0.0)
    M = np.einsum("ijk,ijl->ikl", A, A)
    r = np.einsum("ijk,ij->ik", A, b)
    enough = count >= int(min_points)
    cond = np.full(fine.size, np.inf)
    if enough.any():
        cond[enough] = np.linalg.cond(M[enough])
    good = enough & (cond < 1e8)
    if not good.any():
        return empty
    coefs = np.linalg.solve(M[good], r[good][..., None])[..., 0]
    return StatisticSurface(smap, fine[good], coefs)
