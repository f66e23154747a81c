"""PNG plots of a scan: full-sky Mollweide and a zoom around the best fit with contours.

matplotlib with the Agg backend (no display needed). Colour scale: 2Δ(−ln L), clipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from ..coords import angular_distance_deg
from . import contours as _c

__all__ = ["plot_mollweide", "plot_zoom"]


def _figure():
    from .._optional import require

    matplotlib = require("matplotlib", "plot", "sky-scan plots")

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure


def _save(fig: Any, path: str | Path) -> Path:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return atomic_write(path, buf.getvalue())


def plot_mollweide(result: Any, path: str | Path, *, nside_plot: int = 128) -> Path:
    """Full-sky Mollweide map of log10(1 + 2Δ(−ln L)) (equatorial, RA increasing to the left)."""
    import healpy as hp

    Figure = _figure()
    smap = result.statistic_map("2dllh")
    nside = _c.map_nside(smap)
    ns = min(nside, nside_plot)
    lon = np.linspace(-np.pi, np.pi, 721)
    lat = np.linspace(-np.pi / 2, np.pi / 2, 361)
    LON, LAT = np.meshgrid(lon, lat)
    ra = (-LON) % (2 * np.pi)  # astronomical orientation: RA grows to the left
    m = hp.ud_grade(smap, ns, order_in="NESTED", order_out="NESTED") if ns < nside else smap
    pix = hp.ang2pix(ns, np.pi / 2 - LAT, ra, nest=True)
    Z = np.log10(1.0 + np.clip(m[pix], 0, None))
    fig = Figure(figsize=(9, 5))
    ax = fig.add_subplot(111, projection="mollweide")
    im = ax.pcolormesh(LON, LAT, Z, shading="auto", cmap="viridis_r")
    best = result.best_fit
    bl = -np.radians(((best["ra_deg"] + 180) % 360) - 180)
    ax.plot([bl], [np.radians(best["dec_deg"])], "r*", ms=10)
    ax.set_xticklabels([f"{int(x)}°" for x in np.arange(150, -180, -30) % 360])
    ax.grid(True, alpha=0.3)
    fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.05, label="log10(1 + 2 Δ(−ln L))")
    meta = result.meta
    ax.set_title(f"run {meta['run_id']} event {meta['event_id']}  best RA {best['ra_deg']:.2f}°, "
                 f"Dec {best['dec_deg']:+.2f}°", fontsize=10)
    return _save(fig, path)


def plot_zoom(result: Any, path: str | Path, *, conventions: tuple = ("wilks", "icecube-calibrated"),
              radius_deg: float | None = None) -> Path:
    """Zoom around the best fit (gnomonic offsets, deg) with the 50 %/90 % contours."""
    Figure = _figure()
    best = result.best_fit
    sets = [result.contours(c) for c in conventions]
    pts = [p for cs in sets for polys in cs.polygons.values() for p in polys]
    if radius_deg is None:
        if pts:
            allp = np.concatenate(pts)
            d = angular_distance_deg(best["ra_deg"], best["dec_deg"], allp[:, 0], allp[:, 1])
            radius_deg = float(min(30.0, max(1.0, 1.3 * np.max(d))))
        else:
            radius_deg = 5.0
    B = _c.gnomonic_basis(best["ra_deg"], best["dec_deg"])
    half = np.tan(np.radians(radius_deg))
    x = np.linspace(-half, half, 301)
    X, Y = np.meshgrid(x, x)
    vec = B[0][None, :] + X.ravel()[:, None] * B[1][None, :] + Y.ravel()[:, None] * B[2][None, :]
    vec /= np.linalg.norm(vec, axis=1)[:, None]
    smap = result.statistic_map("2dllh")
    Z = _c.interpolate(smap, np.arccos(np.clip(vec[:, 2], -1, 1)), np.arctan2(vec[:, 1], vec[:, 0])).reshape(X.shape)
    fig = Figure(figsize=(6.5, 6))
    ax = fig.add_subplot(111)
    deg = np.degrees(np.arctan(x))
    im = ax.pcolormesh(-deg, deg, np.clip(Z, 0, 3 * max(cs.convention.levels["90"] for cs in sets)),
                       shading="auto", cmap="viridis_r")
    styles = ["-", "--", ":", "-."]
    colours = {"50": "k", "90": "r"}

    def proj(poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, d = np.radians(poly[:, 0]), np.radians(poly[:, 1])
        v = np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=1)
        c = v @ B[0]
        return -np.degrees(np.arctan((v @ B[1]) / c)), np.degrees(np.arctan((v @ B[2]) / c))

    for k, cs in enumerate(sets):
        for label, polys in cs.polygons.items():
            for j, poly in enumerate(polys):
                px, py = proj(poly)
                ax.plot(px, py, styles[k % 4], color=colours.get(label, "w"), lw=1.5,
                        label=(f"{cs.convention.name} {label}%: {cs.areas_deg2[label]:.3g} deg²" if j == 0 else None))
    ax.plot([0], [0], "w*", ms=12, mec="k")
    ax.set_xlabel("east offset (deg, gnomonic; RA increases to the left)")
    ax.set_ylabel("north offset (deg)")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(im, ax=ax, label="2 Δ(−ln L)")
    ax.set_title(f"best fit RA {best['ra_deg']:.2f}°, Dec {best['dec_deg']:+.2f}°", fontsize=10)
    return _save(fig, path)
