"""Plots of a scan one can put in a talk: full sky with an inset zoom, and a zoom with contours.

matplotlib with the Agg backend (no display needed). Every plot is written as PNG and as a PDF
beside it (same name, ``.pdf``). Conventions shown on every plot:

- equatorial J2000 coordinates in degrees, RA increasing to the left (east left, as on the sky);
- colour: 2Δ(−ln L) of each direction relative to the best fit, on a sequential colour map that
  stays readable in greyscale (dark = likely), clipped to a range around the contour levels;
- contours: 50 % (thin) and 90 % (thick) for each convention, named in the legend with its
  critical value; star = best fit, cross = true direction (simulations);
- title: run, event, time (UTC) of the event.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from ..coords import angular_distance_deg
from . import contours as _c

__all__ = ["plot_mollweide", "plot_zoom", "plot_healpix_map", "CMAP"]

#: Sequential colour map, monotonic in lightness (greyscale-safe), reversed: small 2Δ(−ln L) (likely) is
#: dark, the excluded sky is pale (so labels and grid stay readable on it).
CMAP = "YlGnBu_r"
_STYLES = ("-", "--", ":", "-.")
_COLOURS = ("tab:red", "tab:orange", "tab:pink", "tab:brown")


def _figure() -> Any:
    from .._optional import require

    matplotlib = require("matplotlib", "plot", "sky-scan plots")
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure


def _save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as PNG at ``path`` and as PDF beside it; returns the PNG path."""
    path = Path(path)
    for fmt, target in (("png", path), ("pdf", path.with_suffix(".pdf"))):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else None, bbox_inches="tight")
        atomic_write(target, buf.getvalue())
    return path


def _time_label(mjd: float) -> str:
    if not mjd:
        return "time unknown"
    from astropy.time import Time

    return Time(float(mjd), format="mjd", scale="utc").isot[:19].replace("T", " ") + " UTC"


def _title(result: Any, what: str) -> str:
    m = result.meta
    kind = m.get("event_type", "")
    return (f"{what}: run {int(m['run_id'])} event {int(m['event_id'])}"
            f"{f' ({kind})' if kind and kind != 'UNKNOWN' else ''}\n{_time_label(float(m.get('mjd') or 0.0))}")


def _zoom_radius(result: Any, sets: Sequence[Any]) -> float:
    best = result.best_fit
    pts = [p for cs in sets for polys in cs.polygons.values() for p in polys]
    if not pts:
        return 5.0
    allp = np.concatenate(pts)
    d = angular_distance_deg(best["ra_deg"], best["dec_deg"], allp[:, 0], allp[:, 1])
    return float(min(30.0, max(0.5, 1.4 * np.max(d))))


def _vmax(sets: Sequence[Any]) -> float:
    """Colour range: twice the largest 90 % critical value (so contours sit in distinct shades)."""
    return 2.0 * max(cs.convention.levels.get("90", max(cs.convention.levels.values())) for cs in sets)


def _draw_zoom(ax: Any, result: Any, sets: Sequence[Any], radius_deg: float, *, truth: Any, legend: bool,
               n_grid: int = 301) -> Any:
    """Gnomonic zoom on ``ax`` (x = east offset, drawn increasing to the left); returns the mesh."""
    best = result.best_fit
    B = _c.gnomonic_basis(best["ra_deg"], best["dec_deg"])
    half = np.tan(np.radians(radius_deg))
    t = np.linspace(-half, half, n_grid)
    X, Y = np.meshgrid(t, t)
    vec = B[0][None, :] + X.ravel()[:, None] * B[1][None, :] + Y.ravel()[:, None] * B[2][None, :]
    vec /= np.linalg.norm(vec, axis=1)[:, None]
    smap = result.statistic_surface("2dllh")
    Z = _c.interpolate(smap, np.arccos(np.clip(vec[:, 2], -1, 1)), np.arctan2(vec[:, 1], vec[:, 0])).reshape(X.shape)
    off = np.degrees(np.arctan(t))
    mesh = ax.pcolormesh(off, off, np.clip(Z, 0, None), shading="auto", cmap=CMAP, vmin=0.0, vmax=_vmax(sets),
                         rasterized=True)

    def proj(ra: Any, dec: Any) -> tuple[np.ndarray, np.ndarray]:
        a, d = np.radians(np.atleast_1d(ra)), np.radians(np.atleast_1d(dec))
        v = np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=1)
        c = v @ B[0]
        return np.degrees(np.arctan((v @ B[1]) / c)), np.degrees(np.arctan((v @ B[2]) / c))

    for k, cs in enumerate(sets):
        for label, polys in cs.polygons.items():
            for j, poly in enumerate(polys):
                px, py = proj(poly[:, 0], poly[:, 1])
                name = (f"{cs.convention.name} {label} % ({cs.convention.statistic} ≤ "
                        f"{cs.convention.levels[label]:.3g}): {cs.areas_deg2[label]:.3g} deg²")
                ax.plot(px, py, _STYLES[k % 4], color=_COLOURS[k % 4], lw=2.2 if label == "90" else 1.2,
                        label=name if j == 0 else None)
    ax.plot([0], [0], "*", color="white", mec="black", ms=14, label=f"best fit ({best['ra_deg']:.2f}°, "
            f"{best['dec_deg']:+.2f}°)")
    if truth is not None:
        tx, ty = proj(truth[0], truth[1])
        if abs(tx[0]) <= radius_deg and abs(ty[0]) <= radius_deg:
            ax.plot(tx, ty, "X", color="black", mec="white", ms=10, label=f"truth ({truth[0]:.2f}°, {truth[1]:+.2f}°)")
    ax.set_xlim(off[-1], off[0])  # east (RA increasing) to the left
    ax.set_ylim(off[0], off[-1])
    ax.set_aspect("equal")
    if legend:
        ax.legend(fontsize=7, loc="upper left", framealpha=0.85,
                  title="contours (convention, critical value): area", title_fontsize=7)
    return mesh


def plot_zoom(result: Any, path: str | Path, *, conventions: tuple = ("wilks", "icecube-calibrated"),
              radius_deg: float | None = None, truth: tuple[float, float] | None = None) -> Path:
    """Zoom around the best fit with the 50 %/90 % contours (PNG at ``path`` and PDF beside it).

    Axes are gnomonic offsets from the best fit in degrees: x = east offset (positive to the
    left, where RA increases), y = north offset. ``truth`` = (RA, Dec) in degrees of a simulated
    event's true direction, drawn when inside the view.
    """
    Figure = _figure()
    sets = [result.contours(c) for c in conventions]
    radius = _zoom_radius(result, sets) if radius_deg is None else float(radius_deg)
    fig = Figure(figsize=(7, 6.4))
    ax = fig.add_subplot(111)
    mesh = _draw_zoom(ax, result, sets, radius, truth=truth, legend=True)
    best = result.best_fit
    ax.set_xlabel(f"east offset from RA {best['ra_deg']:.2f}° [deg] (RA increases to the left)", fontsize=10)
    ax.set_ylabel(f"north offset from Dec {best['dec_deg']:+.2f}° [deg]", fontsize=10)
    ax.grid(True, color="0.5", alpha=0.4, lw=0.6)
    fig.colorbar(mesh, ax=ax, label="2 Δ(−ln L)", extend="max", shrink=0.85)
    ax.set_title(_title(result, "sky scan, zoom"), fontsize=10)
    return _save(fig, path)


def _lonlat(ra_deg: Any, dec_deg: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mollweide axes coordinates (radians) of equatorial positions, RA increasing to the left."""
    ra = np.asarray(ra_deg, dtype=float)
    return -np.radians(((ra + 180.0) % 360.0) - 180.0), np.radians(np.asarray(dec_deg, dtype=float))


def _sky_line(ax: Any, ra_deg: Any, dec_deg: Any, *style: Any, **kwargs: Any) -> None:
    """A line on the Mollweide axes, broken where it crosses RA = 180° (the map edge)."""
    x, y = _lonlat(ra_deg, dec_deg)
    jump = np.flatnonzero(np.abs(np.diff(x)) > np.pi) + 1
    ax.plot(np.insert(x, jump, np.nan), np.insert(y, jump, np.nan), *style, **kwargs)


def _sky_axes(fig: Any, rect: Sequence[float]) -> Any:
    ax = fig.add_axes(rect, projection="mollweide")
    ax.set_xticks(np.radians(np.arange(-150, 180, 30)))
    ax.set_xticklabels([f"{int(v)}°" for v in (np.arange(150, -180, -30) % 360)], fontsize=8,
                       bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, color="0.3", alpha=0.5, lw=0.5)
    ax.set_xlabel("right ascension (J2000, increasing to the left)", fontsize=9)
    ax.set_ylabel("declination", fontsize=9)
    return ax


def _sky_image(smap: np.ndarray, nest: bool, nside_plot: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import healpy as hp

    nside = hp.npix2nside(smap.size)
    if nside > nside_plot:
        order = "NESTED" if nest else "RING"
        smap = hp.ud_grade(smap, nside_plot, order_in=order, order_out=order)
        nside = nside_plot
    lon = np.linspace(-np.pi, np.pi, 721)
    lat = np.linspace(-np.pi / 2, np.pi / 2, 361)
    LON, LAT = np.meshgrid(lon, lat)
    ra = (-LON) % (2 * np.pi)
    pix = hp.ang2pix(nside, np.pi / 2 - LAT, ra, nest=nest)
    return LON, LAT, smap[pix]


def plot_mollweide(result: Any, path: str | Path, *, nside_plot: int = 128,
                   conventions: tuple = ("wilks", "icecube-calibrated"),
                   truth: tuple[float, float] | None = None) -> Path:
    """Full-sky Mollweide of 2Δ(−ln L) with the contours, best fit, truth and an inset zoom.

    PNG at ``path`` and PDF beside it. The colour range is clipped to twice the largest 90 %
    critical value, so the region that matters is resolved; the inset (upper right) shows the
    zoom of :func:`plot_zoom` and its field is outlined on the sky.
    """
    Figure = _figure()
    sets = [result.contours(c) for c in conventions]
    smap = result.statistic_map("2dllh")
    LON, LAT, Z = _sky_image(smap, True, nside_plot)
    fig = Figure(figsize=(11, 5.6))
    ax = _sky_axes(fig, [0.04, 0.12, 0.6, 0.76])
    mesh = ax.pcolormesh(LON, LAT, np.clip(Z, 0, None), shading="auto", cmap=CMAP, vmin=0.0, vmax=_vmax(sets),
                         rasterized=True)
    for k, cs in enumerate(sets):
        for poly in cs.polygons.get("90", []):
            _sky_line(ax, poly[:, 0], poly[:, 1], _STYLES[k % 4], color=_COLOURS[k % 4], lw=1.5)
    best = result.best_fit
    bx, by = _lonlat(best["ra_deg"], best["dec_deg"])
    ax.plot(bx, by, "*", color="white", mec="black", ms=13)
    if truth is not None:
        tx, ty = _lonlat(truth[0], truth[1])
        ax.plot(tx, ty, "X", color="black", mec="white", ms=9)
    radius = _zoom_radius(result, sets)
    ring = np.linspace(0, 2 * np.pi, 181)
    dec_r = np.clip(best["dec_deg"] + radius * np.sin(ring), -90, 90)
    ra_r = best["ra_deg"] + radius * np.cos(ring) / max(np.cos(np.radians(best["dec_deg"])), 0.05)
    _sky_line(ax, ra_r, dec_r, "-", color="black", lw=0.8)
    fig.colorbar(mesh, ax=ax, orientation="horizontal", fraction=0.05, pad=0.1, extend="max",
                 label="2 Δ(−ln L) relative to the best fit")
    inset = fig.add_axes([0.69, 0.4, 0.29, 0.48])
    _draw_zoom(inset, result, sets, radius, truth=truth, legend=False, n_grid=201)
    inset.set_xlabel("east offset [deg] (RA ← left)", fontsize=8)
    inset.set_ylabel("north offset [deg]", fontsize=8)
    inset.tick_params(labelsize=7)
    inset.set_title(f"zoom: RA {best['ra_deg']:.2f}°, Dec {best['dec_deg']:+.2f}°", fontsize=8)
    handles, labels = inset.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", fontsize=7, ncol=1, framealpha=0.9, bbox_to_anchor=(0.66, 0.31),
               title="contours (convention, critical value): area", title_fontsize=7)
    fig.suptitle(_title(result, "sky scan"), fontsize=11)
    return _save(fig, path)


def plot_healpix_map(values: np.ndarray, path: str | Path, *, nest: bool = False,
                     hottest: tuple[float, float] | None = None, title: str = "", label: str = "value",
                     nside_plot: int = 128) -> list[Path]:
    """Full-sky Mollweide of any equatorial HEALPix map (e.g. a point-source TS map); PNG + PDF.

    ``hottest`` = (RA, Dec) in degrees, marked with a star. Returns [PNG, PDF] paths.
    """
    Figure = _figure()
    LON, LAT, Z = _sky_image(np.asarray(values, dtype=float), nest, nside_plot)
    fig = Figure(figsize=(9, 5.4))
    ax = _sky_axes(fig, [0.06, 0.16, 0.88, 0.72])
    finite = Z[np.isfinite(Z)]
    vmax = float(np.max(finite)) if finite.size and np.max(finite) > 0 else 1.0
    mesh = ax.pcolormesh(LON, LAT, Z, shading="auto", cmap="cividis", vmin=0.0, vmax=vmax, rasterized=True)
    if hottest is not None:
        hx, hy = _lonlat(hottest[0], hottest[1])
        ax.plot(hx, hy, "*", color="white", mec="black", ms=13,
                label=f"hottest spot: RA {hottest[0]:.2f}°, Dec {hottest[1]:+.2f}°")
        ax.legend(loc="lower right", fontsize=8, bbox_to_anchor=(1.0, -0.12))
    fig.colorbar(mesh, ax=ax, orientation="horizontal", fraction=0.05, pad=0.12, label=label)
    ax.set_title(title, fontsize=11)
    png = _save(fig, path)
    return [png, png.with_suffix(".pdf")]
