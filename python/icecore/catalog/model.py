"""The catalogue shared by the alerts and the sky scan: named sky positions, cross-matching.

A :class:`Catalog` holds entries of one of two kinds: :class:`CatalogEvent` (a row of an
ICECAT-1-layout table of IceCube alert events, with time, errors and scores) or
:class:`CatalogSource` (a name and a position, optionally a time and an error radius, from any
CSV/FITS source list). Both readers (:func:`icecore.catalog.load_icecat1`,
:func:`icecore.catalog.read_catalog`) return a :class:`Catalog`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..coords import angular_distance_deg
from ..errors import InputError

__all__ = ["CatalogSource", "CatalogEvent", "CatalogEntry", "CatalogMatch", "Catalog"]


@dataclass(frozen=True)
class CatalogSource:
    """A named position from a source list; angles in degrees (J2000).

    ``mjd`` is None when the list has no times; ``max_error_deg`` is 0 when it has no errors
    (a cross-match then uses only the radius asked for).
    """

    name: str
    ra_deg: float
    dec_deg: float
    mjd: float | None = None
    max_error_deg: float = 0.0


@dataclass(frozen=True)
class CatalogEvent:
    """One ICECAT-1 row; angles in degrees (J2000), energy in TeV, FAR per year."""

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


#: An entry of a :class:`Catalog`.
CatalogEntry = CatalogEvent | CatalogSource


@dataclass(frozen=True)
class CatalogMatch:
    """A catalogue entry found by :meth:`Catalog.crossmatch`.

    Attributes
    ----------
    event : CatalogEvent or CatalogSource
        The entry.
    distance_deg : float
        Great-circle distance to the position asked for (deg).
    dt_days : float or None
        Entry time minus the time asked for (days); None without a time.
    """

    event: CatalogEntry
    distance_deg: float
    dt_days: float | None


class _Located(Protocol):
    """What :meth:`Catalog.match_alert` reads of an alert (an :class:`icecore.alerts.Alert`)."""

    @property
    def ra_deg(self) -> float | None: ...

    @property
    def dec_deg(self) -> float | None: ...

    @property
    def mjd(self) -> float: ...

    @property
    def error90_deg(self) -> float | None: ...


class Catalog:
    """Catalogue entries with vectorised position/time arrays for matching.

    Parameters
    ----------
    entries : sequence of CatalogEvent or CatalogSource
        The rows, in file order.
    source : str
        Where they were read from (for messages).
    columns : mapping of str to array, optional
        Every column of the file as read (one value per entry).

    Attributes
    ----------
    name : ndarray of str
    ra_deg, dec_deg : ndarray of float
        Positions (deg, J2000).
    mjd : ndarray of float
        Entry times (MJD, UTC); NaN where the catalogue has none.
    max_error_deg : ndarray of float
        Largest 90 % half-width of each entry (deg; 0 when unknown).
    """

    def __init__(self, entries: Sequence[CatalogEntry], source: str = "",
                 columns: Mapping[str, np.ndarray] | None = None) -> None:
        self.entries: list[CatalogEntry] = list(entries)
        self.source = source
        self.columns: dict[str, np.ndarray] = dict(columns or {})
        self.name = np.asarray([e.name for e in self.entries], dtype=str)
        self.ra_deg = np.array([e.ra_deg for e in self.entries], dtype=float)
        self.dec_deg = np.array([e.dec_deg for e in self.entries], dtype=float)
        self.mjd = np.array([np.nan if e.mjd is None else e.mjd for e in self.entries], dtype=float)
        self.max_error_deg = np.array([e.max_error_deg for e in self.entries], dtype=float)

    @property
    def events(self) -> list[CatalogEntry]:
        """The entries (ICECAT wording: each row is an alert event)."""
        return self.entries

    def __repr__(self) -> str:
        return f"Catalog({len(self)} entries from {self.source!r})"

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries)

    def __getitem__(self, name: str) -> CatalogEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    def crossmatch(self, ra_deg: Any, dec_deg: Any, time: Any = None, *, radius_deg: float | None = None,
                   error_deg: float = 0.0, time_window_days: float | None = None) -> list[CatalogMatch]:
        """Catalogue entries near a position (and time), nearest first.

        Parameters
        ----------
        ra_deg, dec_deg : float
            Position (deg, J2000; Quantities accepted).
        time : time-like, optional
            Trigger time (astropy Time, ISO string, datetime or MJD float).
        radius_deg : float, optional
            Fixed match radius. By default an entry matches when the distance is within
            ``error_deg`` + its largest 90 % half-width.
        error_deg : float
            The alert's own 90 % radius, added to the default radius.
        time_window_days : float, optional
            Keep only entries with |Δt| ≤ this (needs ``time``). Default: no time cut.

        NaN policy: NaN position or time raises :class:`~icecore.errors.InputError`, and so does
        a ``time`` for a catalogue without entry times.
        """
        from .._validation import as_degrees

        ra = float(as_degrees(ra_deg, "ra_deg"))
        dec = float(as_degrees(dec_deg, "dec_deg"))
        if not (math.isfinite(ra) and math.isfinite(dec)) or not -90.0 <= dec <= 90.0:
            raise InputError("argument 'ra_deg'/'dec_deg': finite, with dec in [-90, 90], required", "ra_deg")
        if not len(self):
            return []
        dist = np.asarray(angular_distance_deg(ra, dec, self.ra_deg, self.dec_deg), dtype=float)
        if radius_deg is not None:
            limit = np.full(len(self), float(radius_deg))
        else:
            limit = self.max_error_deg + float(error_deg)
        ok = dist <= limit
        dt = None
        if time is not None:
            if np.isnan(self.mjd).any():
                raise InputError(f"argument 'time': the catalogue {self.source!r} has no time for every entry",
                                 "time")
            dt = self.mjd - _to_mjd(time)
            if time_window_days is not None:
                ok &= np.abs(dt) <= float(time_window_days)
        elif time_window_days is not None:
            raise InputError("argument 'time_window_days': needs 'time'", "time_window_days")
        idx = np.flatnonzero(ok)
        idx = idx[np.argsort(dist[idx], kind="stable")]
        return [CatalogMatch(self.entries[i], float(dist[i]), None if dt is None else float(dt[i])) for i in idx]

    def match_alert(self, alert: _Located, *, time_window_days: float | None = 1.0 / 1440.0,
                    radius_deg: float | None = None) -> list[CatalogMatch]:
        """Catalogue entries consistent with an alert (same minute and within the errors by default)."""
        if alert.ra_deg is None:
            return []
        return self.crossmatch(alert.ra_deg, alert.dec_deg, alert.mjd, radius_deg=radius_deg,
                               error_deg=alert.error90_deg or 0.0, time_window_days=time_window_days)


def _to_mjd(time: Any) -> float:
    if isinstance(time, (bool, np.bool_)):  # "mjd": true is not MJD 1.0
        raise InputError("argument 'time': expected a time or an MJD, got a boolean", "time")
    if isinstance(time, (int, float)):
        x = float(time)
    else:
        from ..coords import as_time

        x = float(np.ravel(as_time(time, "time").utc.mjd)[0])
    if not math.isfinite(x):
        raise InputError("argument 'time': must be finite", "time")
    return x
