"""ScanResult: the evaluated pixels of a sky scan and what is derived from them in memory.

Pixels are kept in HEALPix NESTED ordering on the equatorial sky (theta = 90 deg - Dec,
phi = RA). Maps, contours, areas and the JSON summary are computed here; files are written and
read elsewhere: the icecube-skyreader npz/json format in :mod:`icecore.scan.skyreader`, the
HEALPix FITS map and the other products in :mod:`icecore.scan.products`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from . import contours as _c
from .healpix import pix2ang_nest
from .surface import INTERPOLATIONS, quadratic_surface

__all__ = ["ScanResult", "ContourSet", "DEFAULT_CONVENTIONS"]

log = logging.getLogger(__name__)

#: Conventions reported by default (summaries, products, the CLI).
DEFAULT_CONVENTIONS: tuple[str, ...] = ("wilks", "icecube-calibrated")


@dataclass
class ContourSet:
    """Contours of one convention: areas (deg²), polygons (ra, dec deg) and the 90 % rectangle."""

    convention: _c.CriticalValues
    areas_deg2: dict[str, float]
    polygons: dict[str, list[np.ndarray]]
    rectangle: dict[str, _c.Rectangle]

    def as_dict(self) -> dict[str, Any]:
        return {
            "convention": self.convention.as_dict(),
            "areas_deg2": {k: float(v) for k, v in self.areas_deg2.items()},
            "rectangles": {k: r.as_dict() for k, r in self.rectangle.items()},
            "polygons": {k: [p.round(5).tolist() for p in v] for k, v in self.polygons.items()},
        }


@dataclass
class ScanResult:
    """The pixels of a multi-resolution sky scan.

    Attributes
    ----------
    nside, pixel : (n,) int64
        HEALPix nside and NESTED pixel number of each evaluated pixel (equatorial sky).
    neg_llh : (n,) float
        −ln L of the best vertex fit at that fixed direction (smaller is better).
    vertex : (n, 4) float
        Fitted vertex (x, y, z m; t ns), NaN where unknown.
    n_eval, status : (n,) int
        Likelihood evaluations and fit status (0 = converged; -1 = unknown).
    energy_in, energy_tot : (n,) float
        Deposited energies (GeV) where known (skyreader's E_in/E_tot), else 0.
    meta : dict
        run_id, event_id, event_type, mjd, is_real_event.
    info : dict
        Scan settings and timings (nsides, extensions, pixels per level, rounds, wall_s,
        cpu_s_this_process); empty for results read from files.
    """

    nside: np.ndarray
    pixel: np.ndarray
    neg_llh: np.ndarray
    vertex: np.ndarray
    n_eval: np.ndarray
    status: np.ndarray
    energy_in: np.ndarray | None = None
    energy_tot: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.nside)
        self.nside = np.ascontiguousarray(self.nside, dtype=np.int64)
        self.pixel = np.ascontiguousarray(self.pixel, dtype=np.int64)
        self.neg_llh = np.ascontiguousarray(self.neg_llh, dtype=float)
        self.vertex = np.ascontiguousarray(self.vertex, dtype=float).reshape(n, 4)
        self.n_eval = np.ascontiguousarray(self.n_eval, dtype=np.int64)
        self.status = np.ascontiguousarray(self.status, dtype=np.int64)
        self.energy_in = np.zeros(n) if self.energy_in is None else np.ascontiguousarray(self.energy_in, float)
        self.energy_tot = np.zeros(n) if self.energy_tot is None else np.ascontiguousarray(self.energy_tot, float)
        for name in ("pixel", "neg_llh", "n_eval", "status", "energy_in", "energy_tot"):
            if len(getattr(self, name)) != n:
                raise InputError(f"argument '{name}': length differs from nside ({n})", name)
        if n == 0:
            raise InputError("argument 'nside': a scan result needs at least one pixel", "nside")
        self.meta = {"run_id": 0, "event_id": 0, "event_type": "UNKNOWN", "mjd": 0.0,
                     "is_real_event": False, **self.meta}
        self._maps: dict[str, tuple[int, np.ndarray]] = {}
        self._surfaces: dict[str, _c.MapLike] = {}

    # ---- basic views ----------------------------------------------------------------------
    @property
    def nsides(self) -> list[int]:
        return sorted(int(x) for x in np.unique(self.nside))

    @property
    def pixels_per_nside(self) -> dict[int, int]:
        return {ns: int(np.count_nonzero(self.nside == ns)) for ns in self.nsides}

    def _best_index(self) -> int:
        llh = np.where(np.isfinite(self.neg_llh), self.neg_llh, np.inf)
        if not np.isfinite(llh).any():
            raise InputError("argument 'neg_llh': no finite -lnL in the scan", "neg_llh")
        # smallest -lnL; ties go to the finer nside (the more precise direction)
        order = np.lexsort((-self.nside, llh))
        return int(order[0])

    @property
    def best_fit(self) -> dict[str, Any]:
        """Best pixel: ra_deg, dec_deg (pixel centre), nside, pixel (NESTED), neg_llh, vertex."""
        i = self._best_index()
        th, ph = pix2ang_nest(int(self.nside[i]), int(self.pixel[i]))
        return {"ra_deg": float(np.degrees(ph)), "dec_deg": float(90.0 - np.degrees(th)),
                "nside": int(self.nside[i]), "pixel": int(self.pixel[i]),
                "neg_llh": float(self.neg_llh[i]), "vertex": self.vertex[i].tolist()}

    def radec(self) -> tuple[np.ndarray, np.ndarray]:
        """(ra_deg, dec_deg) of every pixel centre."""
        ra = np.empty(len(self.nside))
        dec = np.empty(len(self.nside))
        for ns in self.nsides:
            sel = self.nside == ns
            th, ph = pix2ang_nest(ns, self.pixel[sel])
            ra[sel] = np.degrees(ph)
            dec[sel] = 90.0 - np.degrees(th)
        return ra, dec

    # ---- maps and contours ----------------------------------------------------------------
    def llh_map(self) -> tuple[int, np.ndarray]:
        """(nside_max, full-sky NESTED −ln L map at the finest nside; coarse pixels fill in)."""
        if "llh" not in self._maps:
            order = np.argsort(self.nside, kind="stable")
            self._maps["llh"] = _c.finest_map(self.nside[order], self.pixel[order], self.neg_llh[order])
        return self._maps["llh"]

    def statistic_map(self, statistic: str = "2dllh") -> np.ndarray:
        """Full-sky NESTED map of 2Δ(−ln L) (``"2dllh"``) or Δ(−ln L) (``"dllh"``)."""
        key = f"stat:{statistic}"
        if key not in self._maps:
            nmax, m = self.llh_map()
            self._maps[key] = (nmax, _c.statistic_map(m, statistic))
        return self._maps[key][1]

    def statistic_surface(self, statistic: str = "2dllh", interpolation: str = "quadratic") -> _c.MapLike:
        """The surface contours are drawn on: :meth:`statistic_map` with its interpolation rule.

        ``interpolation``: ``"quadratic"`` (default; a local quadratic on each finest-level pixel,
        :mod:`icecore.scan.surface`) or ``"bilinear"`` (``healpy.get_interp_val``, the map itself).
        """
        if interpolation not in INTERPOLATIONS:
            raise InputError(f"argument 'interpolation': must be one of {', '.join(INTERPOLATIONS)}, "
                             f"got {interpolation!r}", "interpolation")
        smap = self.statistic_map(statistic)
        if interpolation == "bilinear":
            return smap
        key = f"surface:{statistic}"
        if key not in self._surfaces:
            fine = self.pixel[self.nside == max(self.nsides)]
            self._surfaces[key] = quadratic_surface(smap, fine)
        return self._surfaces[key]

    def areas_deg2(self, convention: _c.ConventionLike = "wilks", *, subdivide: int = 8,
                   interpolation: str = "quadratic") -> dict[str, float]:
        """Contour areas (deg² on the sphere) for each level of a convention."""
        cv = _c.get_convention(convention)
        smap = self.statistic_surface(cv.statistic, interpolation)
        return {k: _c.region_area_deg2(smap, v, subdivide=subdivide) for k, v in cv.levels.items()}

    def contours(self, convention: _c.ConventionLike = "wilks", *, subdivide: int = 8,
                 grid: int = 401, interpolation: str = "quadratic") -> ContourSet:
        """Areas, contour polygons and RA/Dec rectangles for a convention (see :mod:`.contours`)."""
        cv = _c.get_convention(convention)
        smap = self.statistic_surface(cv.statistic, interpolation)
        best = self.best_fit
        areas, polys, rects = {}, {}, {}
        for label, level in cv.levels.items():
            areas[label] = _c.region_area_deg2(smap, level, subdivide=subdivide)
            polys[label] = _c.contour_polygons(smap, level, best["ra_deg"], best["dec_deg"], grid=grid)
            if polys[label]:
                rects[label] = _c.bounding_rectangle(polys[label], best["ra_deg"], best["dec_deg"])
        return ContourSet(cv, areas, polys, rects)

    def contains(self, ra_deg: Any, dec_deg: Any, level: str = "90",
                 convention: _c.ConventionLike = "wilks", *, interpolation: str = "quadratic") -> np.ndarray:
        """Whether positions (deg) lie inside the contour ``level`` (interpolated map <= value)."""
        cv = _c.get_convention(convention)
        if level not in cv.levels:
            raise InputError(f"argument 'level': {level!r} not in {sorted(cv.levels)}", "level")
        vals = _c.values_at(self.statistic_surface(cv.statistic, interpolation), ra_deg, dec_deg)
        return np.isfinite(vals) & (vals <= cv.levels[level])

    def summary(self, conventions: Sequence[_c.ConventionLike] = DEFAULT_CONVENTIONS, *,
                interpolation: str = "quadratic") -> dict[str, Any]:
        """JSON-ready summary: best fit, pixels per nside, areas and rectangles per convention
        (drawn on :meth:`statistic_surface` with ``interpolation``, recorded as ``"interpolation"``)."""
        meta = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.meta.items()}
        out: dict[str, Any] = {"meta": meta,
                               "best_fit": self.best_fit,
                               "pixels_per_nside": {str(k): v for k, v in self.pixels_per_nside.items()},
                               "info": self.info, "interpolation": interpolation, "contours": {}}
        for conv in conventions:
            cs = self.contours(conv, interpolation=interpolation)
            d = cs.as_dict()
            d.pop("polygons")
            out["contours"][cs.convention.name] = d
        return out

    def equal_pixels(self, other: ScanResult) -> bool:
        """Same pixels (order-independent) with identical −ln L and vertices."""
        def key(r: ScanResult):
            o = np.lexsort((r.pixel, r.nside))
            return r.nside[o], r.pixel[o], r.neg_llh[o], r.vertex[o]

        a, b = key(self), key(other)
        return (len(self.nside) == len(other.nside) and all(
            np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)))
