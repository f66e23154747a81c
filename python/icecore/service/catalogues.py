"""Catalogue association of an alert's 90 % region (the orchestrator's ``association`` step).

Readers for the catalogues the follow-ups use (names and J2000 positions in degrees):
4FGL-DR4 FITS (``Source_Name``, ``RAJ2000``, ``DEJ2000``), ICECAT-1-layout CSVs (NAME, RA,
DEC; only positions are needed, so rows with other damaged columns are kept), 1LHAASO (one row
per component, rows without a position skipped), the H.E.S.S. source list and any CSV with
name/RA/Dec columns.

For each catalogue the association lists the sources within twice the region's extent: name,
position, separation from the alert position, whether inside the region (circle of
``error90_deg``, or the notice's RA/Dec rectangle), and the chance probability that at least one
source of that catalogue falls inside a region of this size at this declination,
``1 - exp(-rho A)``, with ``rho`` the catalogue's source density in a +-10 deg declination band
around the alert and ``A`` the region's solid angle.

When a scan of the alert's event has finished, :func:`associate_contour` uses the scan's 90 %
contour instead: ``inside`` is read from the scan's likelihood map (``ScanResult.contains``,
the interpolated -2 delta ln L below the convention's 90 % value), ``A`` is the contour's area and
the density band is centred on the scan's best fit; each source also keeps whether it is inside
the notice's circle/rectangle (``inside_notice_region``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..coords import angular_distance_deg
from ..errors import DataFormatError

__all__ = ["SourceList", "read_sources", "associate_region", "associate_contour", "region_area_deg2",
           "KNOWN_RELEASES"]

DENSITY_BAND_DEG = 10.0

#: Data-release records (name, DOI / reference) by catalogue file name pattern.
KNOWN_RELEASES: tuple[tuple[str, dict[str, str]], ...] = (
    (r"gll_psc_v3[2-9]", {"name": "Fermi-LAT 4FGL-DR4", "reference": "Ballet et al. 2023, arXiv:2307.12546",
                          "doi": "10.48550/arXiv.2307.12546"}),
    (r"gll_psc", {"name": "Fermi-LAT 4FGL", "reference": "Abdollahi et al. 2020, ApJS 247, 33",
                  "doi": "10.3847/1538-4365/ab6bcb"}),
    (r"ICECAT-1|Gold_Bronze", {"name": "IceCube ICECAT-1", "reference": "Abbasi et al. 2023, ApJS 269, 25",
                               "doi": "10.7910/DVN/SCRUCD"}),
    (r"1LHAASO", {"name": "1LHAASO", "reference": "Cao et al. 2024, ApJS 271, 25", "doi": "10.3847/1538-4365/acfd29"}),
    (r"hess", {"name": "H.E.S.S. source list (TeVCat/HGPS-derived)", "reference": "", "doi": ""}),
)


@dataclass
class SourceList:
    """Names and positions of one catalogue, with its release record."""

    label: str
    name: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    release: dict[str, str]

    def __len__(self) -> int:
        return len(self.name)


def _release(path: Path) -> dict[str, str]:
    h = hashlib.sha256(path.read_bytes()).hexdigest()
    for pat, rec in KNOWN_RELEASES:
        if re.search(pat, path.name, re.IGNORECASE):
            return {**rec, "file": path.name, "sha256": h}
    return {"name": path.stem, "reference": "", "doi": "", "file": path.name, "sha256": h}


def _pick(header: list[str], options: tuple[str, ...], what: str, where: str) -> int:
    low = [h.strip().lower() for h in header]
    for o in options:
        if o.lower() in low:
            return low.index(o.lower())
    raise DataFormatError(f"no {what} column (have {', '.join(h.strip() for h in header)})", where)


def _read_csv(path: Path) -> tuple[list[str], list[float], list[float]]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    rows = [r for r in csv.reader(io.StringIO(text.replace("\r\n", "\n"))) if r]
    if not rows:
        raise DataFormatError("empty catalogue", str(path))
    header = rows[0]
    ni = _pick(header, ("Source_Name", "Source_name", "NAME", "name"), "name", str(path))
    ri = _pick(header, ("RAJ2000", "RA", "ra"), "RA", str(path))
    di = _pick(header, ("DEJ2000", "DEC", "Decl", "dec"), "Dec", str(path))
    names, ras, decs = [], [], []
    for r in rows[1:]:
        if len(r) <= max(ni, ri, di):
            continue
        try:
            ra, dec = float(r[ri]), float(r[di])
        except ValueError:  # 1LHAASO: component rows without a position
            continue
        if not (math.isfinite(ra) and math.isfinite(dec) and -90 <= dec <= 90):
            continue
        names.append(r[ni].strip())
        ras.append(ra % 360.0)
        decs.append(dec)
    return names, ras, decs


def read_sources(path: str | Path, label: str | None = None) -> SourceList:
    """Read a catalogue file (FITS or CSV) into a :class:`SourceList`."""
    p = Path(path)
    if p.suffix.lower() in (".fit", ".fits") or p.name.lower().endswith(".fits.gz"):
        from astropy.io import fits

        with fits.open(p, memmap=False) as hdul:
            hdu = next((h for h in hdul[1:] if getattr(h, "columns", None) is not None
                        and "RAJ2000" in h.columns.names), None)
            if hdu is None:
                raise DataFormatError("no table with RAJ2000/DEJ2000 columns", str(p))
            d = hdu.data
            names = [str(x).strip() for x in d["Source_Name"]]
            ras, decs = np.asarray(d["RAJ2000"], float), np.asarray(d["DEJ2000"], float)
    else:
        names, ra_list, dec_list = _read_csv(p)
        ras, decs = np.asarray(ra_list, float), np.asarray(dec_list, float)
    return SourceList(label or p.stem, np.asarray(names, dtype=object), np.asarray(ras, float) % 360.0,
                      np.asarray(decs, float), _release(p))


def region_area_deg2(error90_deg: float | None, rect: dict[str, float] | None, dec_deg: float) -> float:
    """Solid angle (deg^2) of a circle of radius error90_deg or of an RA/Dec rectangle."""
    if rect:
        lo = math.radians(max(-90.0, dec_deg - rect["dec_minus"]))
        hi = math.radians(min(90.0, dec_deg + rect["dec_plus"]))
        dra = math.radians(min(360.0, rect["ra_minus"] + rect["ra_plus"]))
        return dra * (math.sin(hi) - math.sin(lo)) * (180.0 / math.pi) ** 2
    r = math.radians(float(error90_deg or 0.0))
    return 2.0 * math.pi * (1.0 - math.cos(r)) * (180.0 / math.pi) ** 2


def _inside(ra: np.ndarray, dec: np.ndarray, sep: np.ndarray, ra0: float, dec0: float,
            error90_deg: float | None, rect: dict[str, float] | None) -> np.ndarray:
    if rect:
        dra = (ra - ra0 + 180.0) % 360.0 - 180.0
        return (dra >= -rect["ra_minus"]) & (dra <= rect["ra_plus"]) & (dec >= dec0 - rect["dec_minus"]) & (
            dec <= dec0 + rect["dec_plus"])
    return sep <= float(error90_deg or 0.0)


def _density_per_deg2(src: SourceList, dec0: float) -> float:
    lo, hi = max(-90.0, dec0 - DENSITY_BAND_DEG), min(90.0, dec0 + DENSITY_BAND_DEG)
    n = int(np.count_nonzero((src.dec_deg >= lo) & (src.dec_deg <= hi)))
    band = 2.0 * math.pi * (math.sin(math.radians(hi)) - math.sin(math.radians(lo))) * (180.0 / math.pi) ** 2
    return n / band if band > 0 else 0.0


def associate_region(src: SourceList, ra_deg: float, dec_deg: float, *, error90_deg: float | None,
                     rect: dict[str, float] | None = None) -> dict[str, Any]:
    """The association table of one catalogue for one region (see the module docstring)."""
    if rect:
        extent = math.hypot(max(rect["ra_minus"], rect["ra_plus"]) * math.cos(math.radians(dec_deg)),
                            max(rect["dec_minus"], rect["dec_plus"]))
    else:
        extent = float(error90_deg or 0.0)
    sep = np.asarray(angular_distance_deg(ra_deg, dec_deg, src.ra_deg, src.dec_deg), float)
    inside = _inside(src.ra_deg, src.dec_deg, sep, ra_deg, dec_deg, error90_deg, rect)
    near = np.flatnonzero((sep <= 2.0 * extent) | inside)
    near = near[np.argsort(sep[near], kind="stable")]
    area = region_area_deg2(error90_deg, rect, dec_deg)
    rho = _density_per_deg2(src, dec_deg)
    mu = rho * area
    return {
        "catalogue": src.label, "release": src.release, "n_sources": len(src),
        "region": {"type": "rectangle" if rect else "circle", "area_deg2": area,
                   "error90_deg": error90_deg, "rectangle_deg": rect},
        "density_per_deg2": rho, "expected_in_region": mu,
        "chance_probability": float(-math.expm1(-mu)),
        "n_inside": int(np.count_nonzero(inside)),
        "sources": [{"name": str(src.name[i]), "ra_deg": float(src.ra_deg[i]), "dec_deg": float(src.dec_deg[i]),
                     "separation_deg": float(sep[i]), "inside": bool(inside[i])} for i in near],
    }


def associate_contour(src: SourceList, result: Any, *, convention: str = "wilks", level: str = "90",
                      notice: dict[str, Any] | None = None) -> dict[str, Any]:
    """The association table of one catalogue inside a scan's ``level`` contour.

    Parameters
    ----------
    src : SourceList
    result : icecore.scan.ScanResult
        The finished scan of the alert's event.
    convention, level : str
        Contour convention (``wilks``...) and level of ``ScanResult.contains``.
    notice : dict, optional
        ``{"ra_deg", "dec_deg", "error90_deg", "error_rect_deg"}`` of the notice: each source
        also records whether it is inside the notice's region.
    """
    best = result.best_fit
    ra0, dec0 = float(best["ra_deg"]), float(best["dec_deg"])
    area = float(result.areas_deg2(convention)[level])
    inside = np.asarray(result.contains(src.ra_deg, src.dec_deg, level, convention), bool)
    sep = np.asarray(angular_distance_deg(ra0, dec0, src.ra_deg, src.dec_deg), float)
    extent = max(float(np.max(sep[inside])) if inside.any() else 0.0, math.degrees(math.sqrt(area / math.pi) *
                                                                                     math.pi / 180.0))
    near = np.flatnonzero((sep <= 2.0 * extent) | inside)
    near = near[np.argsort(sep[near], kind="stable")]
    in_notice = None
    if notice and notice.get("ra_deg") is not None:
        nsep = np.asarray(angular_distance_deg(notice["ra_deg"], notice["dec_deg"], src.ra_deg[near],
                                               src.dec_deg[near]), float)
        in_notice = _inside(src.ra_deg[near], src.dec_deg[near], nsep, float(notice["ra_deg"]),
                            float(notice["dec_deg"]), notice.get("error90_deg"), notice.get("error_rect_deg"))
    rho = _density_per_deg2(src, dec0)
    mu = rho * area
    return {
        "catalogue": src.label, "release": src.release, "n_sources": len(src),
        "region": {"type": "scan_contour", "area_deg2": area, "level": level, "convention": convention,
                   "best_fit_deg": [ra0, dec0]},
        "density_per_deg2": rho, "expected_in_region": mu, "chance_probability": float(-math.expm1(-mu)),
        "n_inside": int(np.count_nonzero(inside)),
        "sources": [{"name": str(src.name[i]), "ra_deg": float(src.ra_deg[i]), "dec_deg": float(src.dec_deg[i]),
                     "separation_deg": float(sep[i]), "inside": bool(inside[i]),
                     "inside_notice_region": None if in_notice is None else bool(in_notice[k])}
                    for k, i in enumerate(near)],
    }
