"""Source association: entries of a catalogue (:mod:`icecore.catalog`) inside a scan's contour."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalog import Catalog
from ..coords import angular_distance_deg

__all__ = ["associate"]


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
