"""ScanResult: the evaluated pixels of a sky scan and everything derived from them.

Pixels are kept in HEALPix NESTED ordering on the equatorial sky (theta = 90 deg - Dec,
phi = RA). The icecube-skyreader npz/json formats store RING pixel numbers in their ``index``
field (skyreader converts with ``healpy.pix2ang(nside, index)``, ``healpy.ring2nest``), so
reading and writing convert at the edge.

Declination convention of stored pixels: skyreader (and icecore) read a pixel's direction as
Dec = 90 deg - theta, RA = phi. The skymap_scanner versions that produced older files (e.g. the
fixture of run 136766 / IC220624A) built each pixel's direction as Dec = theta - 90 deg (a
historic convention later acknowledged in IceCube's own conversion scripts), so such files read
the standard way are mirrored in declination. ``dec_convention="scanner-legacy"`` undoes it
exactly (the HEALPix grid is symmetric under Dec -> -Dec). Files written by icecore use the
standard convention.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from ..errors import DataFormatError, InputError
from . import contours as _c

__all__ = ["ScanResult", "ContourSet"]

log = logging.getLogger(__name__)

_PIXEL_V0 = np.dtype([("index", int), ("llh", float), ("E_in", float), ("E_tot", float)])
_PIXEL_V1 = np.dtype([("index", int), ("llh", float), ("E_in", float), ("E_tot", float),
                      ("X", float), ("Y", float), ("Z", float), ("T", float)])


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
        Scan settings and timings (nsides, extensions, pixels per level, rounds, wall_s, cpu_s).
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
        self.nside = np.asarray(self.nside, dtype=np.int64)
        self.pixel = np.asarray(self.pixel, dtype=np.int64)
        self.neg_llh = np.asarray(self.neg_llh, dtype=float)
        self.vertex = np.asarray(self.vertex, dtype=float).reshape(n, 4)
        self.n_eval = np.asarray(self.n_eval, dtype=np.int64)
        self.status = np.asarray(self.status, dtype=np.int64)
        self.energy_in = np.zeros(n) if self.energy_in is None else np.asarray(self.energy_in, float)
        self.energy_tot = np.zeros(n) if self.energy_tot is None else np.asarray(self.energy_tot, float)
        for name in ("pixel", "neg_llh", "n_eval", "status", "energy_in", "energy_tot"):
            if len(getattr(self, name)) != n:
                raise InputError(f"argument '{name}': length differs from nside ({n})", name)
        if n == 0:
            raise InputError("argument 'nside': a scan result needs at least one pixel", "nside")
        self.meta = {"run_id": 0, "event_id": 0, "event_type": "UNKNOWN", "mjd": 0.0,
                     "is_real_event": False, **self.meta}
        self._maps: dict[str, tuple[int, np.ndarray]] = {}

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
        from .healpix import pix2ang_nest

        i = self._best_index()
        th, ph = pix2ang_nest(int(self.nside[i]), int(self.pixel[i]))
        return {"ra_deg": float(np.degrees(ph)), "dec_deg": float(90.0 - np.degrees(th)),
                "nside": int(self.nside[i]), "pixel": int(self.pixel[i]),
                "neg_llh": float(self.neg_llh[i]), "vertex": self.vertex[i].tolist()}

    def radec(self) -> tuple[np.ndarray, np.ndarray]:
        """(ra_deg, dec_deg) of every pixel centre."""
        from .healpix import pix2ang_nest

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

    def areas_deg2(self, convention: str | _c.CriticalValues = "wilks", *, subdivide: int = 8) -> dict[str, float]:
        """Contour areas (deg² on the sphere) for each level of a convention."""
        cv = _c.get_convention(convention)
        smap = self.statistic_map(cv.statistic)
        return {k: _c.region_area_deg2(smap, v, subdivide=subdivide) for k, v in cv.levels.items()}

    def contours(self, convention: str | _c.CriticalValues = "wilks", *, subdivide: int = 8,
                 grid: int = 401) -> ContourSet:
        """Areas, contour polygons and RA/Dec rectangles for a convention (see :mod:`.contours`)."""
        cv = _c.get_convention(convention)
        smap = self.statistic_map(cv.statistic)
        best = self.best_fit
        areas, polys, rects = {}, {}, {}
        for label, level in cv.levels.items():
            areas[label] = _c.region_area_deg2(smap, level, subdivide=subdivide)
            polys[label] = _c.contour_polygons(smap, level, best["ra_deg"], best["dec_deg"], grid=grid)
            if polys[label]:
                rects[label] = _c.bounding_rectangle(polys[label], best["ra_deg"], best["dec_deg"])
        return ContourSet(cv, areas, polys, rects)

    def contains(self, ra_deg: Any, dec_deg: Any, level: str = "90",
                 convention: str | _c.CriticalValues = "wilks") -> np.ndarray:
        """Whether positions (deg) lie inside the contour ``level`` (interpolated map <= value)."""
        cv = _c.get_convention(convention)
        if level not in cv.levels:
            raise InputError(f"argument 'level': {level!r} not in {sorted(cv.levels)}", "level")
        vals = _c.values_at(self.statistic_map(cv.statistic), ra_deg, dec_deg)
        return np.isfinite(vals) & (vals <= cv.levels[level])

    # ---- skyreader npz / json -------------------------------------------------------------
    def _skyreader_arrays(self) -> dict[str, np.ndarray]:
        import healpy as hp

        out = {}
        for ns in self.nsides:
            sel = np.flatnonzero(self.nside == ns)
            ring = hp.nest2ring(ns, self.pixel[sel])
            order = np.argsort(ring, kind="stable")
            sel, ring = sel[order], ring[order]
            md = {"run_id": int(self.meta["run_id"]), "event_id": int(self.meta["event_id"]),
                  "event_type": str(self.meta["event_type"]), "mjd": float(self.meta["mjd"]),
                  "is_real_event": bool(self.meta["is_real_event"]), "version": 1, "nside": int(ns)}
            a = np.zeros(sel.size, dtype=np.dtype(_PIXEL_V1, metadata=md))
            a["index"] = ring
            a["llh"] = self.neg_llh[sel]
            a["E_in"] = self.energy_in[sel]
            a["E_tot"] = self.energy_tot[sel]
            for j, f in enumerate("XYZT"):
                a[f] = self.vertex[sel, j]
            out[f"nside-{ns}"] = a
        return out

    def to_npz(self, path: str | Path) -> Path:
        """Write the icecube-skyreader npz format (version 1 pixels, with a ``header``), atomically."""
        arrays = self._skyreader_arrays()
        first = next(iter(arrays.values())).dtype.metadata
        hdr_dtype = np.dtype([(k, type(v)) if not isinstance(v, str) else (k, f"U{max(1, len(v))}")
                              for k, v in first.items()])
        header = np.array([tuple(a.dtype.metadata[k] for k in hdr_dtype.names) for a in arrays.values()],
                          dtype=hdr_dtype)
        buf = io.BytesIO()
        np.savez(buf, header=header, **{k: np.asarray(v, dtype=_PIXEL_V1) for k, v in arrays.items()})
        return atomic_write(path, buf.getvalue())

    def to_skyreader_dict(self) -> dict[str, Any]:
        """The icecube-skyreader JSON structure (``SkyScanResult.serialize()``)."""
        out: dict[str, Any] = {}
        for key, a in self._skyreader_arrays().items():
            rows = []
            for r in a:
                rows.append([int(r["index"])] + [float(r[f]) for f in a.dtype.names[1:]])
            out[key] = {"columns": list(a.dtype.names), "metadata": dict(a.dtype.metadata), "data": rows}
        return out

    def to_json(self, path: str | Path) -> Path:
        """Write the icecube-skyreader json format, atomically."""
        return atomic_write(path, json.dumps(self.to_skyreader_dict(), indent=1, allow_nan=True))

    @classmethod
    def _from_skyreader_arrays(cls, arrays: dict[str, np.ndarray], source: str,
                               dec_convention: str = "standard") -> ScanResult:
        import healpy as hp

        if dec_convention not in ("standard", "scanner-legacy"):
            raise InputError("argument 'dec_convention': expected 'standard' or 'scanner-legacy', got "
                             f"{dec_convention!r}", "dec_convention")

        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("nside", "pixel", "llh", "vtx", "ein", "etot")}
        meta: dict[str, Any] = {}
        for key in sorted(arrays, key=lambda k: int(k.split("nside-")[1])):
            a = arrays[key]
            ns = int(key.split("nside-")[1])
            if a.dtype.names is None or not {"index", "llh"} <= set(a.dtype.names):
                raise DataFormatError(f"{key}: expected fields index and llh, got {a.dtype.names}", source)
            idx = np.asarray(a["index"], dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= 12 * ns * ns):
                raise DataFormatError(f"{key}: pixel index out of range for nside {ns}", source)
            cols["nside"].append(np.full(idx.size, ns, dtype=np.int64))
            if dec_convention == "scanner-legacy":  # pixel direction was Dec = theta - 90 deg
                th, ph = hp.pix2ang(ns, idx)
                idx = hp.ang2pix(ns, np.pi - th, ph)
            cols["pixel"].append(hp.ring2nest(ns, idx))
            cols["llh"].append(np.asarray(a["llh"], float))
            names = a.dtype.names
            if all(f in names for f in "XYZT"):
                cols["vtx"].append(np.column_stack([np.asarray(a[f], float) for f in "XYZT"]))
            else:
                cols["vtx"].append(np.full((idx.size, 4), np.nan))
            cols["ein"].append(np.asarray(a["E_in"], float) if "E_in" in names else np.zeros(idx.size))
            cols["etot"].append(np.asarray(a["E_tot"], float) if "E_tot" in names else np.zeros(idx.size))
            if a.dtype.metadata:
                meta.update({k: (v.item() if isinstance(v, np.generic) else v)
                             for k, v in a.dtype.metadata.items() if k != "nside"})
        if not cols["nside"]:
            raise DataFormatError("no 'nside-N' arrays found", source)
        n = sum(len(x) for x in cols["nside"])
        return cls(np.concatenate(cols["nside"]), np.concatenate(cols["pixel"]), np.concatenate(cols["llh"]),
                   np.concatenate(cols["vtx"]), np.full(n, -1), np.full(n, -1),
                   np.concatenate(cols["ein"]), np.concatenate(cols["etot"]),
                   meta={k: meta[k] for k in ("run_id", "event_id", "event_type", "mjd", "is_real_event")
                         if k in meta})

    @classmethod
    def from_npz(cls, path: str | Path, *, dec_convention: str = "standard") -> ScanResult:
        """Read an icecube-skyreader npz file (with or without ``header``; pixel versions 0 and 1).

        ``dec_convention="scanner-legacy"`` for files from skymap_scanner versions whose pixel
        direction was Dec = theta - 90 deg (see the module docstring).
        """
        try:
            npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"cannot read npz: {exc}", str(path)) from None
        with npz:
            arrays = {k: npz[k] for k in npz.files if k.startswith("nside-")}
            if "header" in npz.files:
                for h in npz["header"]:
                    md = {k: h[k].item() if isinstance(h[k], np.generic) else h[k] for k in h.dtype.names}
                    key = f"nside-{int(md['nside'])}"
                    if key in arrays:
                        arrays[key] = np.asarray(arrays[key], dtype=np.dtype(arrays[key].dtype, metadata=md))
        return cls._from_skyreader_arrays(arrays, str(path), dec_convention)

    @classmethod
    def from_skyreader_dict(cls, d: dict[str, Any], source: str = "json", *,
                            dec_convention: str = "standard") -> ScanResult:
        arrays = {}
        for key, block in d.items():
            try:
                columns, md, data = block["columns"], dict(block["metadata"]), block["data"]
            except (KeyError, TypeError):
                raise DataFormatError(f"{key}: expected columns, metadata and data", source) from None
            dt = np.dtype([(c, int if c == "index" else float) for c in columns], metadata=md)
            rows = [tuple(np.nan if v == "<skyreader.nan>" else v for v in r) for r in data]
            arrays[key] = np.array(rows, dtype=dt) if rows else np.zeros(0, dtype=dt)
        return cls._from_skyreader_arrays(arrays, source, dec_convention)

    @classmethod
    def from_json(cls, path: str | Path, *, dec_convention: str = "standard") -> ScanResult:
        """Read an icecube-skyreader json file (``dec_convention`` as in :meth:`from_npz`)."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"cannot read json: {exc}", str(path)) from None
        return cls.from_skyreader_dict(d, str(path), dec_convention=dec_convention)

    # ---- other products ------------------------------------------------------------------
    def to_fits(self, path: str | Path, *, statistic: str = "2dllh", nest: bool = True) -> Path:
        """HEALPix FITS map (healpy) of 2Δ(−ln L) at the finest nside; NaN where not scanned."""
        import tempfile

        import healpy as hp

        m = self.statistic_map(statistic)
        if not nest:
            m = hp.reorder(m, n2r=True)
        path = Path(path)
        with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as tmp:
            tmpf = Path(tmp) / "map.fits"
            hp.write_map(str(tmpf), m, nest=nest, coord="C", column_names=["2DLLH" if statistic == "2dllh" else "DLLH"],
                         extra_header=[("RUNID", int(self.meta["run_id"])), ("EVENTID", int(self.meta["event_id"])),
                                       ("MJD", float(self.meta["mjd"]))], overwrite=True, dtype=np.float64)
            return atomic_write(path, tmpf.read_bytes())

    def summary(self, conventions: Sequence[str | _c.CriticalValues] = ("wilks", "icecube-calibrated")) -> dict[str, Any]:
        """JSON-ready summary: best fit, pixels per nside, areas and rectangles per convention."""
        out: dict[str, Any] = {"meta": {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.meta.items()},
                               "best_fit": self.best_fit,
                               "pixels_per_nside": {str(k): v for k, v in self.pixels_per_nside.items()},
                               "info": self.info, "contours": {}}
        for conv in conventions:
            cs = self.contours(conv)
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
