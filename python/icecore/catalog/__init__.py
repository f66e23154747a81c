"""Source catalogues shared by the alerts and the sky scan.

- :func:`load_icecat1`: ICECAT-1 (IceCube alert tracks) and tables in its layout;
- :func:`read_catalog`: any CSV/FITS source list with name and RA/Dec columns;
- :class:`Catalog`: what both return; :meth:`Catalog.crossmatch` / :meth:`Catalog.match_alert`
  find entries near a position (and time).

Association of sources with a sky-scan contour is :func:`icecore.scan.association.associate`.

>>> from icecore.catalog import load_icecat1
>>> icecat = load_icecat1("IceCube_Gold_Bronze_Tracks.csv")    # doctest: +SKIP
>>> icecat.crossmatch(225.79, 10.47, radius_deg=2.0)[0].event.name  # doctest: +SKIP
'IC190730A'
"""

from __future__ import annotations

from .icecat import ICECAT1_COLUMNS, load_icecat1
from .model import Catalog, CatalogEntry, CatalogEvent, CatalogMatch, CatalogSource
from .table import read_catalog

__all__ = [
    "Catalog",
    "CatalogEntry",
    "CatalogEvent",
    "CatalogMatch",
    "CatalogSource",
    "ICECAT1_COLUMNS",
    "load_icecat1",
    "read_catalog",
]
