"""Source lists for stacking: any CSV with ra/dec[/weight/name] columns, or the Fermi-LAT 4FGL FITS catalogue."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._optional import require
from ..errors import DataFormatError, InputError

__all__ = ["SourceList", "read_source_csv", "read_4fgl"]


@dataclass
class SourceList:
    """Positions [deg, J2000], relative weights (any positive scale) and names of stacked sources."""

    ra_deg: np.ndarray
    dec_deg: np.ndarray
    weight: np.ndarray
    name: list[str]

    def __post_init__(self) -> None:
        self.ra_deg = np.asarray(self.ra_deg, dtype=np.float64) % 360.0
        self.dec_deg = np.asarray(self.dec_deg, dtype=np.float64)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        n = len(self.ra_deg)
        if n == 0:
            raise InputError("argument 'sources': empty source list", "sources")
        if len(self.dec_deg) != n or len(self.weight) != n or len(self.name) != n:
            raise InputError("argument 'sources': ra, dec, weight and name must have one length", "sources")
        if not (np.all(np.isfinite(self.ra_deg)) and np.all(np.abs(self.dec_deg) <= 90)):
            raise InputError("argument 'sources': ra must be finite and dec in [-90, 90]", "sources")
        if not np.all(np.isfinite(self.weight) & (self.weight >= 0)) or self.weight.sum() <= 0:
            raise InputError("argument 'sources': weights must be finite, >= 0 and not all 0", "sources")

    def __len__(self) -> int:
        return len(self.ra_deg)

    @classmethod
    def single(cls, ra_deg: float, dec_deg: float, name: str = "source") -> SourceList:
        """A list of one source of weight 1."""
        return cls(np.array([ra_deg]), np.array([dec_deg]), np.ones(1), [name])


def read_source_csv(path: str | os.PathLike[str]) -> SourceList:
    """Read a CSV with a header naming ``ra`` and ``dec`` [deg] and optionally ``weight`` and ``name``.

    Column names are matched case-insensitively (``ra``/``raj2000``, ``dec``/``dej2000``/``decl``).
    Missing weights are 1. Raises :class:`DataFormatError` naming the file and the line of a bad row.
    """
    p = Path(path)
    with open(p, newline="", encoding="utf-8", errors="replace") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise DataFormatError("empty file", str(p))
    head = [h.strip().lower() for h in rows[0]]

    def col(*names: str) -> int | None:
        for nm in names:
            if nm in head:
                return head.index(nm)
        return None

    ira, idec = col("ra", "raj2000", "ra_deg"), col("dec", "dej2000", "decl", "dec_deg")
    iw, inm = col("weight", "w"), col("name", "source_name")
    if ira is None or idec is None:
        raise DataFormatError(f"header must name 'ra' and 'dec' columns, got {rows[0]}", str(p), 1)
    ra: list[float] = []
    dec: list[float] = []
    w: list[float] = []
    names: list[str] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            r, d = float(row[ira]), float(row[idec])
            ww = float(row[iw]) if iw is not None and row[iw].strip() else 1.0
        except (ValueError, IndexError):
            raise DataFormatError(f"bad row {row}", str(p), lineno) from None
        if not (math.isfinite(r) and -90 <= d <= 90 and math.isfinite(ww) and ww >= 0):
            raise DataFormatError("ra must be finite, dec in [-90, 90], weight >= 0", str(p), lineno)
        ra.append(r)
        dec.append(d)
        w.append(ww)
        names.append(row[inm].strip() if inm is not None and inm < len(row) else f"src{len(names)}")
    return SourceList(np.array(ra), np.array(dec), np.array(w), names)


def read_4fgl(path: str | os.PathLike[str], *, classes: tuple[str, ...] | None = None, n_brightest: int | None = None,
              dec_range: tuple[float, float] = (-90.0, 90.0), weight: str = "flux") -> SourceList:
    """Select sources from the 4FGL(-DR4) FITS catalogue (``gll_psc_v*.fit``).

    Parameters
    ----------
    classes : tuple of str, optional
        Keep these ``CLASS1`` values (case-insensitive, e.g. ``("bll", "fsrq")``).
    n_brightest : int, optional
        Keep the brightest by ``Energy_Flux100`` (erg cm^-2 s^-1, 100 MeV - 100 GeV).
    dec_range : (float, float)
        Declination range [deg].
    weight : {"flux", "equal"}
        ``flux``: weight = ``Energy_Flux100``; ``equal``: 1.
    """
    fits = require("astropy.io.fits", "astro", "reading the 4FGL FITS catalogue")
    if weight not in ("flux", "equal"):
        raise InputError(f"argument 'weight': must be 'flux' or 'equal', got {weight!r}", "weight")
    p = Path(path)
    try:
        with fits.open(p) as h:
            d = h[1].data
            ra = np.asarray(d["RAJ2000"], dtype=np.float64)
            dec = np.asarray(d["DEJ2000"], dtype=np.float64)
            flux = np.asarray(d["Energy_Flux100"], dtype=np.float64)
            cls = np.char.strip(np.char.lower(np.asarray(d["CLASS1"]).astype(str)))
            names = np.char.strip(np.asarray(d["Source_Name"]).astype(str))
    except (OSError, KeyError) as exc:
        raise DataFormatError(f"not a 4FGL catalogue: {exc}", str(p)) from None
    keep = (dec >= dec_range[0]) & (dec <= dec_range[1]) & np.isfinite(flux)
    if classes is not None:
        keep &= np.isin(cls, [c.lower() for c in classes])
    idx = np.flatnonzero(keep)
    if n_brightest is not None:
        idx = idx[np.argsort(-flux[idx], kind="stable")[: int(n_brightest)]]
    if idx.size == 0:
        raise InputError("no 4FGL source passes the selection", "classes")
    w = flux[idx] if weight == "flux" else np.ones(idx.size)
    return SourceList(ra[idx], dec[idx], w, [str(s) for s in names[idx]])
