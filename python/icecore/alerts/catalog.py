"""ICECAT-1 (IceCube Event Catalog of Alert Tracks) loading and alert cross-matching.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..coords import angular_distance_deg
from ..errors import DataFormatError, InputError
from .model import Alert

__all__ = ["CatalogEvent", "Catalog", "CatalogMatch", "load_icecat1"]

_COLUMNS = (
    "NAME", "RUNID", "EVENTID", "START", "EVENTMJD", "I3TYPE", "RA", "DEC", "RA_ERR_PLUS",
    "RA_ERR_MINUS", "DEC_ERR_PLUS", "DEC_ERR_MINUS", "ENERGY", "FAR", "SIGNAL", "CASCADE_SCR",
    "SKIMMING_SCR", "START_SCR", "STOP_SCR", "THRGOING_SCR", "CR_VETO", "OTHER_I3TYPES",
)
_SCORES = ("CASCADE_SCR", "SKIMMING_SCR", "START_SCR", "STOP_SCR", "THRGOING_SCR")
_MISSING = ("", "none", "nan", "null")


@dataclass(frozen=True)
class CatalogEvent:
    """One catalogue row; angles in degrees (J2000), energy in TeV, FAR per year."""

    name: str
    run_id: int
    event_id: int
    mjd: float
    i3type: str
    ra_deg: float
    dec_deg: float
    ra_err_plus: float
    ra_err_minus: float
    dec_err_plus: float
    dec_err_minus: float
    energy_tev: float | None
    far_per_year: float | None
    signalness: float | None
    scores: dict[str, float | None] = field(default_factory=dict)
    cr_veto: bool | None = None
    other_i3types: tuple[str, ...] = ()

    @property
    def max_error_deg(self) -> float:
        """Largest of the four 90 % box half-widths (deg)."""
        return max(self.ra_err_plus, self.ra_err_minus, self.dec_err_plus, self.dec_err_minus)


@dataclass(frozen=True)
class CatalogMatch:
    event: CatalogEvent
    distance_deg: float
    dt_days: float | None


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


class Catalog:
    """A list of :class:`CatalogEvent` with vectorised position/time arrays for matching."""

    def __init__(self, events: list[CatalogEvent], source: str = "") -> None:
        self.events = list(events)
        self.source = source
        self.ra_deg = np.array([e.ra_deg for e in self.events], dtype=float)
        self.dec_deg = np.array([e.dec_deg for e in self.events], dtype=float)
        self.mjd = np.array([e.mjd for e in self.events], dtype=float)
        self.max_error_deg = np.array([e.max_error_deg for e in self.events], dtype=float)

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self):
        return iter(self.events)

    def __getitem__(self, name: str) -> CatalogEvent:
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)

    def crossmatch(self, ra_deg: Any, dec_deg: Any, time: Any = None, *, radius_deg: float | None = None,
                   error_deg: float = 0.0, time_window_days: float | None = None) -> list[CatalogMatch]:
        """Catalogue events near a position (and time), nearest first.

        Parameters
        ----------
        ra_deg, dec_deg : float
            Position (deg, J2000; Quantities accepted).
        time : time-like, optional
            Trigger time (astropy Time, ISO string, datetime or MJD float).
        radius_deg : float, optional
            Fixed match radius. By default an event matches when the distance is within
            ``error_deg`` + its largest 90 % half-width.
        error_deg : float
            The alert's own 90 % radius, added to the default radius.
        time_window_days : float, optional
            Keep only events with |Δt| ≤ this (needs ``time``). Default: no time cut.

        NaN policy: NaN position or time raises :class:`~icecore.errors.InputError`.
        """
        from .._validation import as_degrees

        ra = float(as_degrees(ra_deg, "ra_deg"))
        dec = float(as_degrees(dec_deg, "dec_deg"))
        if not (math.isfinite(ra) and math.isfinite(dec)) or not -90.0 <= dec <= 90.0:
            raise InputError("argument 'ra_deg'/'dec_deg': finite, with dec in [-90, 90], required", "ra_deg")
        if not len(self):
            return []
        dist = np.asarray(angular_distance_deg(ra, dec, self.ra_deg, self.dec_deg), dtype=float)
        limit = np.full(len(self), float(radius_deg)) if radius_deg is not None else self.max_error_deg + float(error_deg)
        ok = dist <= limit
        dt = None
        if time is not None:
            t_mjd = _to_mjd(time)
            dt = self.mjd - t_mjd
            if time_window_days is not None:
                ok &= np.abs(dt) <= float(time_window_days)
        elif time_window_days is not None:
            raise InputError("argument 'time_window_days': needs 'time'", "time_window_days")
        idx = np.flatnonzero(ok)
        idx = idx[np.argsort(dist[idx], kind="stable")]
        return [CatalogMatch(self.events[i], float(dist[i]), None if dt is None else float(dt[i])) for i in idx]

    def match_alert(self, alert: Alert, *, time_window_days: float | None = 1.0 / 1440.0,
                    radius_deg: float | None = None) -> list[CatalogMatch]:
        """Catalogue entries consistent with an alert (same minute and within the errors by default)."""
        if alert.ra_deg is None:
            return []
        return self.crossmatch(alert.ra_deg, alert.dec_deg, alert.mjd, radius_deg=radius_deg,
                               error_deg=alert.error90_deg or 0.0, time_window_days=time_window_days)


def _to_mjd(time: Any) -> float:
    if isinstance(time, (int, float)) and not isinstance(time, bool):
        x = float(time)
    else:
        from ..coords import as_time

        x = float(np.ravel(as_time(time, "time").utc.mjd)[0])
    if not math.isfinite(x):
        raise InputError("argument 'time': must be finite", "time")
    return x


def load_icecat1(path: Any) -> Catalog:
    """Load an ICECAT-1-layout CSV (file path, or a text/bytes buffer).

    Raises
    ------
    icecore.errors.DataFormatError
        Missing columns or malformed values, naming the file and line.
    """
    if isinstance(path, (bytes, bytearray)):
        text, where = bytes(path).decode("utf-8-sig"), "<bytes>"
    elif isinstance(path, io.IOBase) or hasattr(path, "read"):
        data = path.read()
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        where = getattr(path, "name", "<stream>")
    else:
        where = str(path)
        with open(Path(path), newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataFormatError("empty file", where, 1) from None
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise DataFormatError(f"missing columns {missing}", where, 1)
    col = {c: header.index(c) for c in _COLUMNS}
    events: list[CatalogEvent] = []
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataFormatError(f"{len(row)} fields, header has {len(header)}", where, line)
        g = {c: row[i].strip() for c, i in col.items()}
        try:
            run, evt = int(g["RUNID"]), int(g["EVENTID"])
        except ValueError:
            raise DataFormatError("RUNID/EVENTID are not integers", where, line) from None
        ra, dec = _float(g["RA"], "RA", where, line), _float(g["DEC"], "DEC", where, line)
        if not (0.0 <= ra <= 360.0 and -90.0 <= dec <= 90.0):
            raise DataFormatError(f"RA/DEC {ra}, {dec} out of range", where, line)
        other = g["OTHER_I3TYPES"]
        others = () if other.lower() in _MISSING else tuple(s.strip() for s in other.split(",") if s.strip())
        events.append(CatalogEvent(
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
        ))
    return Catalog(events, source=where)
