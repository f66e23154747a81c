"""Source association: catalogue entries inside a scan's contour.

Catalogues are CSV tables (``,`` separated, header row, CRLF or LF line ends) or FITS tables
with a name column and RA/Dec columns in degrees (J2000). ICECAT-1
(``IceCube_Gold_Bronze_Tracks.csv``: NAME, RA, DEC, ...) works as is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..coords import angular_distance_deg
from ..errors import DataFormatError

__all__ = ["Catalog", "read_catalog", "associate"]

_NAME_COLS = ("NAME", "Source_Name", "SOURCE_NAME", "name", "Name", "ID")
_RA_COLS = ("RA", "RAJ2000", "RA_J2000", "ra", "ra_deg", "RA_DEG")
_DEC_COLS = ("DEC", "DEJ2000", "DEC_J2000", "Dec", "dec", "dec_deg", "DEC_DEG")


@dataclass
class Catalog:
    """Names and positions (degrees, J2000) of catalogue entries, plus the other columns."""

    name: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    columns: dict[str, np.ndarray]


def _pick(cols: Sequence[str], candidates: Sequence[str], what: str, path: str) -> str:
    for c in candidates:
        if c in cols:
            return c
    raise DataFormatError(f"no {what} column (tried {', '.join(candidates)}; have {', '.join(cols)})", path)


def read_catalog(path: str | Path, *, name_col: str | None = None, ra_col: str | None = None,
                 dec_col: str | None = None) -> Catalog:
    """Read a CSV or FITS catalogue. Rows with non-numeric or out-of-range RA/Dec are rejected
    with a :class:`DataFormatError` naming the line (NaN policy: no NaN positions accepted)."""
    p = Path(path)
    if p.suffix.lower() in (".fits", ".fit", ".fits.gz"):
        from astropy.table import Table

        t = Table.read(p)
        cols = {c: np.asarray(t[c]) for c in t.colnames}
        first_line = 1
    else:
        text = p.read_text(encoding="utf-8-sig")
        rows = [r for r in csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"))) if r]
        if not rows:
            raise DataFormatError("empty catalogue", str(p))
        header = [h.strip() for h in rows[0]]
        body = rows[1:]
        for i, r in enumerate(body):
            if len(r) != len(header):
                raise DataFormatError(f"{len(r)} fields, header has {len(header)}", str(p), i + 2)
        cols = {h: np.array([r[j].strip() for r in body], dtype=object) for j, h in enumerate(header)}
        first_line = 2
    names = list(cols)
    nc = name_col or _pick(names, _NAME_COLS, "name", str(p))
    rc = ra_col or _pick(names, _RA_COLS, "RA", str(p))
    dc = dec_col or _pick(names, _DEC_COLS, "Dec", str(p))
    ra = np.empty(len(cols[rc]))
    dec = np.empty(len(cols[dc]))
    for i, (a, d) in enumerate(zip(cols[rc], cols[dc])):
        try:
            ra[i], dec[i] = float(a), float(d)
        except (TypeError, ValueError):
            raise DataFormatError(f"non-numeric RA/Dec {a!r}/{d!r}", str(p), i + first_line) from None
        if not (np.isfinite(ra[i]) and np.isfinite(dec[i]) and abs(dec[i]) <= 90):
            raise DataFormatError(f"invalid RA/Dec {a!r}/{d!r}", str(p), i + first_line)
    return Catalog(np.asarray([str(x) for x in cols[nc]]), ra % 360.0, dec, cols)


def associate(result: Any, catalog: Catalog, *, level: str = "90", convention: Any = "wilks") -> list[dict[str, Any]]:
    """Catalogue entries inside the ``level`` contour of ``result`` (a :class:`ScanResult`).

    Returns dicts with name, ra_deg, dec_deg, distance_deg (to the best fit) and the
    interpolated statistic value, sorted by distance.
    """
    from . import contours as _c

    cv = _c.get_convention(convention)
    inside = result.contains(catalog.ra_deg, catalog.dec_deg, level, cv)
    vals = _c.values_at(result.statistic_map(cv.statistic), catalog.ra_deg, catalog.dec_deg)
    best = result.best_fit
    dist = angular_distance_deg(best["ra_deg"], best["dec_deg"], catalog.ra_deg, catalog.dec_deg)
    out = [{"name": str(catalog.name[i]), "ra_deg": float(catalog.ra_deg[i]), "dec_deg": float(catalog.dec_deg[i]),
            "distance_deg": float(dist[i]), cv.statistic: float(vals[i])} for i in np.flatnonzero(inside)]
    return sorted(out, key=lambda d: d["distance_deg"])
