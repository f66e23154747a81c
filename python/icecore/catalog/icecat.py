"""Reader of ICECAT-1 (IceCube Event Catalog of Alert Tracks) and tables in its layout.

The CSV as distributed (22 columns: NAME, RUNID, EVENTID, START, EVENTMJD, I3TYPE, RA, DEC,
RA_ERR_PLUS/MINUS, DEC_ERR_PLUS/MINUS [deg, 90 %], ENERGY [TeV], FAR [yr^-1], SIGNAL, five CNN
scores, CR_VETO, OTHER_I3TYPES) has CRLF line endings, booleans spelt FALSE/False/TRUE, ``None``
for missing values and quoted comma lists in OTHER_I3TYPES; all are handled here. The same
layout serves the cascade table in the fixtures (empty SIGNAL, ``None`` scores).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataFormatError
from .model import Catalog, CatalogEvent

__all__ = ["load_icecat1", "ICECAT1_COLUMNS"]

#: The columns an ICECAT-1-layout table must have.
ICECAT1_COLUMNS = (
    "NAME", "RUNID", "EVENTID", "START", "EVENTMJD", "I3TYPE", "RA", "DEC", "RA_ERR_PLUS",
    "RA_ERR_MINUS", "DEC_ERR_PLUS", "DEC_ERR_MINUS", "ENERGY", "FAR", "SIGNAL", "CASCADE_SCR",
    "SKIMMING_SCR", "START_SCR", "STOP_SCR", "THRGOING_SCR", "CR_VETO", "OTHER_I3TYPES",
)
_SCORES = ("CASCADE_SCR", "SKIMMING_SCR", "START_SCR", "STOP_SCR", "THRGOING_SCR")
_MISSING = ("", "none", "nan", "null")


def _opt_float(v: str, col: str, path: str, line: int) -> float | None:
    if v.strip().lower() in _MISSING:
        return None
    try:
        x = float(v)
    except ValueError:
        raise DataFormatError(f"column {col}: {v!r} is not a number", path, line) from None
    if not math.isfinite(x):
        raise DataFormatError(f"column {col}: {v!r} is not finite", path, line)
    return x


def _float(v: str, col: str, path: str, line: int) -> float:
    x = _opt_float(v, col, path, line)
    if x is None:
        raise DataFormatError(f"column {col} is empty", path, line)
    return x


def _bool(v: str, col: str, path: str, line: int) -> bool | None:
    low = v.strip().lower()
    if low in _MISSING:
        return None
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise DataFormatError(f"column {col}: {v!r} is not a boolean", path, line)


def _read_text(path: Any) -> tuple[str, str]:
    """(text, where) of a file path, bytes or a text/bytes buffer."""
    if isinstance(path, (bytes, bytearray)):
        return bytes(path).decode("utf-8-sig"), "<bytes>"
    if isinstance(path, io.IOBase) or hasattr(path, "read"):
        data = path.read()
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return text, getattr(path, "name", "<stream>")
    with open(Path(path), newline="", encoding="utf-8-sig") as fh:
        return fh.read(), str(path)


def _event(g: dict[str, str], where: str, line: int) -> CatalogEvent:
    try:
        run, evt = int(g["RUNID"]), int(g["EVENTID"])
    except ValueError:
        raise DataFormatError("RUNID/EVENTID are not integers", where, line) from None
    ra, dec = _float(g["RA"], "RA", where, line), _float(g["DEC"], "DEC", where, line)
    if not (0.0 <= ra <= 360.0 and -90.0 <= dec <= 90.0):
        raise DataFormatError(f"RA/DEC {ra}, {dec} out of range", where, line)
    other = g["OTHER_I3TYPES"]
    others = () if other.lower() in _MISSING else tuple(s.strip() for s in other.split(",") if s.strip())
    return CatalogEvent(
        name=g["NAME"], run_id=run, event_id=evt, mjd=_float(g["EVENTMJD"], "EVENTMJD", where, line),
        i3type=g["I3TYPE"], ra_deg=ra, dec_deg=dec,
        ra_err_plus=abs(_float(g["RA_ERR_PLUS"], "RA_ERR_PLUS", where, line)),
        ra_err_minus=abs(_float(g["RA_ERR_MINUS"], "RA_ERR_MINUS", where, line)),
        dec_err_plus=abs(_float(g["DEC_ERR_PLUS"], "DEC_ERR_PLUS", where, line)),
        dec_err_minus=abs(_float(g["DEC_ERR_MINUS"], "DEC_ERR_MINUS", where, line)),
        energy_tev=_opt_float(g["ENERGY"], "ENERGY", where, line),
        far_per_year=_opt_float(g["FAR"], "FAR", where, line),
        signalness=_opt_float(g["SIGNAL"], "SIGNAL", where, line),
        scores={c: _opt_float(g[c], c, where, line) for c in _SCORES},
        cr_veto=_bool(g["CR_VETO"], "CR_VETO", where, line),
        other_i3types=others,
    )


def load_icecat1(path: Any) -> Catalog:
    """Load an ICECAT-1-layout CSV (file path, or a text/bytes buffer).

    Returns
    -------
    Catalog
        One :class:`~icecore.catalog.CatalogEvent` per row; ``columns`` holds every column as
        text.

    Raises
    ------
    icecore.errors.DataFormatError
        Missing columns or malformed values, naming the file and line.
    """
    try:
        text, where = _read_text(path)
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", str(path)) from None
    try:
        return _parse_icecat1(text, where)
    except csv.Error as exc:
        raise DataFormatError(f"malformed CSV: {exc}", where) from None


def _parse_icecat1(text: str, where: str) -> Catalog:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataFormatError("empty file", where, 1) from None
    missing = [c for c in ICECAT1_COLUMNS if c not in header]
    if missing:
        raise DataFormatError(f"missing columns {missing}", where, 1)
    col = {c: header.index(c) for c in ICECAT1_COLUMNS}
    events: list[CatalogEvent] = []
    rows: list[list[str]] = []
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{len(row)} fields, header has {len(header)}", where, line)
        events.append(_event({c: row[i].strip() for c, i in col.items()}, where, line))
        rows.append([c.strip() for c in row])
    columns = {h: np.array([r[j] for r in rows], dtype=object) for j, h in enumerate(header)}
    return Catalog(events, source=where, columns=columns)
