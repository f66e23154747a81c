"""Reader of generic source lists: CSV or FITS tables with a name column and RA/Dec in degrees.

CSV tables are ``,`` separated with a header row and CRLF or LF line ends; FITS tables are read
with astropy. The name, RA and Dec columns are found among common spellings (ICECAT-1's NAME,
RA, DEC; 4FGL's Source_Name, RAJ2000, DEJ2000; ...) or named explicitly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import DataFormatError
from .model import Catalog, CatalogSource

__all__ = ["read_catalog"]

_NAME_COLS = ("NAME", "Source_Name", "SOURCE_NAME", "name", "Name", "ID")
_RA_COLS = ("RA", "RAJ2000", "RA_J2000", "ra", "ra_deg", "RA_DEG")
_DEC_COLS = ("DEC", "DEJ2000", "DEC_J2000", "Dec", "dec", "dec_deg", "DEC_DEG")


def _pick(cols: Sequence[str], candidates: Sequence[str], what: str, path: str) -> str:
    for c in candidates:
        if c in cols:
            return c
    raise DataFormatError(f"no {what} column (tried {', '.join(candidates)}; have {', '.join(cols)})", path)


def _read_columns(p: Path) -> tuple[dict[str, np.ndarray], int]:
    """The columns of a FITS or CSV table and the file line of its first row."""
    if p.name.lower().endswith((".fits", ".fit", ".fits.gz")):
        from astropy.table import Table

        try:
            t = Table.read(p)
            return {c: np.asarray(t[c]) for c in t.colnames}, 1
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - truncated/corrupt FITS: astropy raises OSError, TypeError, ...
            raise DataFormatError(f"not a readable FITS table ({type(exc).__name__}: {exc})", str(p)) from None
    try:
        text = p.read_text(encoding="utf-8-sig")
        rows = [r for r in csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"))) if r]
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", str(p)) from None
    except csv.Error as exc:
        raise DataFormatError(f"malformed CSV: {exc}", str(p)) from None
    if not rows:
        raise DataFormatError("empty catalogue", str(p))
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise DataFormatError(f"{len(r)} fields, header has {len(header)}", str(p), i + 2)
    return {h: np.array([r[j].strip() for r in body], dtype=object) for j, h in enumerate(header)}, 2


def read_catalog(path: str | Path, *, name_col: str | None = None, ra_col: str | None = None,
                 dec_col: str | None = None) -> Catalog:
    """Read a CSV or FITS source list.

    Parameters
    ----------
    path : str or Path
        ``.fits``/``.fit``/``.fits.gz`` is read as FITS, anything else as CSV.
    name_col, ra_col, dec_col : str, optional
        Column names; by default the first of the common spellings present.

    Returns
    -------
    Catalog
        One :class:`~icecore.catalog.CatalogSource` per row (RA wrapped into [0, 360) deg),
        ``columns`` holding every column of the file.

    Raises
    ------
    icecore.errors.DataFormatError
        Missing columns; rows with non-numeric or out-of-range RA/Dec, naming the line (NaN
        policy: no NaN positions accepted).
    """
    p = Path(path)
    cols, first_line = _read_columns(p)
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
    ra = ra % 360.0
    entries = [CatalogSource(str(n), float(r), float(d)) for n, r, d in zip(cols[nc], ra, dec)]
    return Catalog(entries, source=str(p), columns=cols)
