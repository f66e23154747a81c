"""Contours, areas and the GCN RA/Dec rectangle from a multi-resolution scan.

Conventions (made explicit because they are easy to mix up)
-----------------------------------------------------------
A :class:`CriticalValues` names the *statistic* its levels apply to:

``"2dllh"``
    2 Δ(−ln L) = 2 (−ln L − min −ln L). Wilks' theorem for two free parameters (the direction)
    gives χ²(2 dof) quantiles: 1.386 (50 %) and 4.605 (90 %) — :data:`WILKS`. The IceCube
    systematics-calibrated values 22.2 (50 %) and 64.2 (90 %) (from re-simulations of event
    IC160427A; icecube-skyreader: "determined from MC ... on the TS (2*LLH)") are also on
    2Δ(−ln L) — :data:`ICECUBE_CALIBRATED`.
``"dllh"``
    Δ(−ln L) itself: the levels are added directly to min(−ln L) (a threshold on Δ, not 2Δ).
    Applying Wilks' 2-dof values this way gives regions twice as large in 2Δ terms (too wide).

icecube-skyreader 1.6.3 (``skyreader.utils.handle_map_data.extract_map`` and
``get_contour_levels``) subtracts the minimum, multiplies the map by two and then adds its levels
(1.39, 4.61 or 22.2, 64.2) to the minimum of that 2Δ map (zero): its thresholds are on
2Δ(−ln L) — :data:`SKYREADER_WILKS` and :data:`ICECUBE_CALIBRATED` reproduce it. Its contour
lines come from ``meander.spherical_contours`` on the scanned pixel centres and its areas from a
Gauss-Green sum over those lines.

Maps
----
All maps here are full-sky HEALPix NESTED at the finest scanned nside; a pixel that was not
scanned at the finest nside takes the value of the finest scanned pixel containing it (what
skyreader does with ``healpy.ud_grade``). Areas are solid angles on the sphere in deg²: the
region is counted on equal-area HEALPix sub-pixels (``subdivide`` x ``subdivide`` per map pixel)
at which the map is interpolated; pixels whose whole interpolation neighbourhood is inside count
whole. A map given as an array is interpolated bilinearly (``healpy.get_interp_val``); a
:class:`~.surface.StatisticSurface` (what :class:`~.result.ScanResult` draws on by default) adds a
local quadratic on each finest-level pixel, which removes the bilinear interpolant's upward bias
on a convex minimum (:mod:`.surface` gives the rule and what it changes in coverage).

HEALPix operations here are healpy's (interpolation, neighbours, pixel centres); the C++
primitives of :mod:`icecore.scan.healpix` serve the refinement loop.

NaN policy: pixels with non-finite −ln L are treated as outside every region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import healpy as hp
import numpy as np

from .._validation import as_degrees
from ..errors import InputError
from .surface import StatisticSurface

__all__ = [
    "CriticalValues",
    "WILKS",
    "ICECUBE_CALIBRATED",
    "SKYREADER_WILKS",
    "DIRECT_DLLH_WILKS",
    "CONVENTIONS",
    "get_convention",
    "PER_EVENT",
    "HasCriticalValues",
    "ConventionLike",
    "finest_map",
    "statistic_map",
    "region_area_deg2",
    "contour_polygons",
    "bounding_rectangle",
    "Rectangle",
    "values_at",
    "interpolate",
    "gnomonic_basis",
    "map_nside",
    "MapLike",
    "AreaEstimate",
    "area_with_resolution",
]

SQDEG_PER_SR = (180.0 / np.pi) ** 2

#: A statistic map: a full-sky NESTED array (bilinear) or a :class:`~.surface.StatisticSurface`.
MapLike = np.ndarray | StatisticSurface


def _array(smap: MapLike) -> np.ndarray:
    return smap.smap if isinstance(smap, StatisticSurface) else smap


@dataclass(frozen=True)
class CriticalValues:
    """Critical values for contours, and the statistic they are meant for.

    Parameters
    ----------
    name : str
        Identifier (used in files and the CLI).
    levels : mapping of label -> value
        e.g. ``{"50": 1.386, "90": 4.605}``; labels are containment percentages.
    statistic : {"2dllh", "dllh"}
        ``"2dllh"``: the level is compared with 2 Δ(−ln L); ``"dllh"``: with Δ(−ln L).
    description : str
        Where the values come from.
    errors : mapping of label -> value, optional
        Statistical error of each level (e.g. of a per-event calibration, see
        :class:`icecore.scan.calibration.EventCalibration`); empty for fixed conventions.
    """

    name: str
    levels: Mapping[str, float]
    statistic: str = "2dllh"
    description: str = ""
    errors: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.statistic not in ("2dllh", "dllh"):
            raise InputError(f"argument 'statistic': expected '2dllh' or 'dllh', got {self.statistic!r}", "statistic")
        for k, v in self.levels.items():
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"argument 'levels': level {k!r} must be finite and > 0, got {v!r}", "levels")
        for k in self.errors:
            if k not in self.levels:
                raise InputError(f"argument 'errors': label {k!r} is not a level ({sorted(self.levels)})", "errors")

    def as_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "levels": dict(self.levels), "statistic": self.statistic,
             "description": self.description}
        if self.errors:
            d["errors"] = {k: float(v) for k, v in self.errors.items()}
        return d


def _chi2_2dof(p: float) -> float:
    return float(-2.0 * np.log1p(-p))  # chi2 with 2 dof: CDF = 1 - exp(-x/2)


WILKS = CriticalValues(
    "wilks", {"50": _chi2_2dof(0.5), "90": _chi2_2dof(0.9)}, "2dllh",
    "Wilks' theorem, chi2 with 2 dof on 2 Delta(-lnL): 1.386 (50%), 4.605 (90%)")
ICECUBE_CALIBRATED = CriticalValues(
    "icecube-calibrated", {"50": 22.2, "90": 64.2}, "2dllh",
    "IceCube systematics-calibrated values on 2 Delta(-lnL) (IC160427A re-simulation; skyreader)")
SKYREADER_WILKS = CriticalValues(
    "skyreader-wilks", {"50": 1.39, "90": 4.61}, "2dllh",
    "icecube-skyreader 1.6.3 constants (rounded Wilks values) on its 2 Delta(-lnL) map")
DIRECT_DLLH_WILKS = CriticalValues(
    "direct-dllh-wilks", {"50": 1.39, "90": 4.61}, "dllh",
    "The same numbers added directly to min(-lnL), i.e. a threshold on Delta(-lnL) (too wide by "
    "Wilks' theorem; the convention of older scanner plotting code)")

CONVENTIONS: dict[str, CriticalValues] = {c.name: c for c in (WILKS, ICECUBE_CALIBRATED, SKYREADER_WILKS,
                                                             DIRECT_DLLH_WILKS)}


@runtime_checkable
class HasCriticalValues(Protocol):
    """Anything carrying its own critical values (an :class:`icecore.scan.calibration.EventCalibration`)."""

    @property
    def critical_values(self) -> CriticalValues: ...


#: What every ``convention=`` argument accepts: a name, a :class:`CriticalValues` or a calibration.
ConventionLike = str | CriticalValues | HasCriticalValues

#: Name of the per-event convention (:mod:`icecore.scan.calibration`); it has no fixed levels.
PER_EVENT = "per-event"


def get_convention(conv: ConventionLike) -> CriticalValues:
    """A :class:`CriticalValues` from its name (see :data:`CONVENTIONS`), itself, or anything with a
    ``critical_values`` attribute holding one (an :class:`icecore.scan.calibration.EventCalibration`:
    the ``per-event`` convention of one event)."""
    if isinstance(conv, CriticalValues):
        return conv
    cv = getattr(conv, "critical_values", None)
    if isinstance(cv, CriticalValues):
        return cv
    if str(conv) == PER_EVENT:
        raise InputError("argument 'convention': 'per-event' levels belong to one event; pass its "
                         "EventCalibration (icecore.scan.calibration.calibrate_event) instead of the name",
                         "convention")
    try:
        return CONVENTIONS[str(conv)]
    except KeyError:
        raise InputError(f"argument 'convention': unknown {conv!r}; choose from {sorted(CONVENTIONS)} "
                         f"or pass an EventCalibration ({PER_EVENT!r})", "convention") from None


def finest_map(nside: np.ndarray, pixel: np.ndarray, value: np.ndarray) -> tuple[int, np.ndarray]:
    """Full-sky NESTED map at the finest nside from multi-resolution NESTED pixels.

    Coarser pixels fill all their descendants first, finer pixels overwrite them. Pixels never
    covered are NaN. Returns ``(nside_max, map)``.
    """
    nside = np.asarray(nside, dtype=np.int64)
    pixel = np.asarray(pixel, dtype=np.int64)
    value = np.asarray(value, dtype=float)
    nmax = int(nside.max())
    out = np.full(12 * nmax * nmax, np.nan)
    for ns in np.unique(nside):
        sel = nside == ns
        f = (nmax // int(ns)) ** 2
        if f == 1:
            out[pixel[sel]] = value[sel]
        else:
            idx = (pixel[sel][:, None] * f + np.arange(f)[None, :]).ravel()
            out[idx] = np.repeat(value[sel], f)
    return nmax, out


def statistic_map(llh_map: np.ndarray, statistic: str) -> np.ndarray:
    """2 Δ(−ln L) (``"2dllh"``) or Δ(−ln L) (``"dllh"``) from a −ln L map (non-finite -> NaN)."""
    m = np.where(np.isfinite(llh_map), llh_map, np.nan)
    d = m - np.nanmin(m)
    return 2.0 * d if statistic == "2dllh" else d


def map_nside(smap: MapLike, name: str = "smap") -> int:
    """nside of a full-sky NESTED map (12 nside² values, nside a power of two)."""
    smap = _array(smap)
    npix = int(np.size(smap))
    nside = int(round(np.sqrt(npix / 12.0)))
    if np.ndim(smap) != 1 or nside < 1 or 12 * nside * nside != npix or nside & (nside - 1):
        raise InputError(f"argument '{name}': expected a full-sky NESTED HEALPix map of 12 nside^2 values "
                         f"(nside a power of two), got shape {np.shape(smap)}", name)
    return nside


def interpolate(smap: MapLike, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """A NESTED map at (theta, phi) radians: bilinear (``healpy.get_interp_val``) for an array, the
    surface's own rule for a :class:`~.surface.StatisticSurface`."""
    if isinstance(smap, StatisticSurface):
        return smap(theta, phi)
    return hp.get_interp_val(smap, theta, phi, nest=True)


def _subpixel_centres(nside: int, pix: np.ndarray, sub: int) -> tuple[np.ndarray, np.ndarray]:
    f = sub * sub
    child = (pix[:, None] * f + np.arange(f)[None, :]).ravel()
    return hp.pix2ang(nside * sub, child, nest=True)


def region_area_deg2(smap: MapLike, level: float, *, subdivide: int = 8) -> float:
    """Solid angle (deg²) where the interpolated NESTED statistic map is <= ``level``.

    ``subdivide`` (power of two, >= 1): sub-pixels per map pixel side on the boundary;
    ``subdivide=1`` counts whole map pixels (no interpolation).
    """
    if subdivide < 1 or subdivide & (subdivide - 1):
        raise InputError("argument 'subdivide': must be a power of two >= 1", "subdivide")
    nside = map_nside(smap)
    arr = _array(smap)
    npix = arr.size
    below = np.zeros(npix, dtype=bool)
    fin = np.isfinite(arr)
    below[fin] = arr[fin] <= level
    idx = np.flatnonzero(below)
    if idx.size == 0:
        return 0.0
    pixarea = hp.nside2pixarea(nside, degrees=True)
    if subdivide == 1:
        return float(idx.size * pixarea)
    neigh = hp.get_all_neighbours(nside, idx, nest=True)  # (8, m), -1 where absent
    valid = neigh >= 0
    nb_below = np.where(valid, below[np.where(valid, neigh, 0)], True)
    interior = idx[nb_below.all(axis=0)]
    border = np.union1d(idx, neigh[valid])
    border = np.setdiff1d(border, interior, assume_unique=False)
    theta, phi = _subpixel_centres(nside, border, subdivide)
    vals = interpolate(smap, theta, phi)
    inside = np.count_nonzero(np.isfinite(vals) & (vals <= level))
    return float(interior.size * pixarea + inside * pixarea / (subdivide * subdivide))


def values_at(smap: MapLike, ra_deg: Any, dec_deg: Any) -> np.ndarray:
    """Interpolated map values (:func:`interpolate`) at equatorial positions (degrees)."""
    ra = np.atleast_1d(as_degrees(ra_deg, "ra_deg", ndim=(0, 1)))
    dec = np.atleast_1d(as_degrees(dec_deg, "dec_deg", ndim=(0, 1)))
    if np.any(np.abs(dec) > 90):
        raise InputError("argument 'dec_deg': must be within [-90, 90]", "dec_deg")
    map_nside(smap)
    return np.atleast_1d(interpolate(smap, np.radians(90.0 - dec), np.radians(ra)))


def gnomonic_basis(ra0: float, dec0: float) -> np.ndarray:
    """Rows: the unit vector of (ra0, dec0) deg, then the local east and north unit vectors."""
    a, d = np.radians(ra0), np.radians(dec0)
    c = np.array([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)])
    e = np.array([-np.sin(a), np.cos(a), 0.0])  # east
    n = np.cross(c, e)  # north
    return np.stack([c, e, n])


def contour_polygons(smap: MapLike, level: float, ra0_deg: float, dec0_deg: float, *,
                     radius_deg: float | None = None, grid: int = 401) -> list[np.ndarray]:
    """Closed contour lines of the statistic map at ``level`` around (ra0, dec0).

    The map is interpolated on a ``grid`` x ``grid`` gnomonic (tangent-plane) grid centred on
    the best fit and contoured with contourpy; each polygon is returned as an (n, 2) array of
    (ra_deg, dec_deg). ``radius_deg`` (half-width of the grid) defaults to 1.3 x the largest
    distance of a map pixel inside the region, capped at 60 deg (the gnomonic projection is used
    only within 60 deg of the best fit).
    """
    import contourpy

    nside = map_nside(smap)
    arr = _array(smap)
    B = gnomonic_basis(ra0_deg, dec0_deg)
    if radius_deg is None:
        inside = np.flatnonzero(np.isfinite(arr) & (arr <= level))
        if inside.size == 0:
            return []
        v = np.array(hp.pix2vec(nside, inside, nest=True))
        cosd = np.clip(B[0] @ v, -1, 1)
        radius_deg = float(np.degrees(np.arccos(cosd.min())) + 2 * np.degrees(hp.max_pixrad(nside)))
        radius_deg = min(60.0, max(1.3 * radius_deg, 4 * np.degrees(hp.max_pixrad(nside))))
    half = np.tan(np.radians(radius_deg))
    x = np.linspace(-half, half, grid)
    X, Y = np.meshgrid(x, x)
    vec = B[0][None, :] + X.ravel()[:, None] * B[1][None, :] + Y.ravel()[:, None] * B[2][None, :]
    vec /= np.linalg.norm(vec, axis=1)[:, None]
    theta = np.arccos(np.clip(vec[:, 2], -1, 1))
    phi = np.arctan2(vec[:, 1], vec[:, 0])
    Z = interpolate(smap, theta, phi).reshape(X.shape)
    Z = np.where(np.isfinite(Z), Z, np.nanmax(Z) if np.isfinite(Z).any() else level + 1)
    gen = contourpy.contour_generator(x, x, Z, line_type=contourpy.LineType.Separate)
    out = []
    for line in gen.lines(level):
        line = np.asarray(line)
        if len(line) < 3:
            continue
        v = B[0][None, :] + line[:, :1] * B[1][None, :] + line[:, 1:2] * B[2][None, :]
        v /= np.linalg.norm(v, axis=1)[:, None]
        ra = np.degrees(np.arctan2(v[:, 1], v[:, 0])) % 360.0
        dec = np.degrees(np.arcsin(np.clip(v[:, 2], -1, 1)))
        out.append(np.column_stack([ra, dec]))
    return out


@dataclass
class Rectangle:
    """The GCN-circular error box: RA = ra + ra_plus - ra_minus, Dec = dec + dec_plus - dec_minus (deg)."""

    ra_deg: float
    dec_deg: float
    ra_plus: float
    ra_minus: float
    dec_plus: float
    dec_minus: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {"ra_deg": self.ra_deg, "dec_deg": self.dec_deg, "ra_plus": self.ra_plus,
                "ra_minus": self.ra_minus, "dec_plus": self.dec_plus, "dec_minus": self.dec_minus}

    def __str__(self) -> str:
        return (f"RA {self.ra_deg:.2f} +{self.ra_plus:.2f} -{self.ra_minus:.2f} deg, "
                f"Dec {self.dec_deg:+.2f} +{self.dec_plus:.2f} -{self.dec_minus:.2f} deg (J2000)")


def bounding_rectangle(polygons: Sequence[np.ndarray], ra0_deg: float, dec0_deg: float) -> Rectangle:
    """RA/Dec extent of contour polygons around the best fit, as printed in GCN circulars.

    RA offsets are measured on the RA axis (not great circles), wrapped to (-180, 180] around
    ``ra0_deg``; all four extents are returned as non-negative numbers of degrees.
    """
    if not polygons:
        raise InputError("argument 'polygons': no contour to bound", "polygons")
    pts = np.concatenate(list(polygons))
    dra = (pts[:, 0] - ra0_deg + 180.0) % 360.0 - 180.0
    ddec = pts[:, 1] - dec0_deg
    return Rectangle(float(ra0_deg), float(dec0_deg), float(max(dra.max(), 0.0)), float(max(-dra.min(), 0.0)),
                     float(max(ddec.max(), 0.0)), float(max(-ddec.min(), 0.0)))


# ---- the area's resolution uncertainty (issue #13) ---------------------------------------------
@dataclass(frozen=True)
class AreaEstimate:
    """A contour area with the uncertainty that comes from the scan's resolution (deg²).

    The rule (:func:`area_with_resolution`): ``area_deg2`` is the interpolated area of
    :func:`region_area_deg2` (the number icecore has always reported). Every scanned pixel, *at
    the nside it was scanned at*, that touches the contour line -- it holds a finest-map pixel
    on either side of the line next to one on the other side -- may lie partly inside or partly
    outside: ``lo_deg2`` counts the inside pixels without these, ``hi_deg2`` adds them whole. The
    true area lies in [lo, hi] as long as the statistic is monotone between neighbouring pixel
    centres; a contour that reaches the part scanned only at a coarse nside gets a wide interval
    (the interpolation there is a guess, and so is any other rule: skyreader's line integral, a
    count of whole pixels -- ``whole_pixels_deg2`` -- or ours). ``unresolved`` is True when no
    scanned pixel is inside the contour without touching its line (the contour is smaller than
    the pixels around it: report ``hi_deg2`` as an upper bound, not the area).

    Attributes
    ----------
    area_deg2, lo_deg2, hi_deg2, whole_pixels_deg2 : float
    boundary_nsides : dict of int -> float
        Solid angle (deg²) of the touching pixels per scanned nside.
    unresolved : bool
    """

    area_deg2: float
    lo_deg2: float
    hi_deg2: float
    whole_pixels_deg2: float
    boundary_nsides: dict = field(default_factory=dict)
    unresolved: bool = False

    @property
    def resolution_error_deg2(self) -> float:
        """Half-width of the [lo, hi] interval."""
        return 0.5 * (self.hi_deg2 - self.lo_deg2)

    def as_dict(self) -> dict[str, Any]:
        return {"area_deg2": self.area_deg2, "lo_deg2": self.lo_deg2, "hi_deg2": self.hi_deg2,
                "whole_pixels_deg2": self.whole_pixels_deg2, "resolution_error_deg2": self.resolution_error_deg2,
                "boundary_nsides": {str(k): v for k, v in self.boundary_nsides.items()},
                "unresolved": self.unresolved}

    def __str__(self) -> str:
        if self.unresolved:
            return f"< {self.hi_deg2:.3g} deg2 (unresolved: smaller than the scanned pixels)"
        return f"{self.area_deg2:.3g} deg2 (resolution interval {self.lo_deg2:.3g}-{self.hi_deg2:.3g})"


def area_with_resolution(nside: Any, pixel: Any, smap: MapLike, level: float, *,
                         subdivide: int = 8) -> AreaEstimate:
    """Contour area with its resolution interval (rule: :class:`AreaEstimate`).

    Parameters
    ----------
    nside, pixel : (n,) int
        The scanned pixels (NESTED) and their nsides (``ScanResult.nside``, ``ScanResult.pixel``).
    smap : ndarray or StatisticSurface
        Full-sky NESTED statistic map at the finest nside (``ScanResult.statistic_map(...)`` or
        ``ScanResult.statistic_surface(...)``).
    level : float
        Critical value on that statistic.
    subdivide : int
        As in :func:`region_area_deg2` (for ``area_deg2``).
    """
    nside_arr = np.asarray(nside, dtype=np.int64)
    nmax = map_nside(smap)
    if nside_arr.size == 0 or int(nside_arr.max()) != nmax:
        raise InputError(f"argument 'nside': finest scanned nside must equal the map's ({nmax})", "nside")
    area = region_area_deg2(smap, level, subdivide=subdivide)
    smap = _array(smap)
    fin = np.isfinite(smap)
    inside = np.zeros(smap.size, dtype=bool)
    inside[fin] = smap[fin] <= level
    fine_area = hp.nside2pixarea(nmax, degrees=True)
    idx = np.flatnonzero(inside)
    whole = float(idx.size * fine_area)
    if idx.size == 0:
        return AreaEstimate(area, 0.0, 0.0, 0.0, {}, True)
    _, native = finest_map(nside_arr, np.asarray(pixel, dtype=np.int64), nside_arr.astype(float))
    neigh = hp.get_all_neighbours(nmax, idx, nest=True)
    valid = neigh >= 0
    nb_in = np.where(valid, inside[np.where(valid, neigh, 0)], True)
    touching_in = idx[~nb_in.all(axis=0)]                    # inside, next to outside
    touching_out = np.unique(neigh[valid & ~nb_in])          # outside, next to inside
    touching = np.union1d(touching_in, touching_out)
    nat = native[touching]
    nat = np.where(np.isfinite(nat), nat, nmax).astype(np.int64)
    band = [touching[nat == nmax]]
    per_nside: dict[int, float] = {}
    for ns in np.unique(nat):
        f = (nmax // int(ns)) ** 2
        parents = np.unique(touching[nat == ns] // f)
        band.append((parents[:, None] * f + np.arange(f)[None, :]).ravel())
        per_nside[int(ns)] = float(parents.size * hp.nside2pixarea(int(ns), degrees=True))
    u = np.zeros(smap.size, dtype=bool)
    u[np.concatenate(band)] = True
    lo = float(np.count_nonzero(inside & ~u) * fine_area)
    hi = float(np.count_nonzero(inside | u) * fine_area)
    return AreaEstimate(area, lo, hi, whole, per_nside, lo == 0.0)
