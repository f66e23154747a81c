"""GW sky maps: flat and multi-order HEALPix maps in one representation.

Every map is held as a multi-order (NUNIQ) list of pixels, the representation LVK itself
distributes since O3: a flat map of any nside is the special case where all pixels have one
order. :class:`SkyMap` keeps, per pixel, the probability density [1/sr] and, when the file has
them, the distance ansatz layers DISTMU [Mpc], DISTSIGMA [Mpc], DISTNORM [1/Mpc^2]
(Singer et al. 2016, ApJL 829 L15: p(r | n) = DISTNORM r^2 N(r; DISTMU, DISTSIGMA)).

Reading uses astropy.io.fits and the HEALPix arithmetic of healpy (both core dependencies of
icecore), not ligo.skymap: ligo.skymap pulls in lalsuite and a dozen other packages, too much for
a core dependency; it serves as the independent oracle in the tests instead.

Credible regions follow the greedy definition (pixels sorted by decreasing density, the region
is the smallest set holding the requested probability), computed on the multi-order pixels
themselves so that no resolution is lost.
"""

from __future__ import annotations

import base64
import gzip
import io
import os
from dataclasses import dataclass, field
from typing import Any

import healpy as hp
import numpy as np

from ..errors import DataFormatError, InputError

__all__ = ["SkyMap", "read_skymap", "uniq_to_order_ipix", "order_ipix_to_uniq"]

_FOUR_PI = 4.0 * np.pi
_MAX_ORDER = 29


def uniq_to_order_ipix(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split NUNIQ indices into (order, NESTED pixel index); uniq = 4 * 4**order + ipix."""
    uniq = np.asarray(uniq, dtype=np.int64)
    if uniq.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lo, hi = int(uniq.min()), int(uniq.max())
    if lo < 4:
        raise DataFormatError("UNIQ values must be >= 4")
    o = (lo.bit_length() - 3) // 2
    if hi < 1 << (2 * o + 4):  # every pixel at one order (a flat map): no per-pixel bit arithmetic
        return np.full(uniq.size, o, dtype=np.int64), uniq - (1 << (2 * o + 2))
    _, exp = np.frexp(uniq.astype(np.float64))  # uniq ~ m 2**exp, m in [0.5, 1): bit length = exp
    bits = exp.astype(np.uint64)
    u = uniq.astype(np.uint64)
    # float rounding may round up to the next power of two (uniq > 2**53): then 2**(bits-1) > uniq
    bits = np.where(np.left_shift(np.uint64(1), bits - np.uint64(1)) > u, bits - np.uint64(1), bits)
    order = (bits.astype(np.int64) - 3) // 2
    ipix = uniq - np.left_shift(np.int64(1), 2 * order + 2)
    return order, ipix


def order_ipix_to_uniq(order: np.ndarray, ipix: np.ndarray) -> np.ndarray:
    """NUNIQ index of (order, NESTED ipix)."""
    order = np.asarray(order, dtype=np.int64)
    return np.left_shift(np.int64(1), 2 * order + 2) + np.asarray(ipix, dtype=np.int64)


@dataclass(frozen=True)
class SkyMap:
    """A HEALPix probability map (multi-order representation; equatorial, J2000).

    Attributes
    ----------
    uniq : ndarray of int64
        NUNIQ pixel indices (NESTED scheme).
    probdensity : ndarray of float64
        Probability density per pixel [1/sr]; sum(probdensity * pixel area) == 1.
    distmu, distsigma, distnorm : ndarray or None
        Distance ansatz per pixel [Mpc, Mpc, 1/Mpc^2], when the map has a distance layer.
    meta : dict
        Header facts: ``object``, ``distmean``/``diststd`` [Mpc], ``instruments``, ``source``.
    """

    uniq: np.ndarray
    probdensity: np.ndarray
    distmu: np.ndarray | None = None
    distsigma: np.ndarray | None = None
    distnorm: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- basic properties -----------------------------------------------------------------------
    def __post_init__(self) -> None:
        order, ipix = uniq_to_order_ipix(self.uniq)
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_ipix", ipix)

    @property
    def order(self) -> np.ndarray:
        """HEALPix order (log2 nside) of each pixel."""
        return self._order  # type: ignore[attr-defined]

    @property
    def ipix(self) -> np.ndarray:
        """NESTED index of each pixel at its own order."""
        return self._ipix  # type: ignore[attr-defined]

    @property
    def pixel_area_sr(self) -> np.ndarray:
        """Area of each pixel [sr]."""
        return _FOUR_PI / (12.0 * (4.0 ** self.order.astype(np.float64)))

    @property
    def prob(self) -> np.ndarray:
        """Probability contained in each pixel."""
        return self.probdensity * self.pixel_area_sr

    @property
    def max_order(self) -> int:
        return int(self.order.max())

    @property
    def has_distance(self) -> bool:
        return self.distmu is not None and self.distsigma is not None

    # -- credible regions -------------------------------------------------------------------------
    def credible_levels(self) -> np.ndarray:
        """Greedy credible level of each pixel (the probability inside the region it closes)."""
        order = np.argsort(-self.probdensity, kind="stable")
        cum = np.cumsum(self.prob[order])
        levels = np.empty_like(cum)
        levels[order] = cum
        return levels

    def credible_area_deg2(self, level: float = 0.9) -> float:
        """Area of the greedy ``level`` credible region [deg^2] (level in (0, 1])."""
        if not 0.0 < level <= 1.0:
            raise InputError(f"argument 'level': must be in (0, 1], got {level}", "level")
        order = np.argsort(-self.probdensity, kind="stable")
        cum = np.cumsum(self.prob[order])
        n = int(np.searchsorted(cum, level * cum[-1], side="left")) + 1
        n = min(n, cum.size)
        return float(self.pixel_area_sr[order[:n]].sum() * (180.0 / np.pi) ** 2)

    # -- resampling -------------------------------------------------------------------------------
    def rasterize(self, nside: int) -> FlatMap:
        """Flat NESTED map at ``nside``: probabilities summed (finer pixels) or split (coarser).

        Distance layers are combined by probability-weighted averages of DISTMU and DISTSIGMA and
        DISTNORM (exact when the pixels merged share a distance ansatz; an approximation otherwise).
        """
        if nside < 1 or nside & (nside - 1) or nside > 2**_MAX_ORDER:
            raise InputError(f"argument 'nside': must be a power of two, got {nside}", "nside")
        target = int(np.log2(nside))
        order, ipix = self.order, self.ipix
        npix = 12 * nside * nside
        prob_out = np.zeros(npix)
        layers = [x for x in (self.distmu, self.distsigma, self.distnorm) if x is not None]
        acc = [np.zeros(npix) for _ in layers]
        p = self.prob
        wts = [np.where(np.isfinite(lay), p, 0.0) for lay in layers]
        vals = [np.where(np.isfinite(lay), lay, 0.0) for lay in layers]
        wacc = [np.zeros(npix) for _ in layers]
        coarse = order >= target
        # finer (or equal) pixels: add into their parent at the target order
        parent = ipix[coarse] >> (2 * (order[coarse] - target))
        prob_out += np.bincount(parent, p[coarse], minlength=npix)
        for a, wa, w, v in zip(acc, wacc, wts, vals):
            a += np.bincount(parent, w[coarse] * v[coarse], minlength=npix)
            wa += np.bincount(parent, w[coarse], minlength=npix)
        # coarser pixels: split among children at the target order
        fine = ~coarse
        if np.any(fine):
            shift = 2 * (target - order[fine])
            counts = np.left_shift(np.int64(1), shift)
            starts = np.cumsum(counts) - counts
            offsets = np.arange(int(counts.sum())) - np.repeat(starts, counts)
            child = np.repeat(ipix[fine] << shift, counts) + offsets
            share = np.repeat(1.0 / counts, counts)
            prob_out += np.bincount(child, np.repeat(p[fine], counts) * share, minlength=npix)
            for a, wa, w, v in zip(acc, wacc, wts, vals):
                wc = np.repeat(w[fine], counts) * share
                a += np.bincount(child, wc * np.repeat(v[fine], counts), minlength=npix)
                wa += np.bincount(child, wc, minlength=npix)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = [np.where(wa > 0, a / wa, np.inf) for a, wa in zip(acc, wacc)]
        dist: list[np.ndarray | None] = [None, None, None]
        k = 0
        for j, x in enumerate((self.distmu, self.distsigma, self.distnorm)):
            if x is not None:
                dist[j] = means[k]
                k += 1
        return FlatMap(nside=nside, prob=prob_out, distmu=dist[0], distsigma=dist[1], distnorm=dist[2],
                       meta=dict(self.meta))

    # -- distance ---------------------------------------------------------------------------------
    def distance_pdf(self, ra_deg: float, dec_deg: float, r_mpc: Any) -> np.ndarray:
        """Conditional distance posterior p(r | direction) [1/Mpc] at the given direction."""
        if not self.has_distance:
            raise InputError("this sky map has no distance layer (DISTMU, DISTSIGMA)", "r_mpc")
        order, ipix = self.order, self.ipix
        k = _find_pixel(order, ipix, ra_deg, dec_deg)
        mu, sig = float(self.distmu[k]), float(self.distsigma[k])  # type: ignore[index]
        norm = None if self.distnorm is None else float(self.distnorm[k])
        return distance_ansatz_pdf(np.asarray(r_mpc, dtype=float), mu, sig, norm)

    def density_at(self, ra_deg: Any, dec_deg: Any) -> np.ndarray:
        """Probability density [1/sr] at the given directions."""
        order, ipix = self.order, self.ipix
        ra = np.atleast_1d(np.asarray(ra_deg, dtype=float))
        dec = np.atleast_1d(np.asarray(dec_deg, dtype=float))
        return np.array([self.probdensity[_find_pixel(order, ipix, a, d)] for a, d in zip(ra, dec)])

    def max_direction_deg(self) -> tuple[float, float]:
        """(RA, Dec) [deg] of the densest pixel's centre."""
        k = int(np.argmax(self.probdensity))
        ra, dec = hp.pix2ang(2 ** int(self.order[k]), int(self.ipix[k]), nest=True, lonlat=True)
        return float(ra), float(dec)


@dataclass(frozen=True)
class FlatMap:
    """A flat NESTED HEALPix map: probability per pixel (sums to 1) and optional distance layers."""

    nside: int
    prob: np.ndarray
    distmu: np.ndarray | None = None
    distsigma: np.ndarray | None = None
    distnorm: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def has_distance(self) -> bool:
        return self.distmu is not None and self.distsigma is not None

    def credible_region(self, level: float = 0.9) -> np.ndarray:
        """NESTED indices of the pixels of the greedy ``level`` credible region."""
        order = np.argsort(-self.prob, kind="stable")
        cum = np.cumsum(self.prob[order])
        n = min(int(np.searchsorted(cum, level * cum[-1], side="left")) + 1, cum.size)
        return np.sort(order[:n])

    def credible_area_deg2(self, level: float = 0.9) -> float:
        return float(self.credible_region(level).size * hp.nside2pixarea(self.nside, degrees=True))


def distance_ansatz_pdf(r: np.ndarray, mu: Any, sigma: Any, norm: Any = None) -> np.ndarray:
    """p(r) = norm r^2 N(r; mu, sigma) for r >= 0 [1/Mpc]; ``norm`` computed when None."""
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    r = np.asarray(r, dtype=float)
    if norm is None:
        norm = 1.0 / _ansatz_r2_integral(mu, sigma)
    g = np.exp(-0.5 * ((r - mu) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    return np.where(r >= 0, norm * r * r * g, 0.0)


def _ansatz_r2_integral(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Integral over r >= 0 of r^2 N(r; mu, sigma)."""
    from scipy.special import ndtr

    a = mu / sigma
    phi = np.exp(-0.5 * a * a) / np.sqrt(2 * np.pi)
    return (mu * mu + sigma * sigma) * ndtr(a) + mu * sigma * phi


def _find_pixel(order: np.ndarray, ipix: np.ndarray, ra_deg: float, dec_deg: float) -> int:
    for o in np.unique(order):
        p = hp.ang2pix(2 ** int(o), float(ra_deg), float(dec_deg), nest=True, lonlat=True)
        hit = np.nonzero((order == o) & (ipix == p))[0]
        if hit.size:
            return int(hit[0])
    raise InputError(f"direction ({ra_deg}, {dec_deg}) is not covered by the sky map", "ra_deg")


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------

_PROB_NAMES = ("PROB", "PROBABILITY", "PROBDENSITY")


def read_skymap(source: str | os.PathLike[str] | bytes) -> SkyMap:
    """Read a flat or multi-order HEALPix FITS sky map.

    Parameters
    ----------
    source : path or bytes
        A FITS file (optionally gzip-compressed), or its bytes (e.g. decoded from the base64
        ``skymap`` of an igwn.gwalert Kafka notice).

    Flat maps: column PROB (or PROBABILITY) [per pixel], optional DISTMU, DISTSIGMA, DISTNORM;
    ORDERING RING or NESTED; any nside; scalar or vector ("1024E") columns. Multi-order maps:
    UNIQ and PROBDENSITY [1/sr] (+ distance columns).

    Raises
    ------
    DataFormatError
        When the file is not a HEALPix probability map.
    """
    from astropy.io import fits

    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        fobj: Any = io.BytesIO(data)
        label = "<bytes>"
    else:
        fobj = os.fspath(source)
        label = fobj
    try:
        with fits.open(fobj, memmap=False) as hdul:
            hdu = next((h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)), None)
            if hdu is None:
                raise DataFormatError(f"{label}: no binary table extension (not a HEALPix map)")
            header = hdu.header
            names = [n.upper() for n in hdu.columns.names]
            cols = {n.upper(): np.asarray(hdu.data[n]) for n in hdu.columns.names}
            meta = _meta(hdul[0].header, header, label)
            if "UNIQ" in names:
                return _from_multiorder(cols, meta, label)
            return _from_flat(cols, names, header, meta, label)
    except OSError as exc:
        raise DataFormatError(f"{label}: cannot read FITS ({exc})") from None


def read_skymap_base64(text: str | bytes) -> SkyMap:
    """Read a sky map embedded in base64 (the igwn.gwalert Kafka ``skymap`` field)."""
    try:
        raw = base64.b64decode(text, validate=False)
    except Exception as exc:  # binascii.Error
        raise DataFormatError(f"skymap: invalid base64 ({exc})") from None
    return read_skymap(raw)


def _meta(h0: Any, h1: Any, label: str) -> dict[str, Any]:
    def get(key: str) -> Any:
        for h in (h1, h0):
            if key in h:
                v = h[key]
                return v.item() if hasattr(v, "item") else v
        return None

    return {
        "object": get("OBJECT"),
        "distmean": get("DISTMEAN"),
        "diststd": get("DISTSTD"),
        "instruments": get("INSTRUME"),
        "date_obs": get("DATE-OBS"),
        "mjd_obs": get("MJD-OBS"),
        "creator": get("CREATOR"),
        "source": label,
    }


def _from_multiorder(cols: dict[str, np.ndarray], meta: dict[str, Any], label: str) -> SkyMap:
    if "PROBDENSITY" not in cols:
        raise DataFormatError(f"{label}: multi-order map without PROBDENSITY (a MOC is not a probability map)")
    uniq = cols["UNIQ"].astype(np.int64).ravel()
    dens = cols["PROBDENSITY"].astype(np.float64).ravel()
    return _finish(uniq, dens, cols, meta, label)


def _from_flat(cols: dict[str, np.ndarray], names: list[str], header: Any, meta: dict[str, Any], label: str) -> SkyMap:
    pname = next((n for n in _PROB_NAMES if n in names), names[0] if names else None)
    if pname is None:
        raise DataFormatError(f"{label}: no columns")
    prob = cols[pname].astype(np.float64).ravel()
    npix = prob.size
    nside = hp.npix2nside(npix) if hp.isnpixok(npix) else None
    if nside is None:
        raise DataFormatError(f"{label}: {npix} pixels is not a full-sky HEALPix map")
    ordering = str(header.get("ORDERING", "NESTED")).strip().upper()
    if ordering not in ("NESTED", "RING"):
        raise DataFormatError(f"{label}: unsupported ORDERING {ordering!r}")
    layers: dict[str, np.ndarray] = {
        k: cols[k].astype(np.float64).ravel() for k in ("DISTMU", "DISTSIGMA", "DISTNORM") if k in cols}
    if ordering == "RING":
        prob = hp.reorder(prob, r2n=True)
        layers = {k: hp.reorder(v, r2n=True) for k, v in layers.items()}
    prob = np.where(np.isfinite(prob) & (prob > 0), prob, 0.0)
    order = int(np.log2(nside))
    uniq = order_ipix_to_uniq(np.full(npix, order), np.arange(npix))
    dens = prob / hp.nside2pixarea(nside)
    return _finish(uniq, dens, layers, meta, label)


def _finish(uniq: np.ndarray, dens: np.ndarray, cols: dict[str, np.ndarray], meta: dict[str, Any],
            label: str) -> SkyMap:
    dens = np.where(np.isfinite(dens) & (dens > 0), dens, 0.0)
    order, _ = uniq_to_order_ipix(uniq)
    area = _FOUR_PI / (12.0 * 4.0 ** order.astype(np.float64))
    total = float(np.sum(dens * area))
    if not total > 0:
        raise DataFormatError(f"{label}: the probability map is empty or not positive")
    dens = dens / total

    def layer(k: str) -> np.ndarray | None:
        v = cols.get(k)
        if v is None:
            return None
        v = np.asarray(v, dtype=np.float64).ravel()
        return v if v.size == uniq.size else None

    mu, sig, norm = layer("DISTMU"), layer("DISTSIGMA"), layer("DISTNORM")
    if mu is not None and sig is not None and norm is None:
        good = np.isfinite(mu) & np.isfinite(sig) & (sig > 0)
        norm = np.full(mu.size, np.nan)
        norm[good] = 1.0 / _ansatz_r2_integral(mu[good], sig[good])
    return SkyMap(uniq=uniq, probdensity=dens, distmu=mu, distsigma=sig, distnorm=norm, meta=meta)
