"""Source association: entries of a catalogue (:mod:`icecore.catalog`) inside a scan's contour.

:func:`check_catalog_position` checks a scan against the catalogue entry of the scanned event
itself (found by name, or by run and event id): an old skymap_scanner file read with the wrong
declination convention puts the event in the other hemisphere, and a position that disagrees
with the catalogue by more than ``max_offset_deg`` raises :class:`PositionMismatchError` (which
says when the mirrored position would agree, and the convention to pass). :func:`associate`
runs the check whenever it can identify the event (ids in the result's metadata or ``event=``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalog import Catalog
from ..coords import angular_distance_deg
from ..errors import InputError

__all__ = ["associate", "check_catalog_position", "PositionMismatchError", "find_event_entry"]

#: Smallest offset (deg) between a scan's best fit and its catalogue position counted as a disagreement.
MIN_OFFSET_DEG = 5.0


class PositionMismatchError(InputError):
    """A scan's best fit disagrees with the catalogue position of the same event.

    Attributes
    ----------
    name : str
        Catalogue name of the event.
    offset_deg, mirrored_offset_deg : float
        Distance of the best fit, and of its declination mirror, from the catalogue position.
    """

    def __init__(self, message: str, name: str, offset_deg: float, mirrored_offset_deg: float) -> None:
        super().__init__(message, "dec_convention")
        self.name = name
        self.offset_deg = offset_deg
        self.mirrored_offset_deg = mirrored_offset_deg


def _column(catalog: Catalog, *names: str) -> np.ndarray | None:
    lower = {k.lower(): v for k, v in catalog.columns.items()}
    for n in names:
        if n in lower:
            return np.asarray(lower[n])
    return None


def find_event_entry(catalog: Catalog, *, name: str | None = None, run_id: int | None = None,
                     event_id: int | None = None) -> int | None:
    """Index of the catalogue entry of an event, by name or by (run_id, event_id); None if absent.

    Ids are read from ICECAT-1 entries (:class:`~icecore.catalog.CatalogEvent`) or from the
    ``RUNID``/``EVENTID`` (``run_id``/``event_id``) columns of a generic table.
    """
    if name is not None:
        hit = np.flatnonzero(catalog.name == str(name))
        return int(hit[0]) if hit.size else None
    if not run_id or not event_id:
        return None
    runs = [getattr(e, "run_id", None) for e in catalog.entries]
    evts = [getattr(e, "event_id", None) for e in catalog.entries]
    if all(r is None for r in runs):
        rc, ec = _column(catalog, "runid", "run_id", "run"), _column(catalog, "eventid", "event_id", "event")
        if rc is None or ec is None:
            return None
        runs, evts = list(rc), list(ec)
    for i, (r, e) in enumerate(zip(runs, evts)):
        if r is None or e is None:
            continue
        try:
            if int(float(r)) == int(run_id) and int(float(e)) == int(event_id):
                return i
        except (TypeError, ValueError):
            continue
    return None


def check_catalog_position(result: Any, catalog: Catalog, *, event: str | tuple[int, int] | None = None,
                           max_offset_deg: float | None = None) -> dict[str, Any] | None:
    """Check a scan's best fit against the catalogue position of the scanned event.

    Parameters
    ----------
    result : ScanResult
    catalog : Catalog
    event : str or (run_id, event_id), optional
        The event's catalogue name or ids; default the run_id/event_id of ``result.meta``.
    max_offset_deg : float, optional
        Largest accepted distance (deg); default max(5 deg, 3 x the entry's largest 90 % error).

    Returns
    -------
    dict or None
        name, catalogue ra_deg/dec_deg, offset_deg, max_offset_deg; None when the event is not
        in the catalogue (or cannot be identified).

    Raises
    ------
    PositionMismatchError
        The best fit is farther than ``max_offset_deg`` from the catalogue position.
    """
    if isinstance(event, str):
        i = find_event_entry(catalog, name=event)
    elif event is not None:
        i = find_event_entry(catalog, run_id=int(event[0]), event_id=int(event[1]))
    else:
        meta = getattr(result, "meta", {}) or {}
        i = find_event_entry(catalog, run_id=meta.get("run_id"), event_id=meta.get("event_id"))
    if i is None:
        return None
    name, ra, dec = str(catalog.name[i]), float(catalog.ra_deg[i]), float(catalog.dec_deg[i])
    tol = float(max_offset_deg) if max_offset_deg is not None else max(MIN_OFFSET_DEG,
                                                                         3.0 * float(catalog.max_error_deg[i]))
    best = result.best_fit
    off = float(angular_distance_deg(best["ra_deg"], best["dec_deg"], ra, dec))
    mirrored = float(angular_distance_deg(best["ra_deg"], -best["dec_deg"], ra, dec))
    if off > tol:
        hint = (" The declination mirror of the best fit is "
                f"{mirrored:.2f} deg from it: the file uses the other declination convention (old skymap_scanner "
                "files: dec_convention='scanner-legacy', CLI --legacy-dec; or the reverse)."
                if mirrored <= tol else "")
        raise PositionMismatchError(
            f"scan best fit (RA {best['ra_deg']:.2f}, Dec {best['dec_deg']:+.2f}) is {off:.2f} deg from the catalogue "
            f"position of {name} (RA {ra:.2f}, Dec {dec:+.2f}; accepted: {tol:.2f} deg).{hint}", name, off, mirrored)
    return {"name": name, "ra_deg": ra, "dec_deg": dec, "offset_deg": off, "max_offset_deg": tol}


def associate(result: Any, catalog: Catalog, *, level: str = "90", convention: Any = "wilks",
              event: str | tuple[int, int] | None = None, interpolation: str = "quadratic") -> list[dict[str, Any]]:
    """Catalogue entries inside the ``level`` contour of ``result`` (a :class:`ScanResult`).

    Returns dicts with name, ra_deg, dec_deg, distance_deg (to the best fit) and the
    interpolated statistic value, sorted by distance. ``interpolation``: the drawn surface
    (:meth:`ScanResult.statistic_surface`; ``"quadratic"`` or ``"bilinear"``).

    If the scanned event itself is in the catalogue (by ``event``, or by the run/event ids of
    ``result.meta``), its position must agree with the best fit: :func:`check_catalog_position`
    raises :class:`PositionMismatchError` otherwise.
    """
    from . import contours as _c

    check_catalog_position(result, catalog, event=event)
    cv = _c.get_convention(convention)
    inside = result.contains(catalog.ra_deg, catalog.dec_deg, level, cv, interpolation=interpolation)
    vals = _c.values_at(result.statistic_surface(cv.statistic, interpolation), catalog.ra_deg, catalog.dec_deg)
    best = result.best_fit
    dist = angular_distance_deg(best["ra_deg"], best["dec_deg"], catalog.ra_deg, catalog.dec_deg)
    out = [{"name": str(catalog.name[i]), "ra_deg": float(catalog.ra_deg[i]), "dec_deg": float(catalog.dec_deg[i]),
            "distance_deg": float(dist[i]), cv.statistic: float(vals[i])} for i in np.flatnonzero(inside)]
    return sorted(out, key=lambda d: d["distance_deg"])
