"""Plots of the orientation fits (matplotlib, Agg backend; each plot as PNG and as PDF beside it).

Conventions: azimuths in degrees, IceCube/IceTop convention (as :func:`icecore.radio.gc_azimuth`);
RMS in ADC counts of the cleaned traces; arm orientations modulo 180°.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write, safe_name
from .galactic import gc_azimuth
from .io import NoiseTable
from .orientation import month_labels

__all__ = ["plot_monthly_fits", "plot_summary", "plot_orientation"]

log = logging.getLogger(__name__)


def _pyplot():
    from .._optional import require

    matplotlib = require("matplotlib", "plot", "radio plots")

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Write ``fig`` as PNG at ``path`` and as PDF beside it; returns the PNG path."""
    path = Path(path)
    for fmt, target in (("png", path), ("pdf", path.with_suffix(".pdf"))):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150 if fmt == "png" else None)
        atomic_write(target, buf.getvalue())
    _pyplot().close(fig)
    return path


def plot_monthly_fits(table: NoiseTable, result: Any, outdir: Any, *, keep: np.ndarray | None = None,
                      max_points: int = 3000) -> list[Path]:
    """One PNG per channel: RMS against GC azimuth for every month, with the fitted sinusoid.

    ``keep`` (channels, events) marks the events that entered the fits (default: not rejected
    and inside the result's cut). At most ``max_points`` points per month are drawn.
    """
    plt = _pyplot()
    outdir = Path(outdir)
    months = month_labels(table.times_mjd)
    az = gc_azimuth(table.times_mjd)
    if keep is None:
        c = result.cut_report["cut"]
        keep = ((~table.rejected) & (table.rms >= c["rms_min"]) & (table.rms <= c["rms_max"])
                & (table.spread <= c["spread_max"]))
    paths = []
    grid = np.linspace(0, 360, 361)
    rng = np.random.default_rng(0)
    for ch in range(table.n_channels):
        label = table.channel_label(ch)
        fits = result.monthly.get(label, {})
        if not fits:
            continue
        names = sorted(fits)
        ncol = min(4, len(names))
        nrow = int(np.ceil(len(names) / ncol))
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.8 * nrow), squeeze=False, sharex=True)
        for ax, m in zip(axes.flat, names):
            sel = np.flatnonzero(keep[ch] & (months == m))
            if sel.size > max_points:
                sel = np.sort(rng.choice(sel, max_points, replace=False))
            f = fits[m]
            ax.plot(az[sel], table.rms[ch, sel], ".", ms=1.5, alpha=0.4, color="0.4", label="events (after cuts)")
            ax.plot(grid, f.model(grid), "r-", lw=1.5, label="sinusoid fit")
            for k, arm in enumerate((f.arm_deg, f.arm_deg + 180)):
                ax.axvline(arm, color="C0", ls="--", lw=1, label="fitted arm" if k == 0 else None)
            ax.set_title(f"{m}: arm {f.arm_deg:.1f} ± {f.sigma_deg:.1f}°", fontsize=9)
            ax.set_xlim(0, 360)
        for ax in list(axes.flat)[len(names):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("Galactic-Centre azimuth [deg]")
        for ax in axes[:, 0]:
            ax.set_ylabel("noise RMS [ADC]")
        axes.flat[0].legend(fontsize=6, loc="upper right", markerscale=4)
        fig.suptitle(f"{label}: noise RMS vs Galactic-Centre azimuth, {names[0]} to {names[-1]}")
        fig.tight_layout()
        paths.append(_save(fig, outdir / f"rms_vs_gc_{safe_name(label)}.png"))
    return paths


def plot_summary(result: Any, path: Any, *, gps_deg: Any = None) -> Path:
    """Monthly arm orientations with errors per channel, the yearly mean (band) and GPS lines."""
    plt = _pyplot()
    labels = sorted(result.monthly)
    fig, axes = plt.subplots(len(labels), 1, figsize=(8, 2.4 * max(1, len(labels))), squeeze=False)
    for ax, label in zip(axes[:, 0], labels):
        fits = result.monthly[label]
        ms = sorted(fits)
        y = result.yearly.get(label)
        ref = y.arm_deg if y is not None else (fits[ms[0]].arm_deg if ms else 0.0)
        # unwrap monthly values to within +-90 deg of the reference so the points stay together
        vals = [ref + float(((fits[m].arm_deg - ref + 90) % 180) - 90) for m in ms]
        ax.errorbar(range(len(ms)), vals, yerr=[fits[m].sigma_deg for m in ms], fmt="o", ms=4, capsize=2)
        if y is not None:
            ax.axhspan(y.arm_deg - y.sigma_scaled_deg, y.arm_deg + y.sigma_scaled_deg, color="C1", alpha=0.3)
            ax.axhline(y.arm_deg, color="C1", label=f"yearly {y.arm_deg:.2f} ± {y.sigma_scaled_deg:.2f}°")
        antenna = int(label[1:label.index("P")])
        pol = int(label[label.index("P") + 1:])
        g = gps_deg.get(antenna) if isinstance(gps_deg, dict) else gps_deg
        if g is not None:
            expect = float(g) + 90.0 * pol
            expect = ref + float(((expect - ref + 90) % 180) - 90)
            ax.axhline(expect, color="k", ls="--", label=f"GPS {np.mod(expect, 180):.2f}°")
        ax.set_xticks(range(len(ms)))
        ax.set_xticklabels(ms, rotation=45, fontsize=7)
        ax.set_ylabel(f"{label} arm azimuth [deg]")
        ax.set_xlabel("month (UTC)")
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("arm orientation per month (points), yearly mean ± scaled error (band), GPS (dashed)", fontsize=9)
    fig.tight_layout()
    return _save(fig, Path(path))


def plot_orientation(table: NoiseTable, result: Any, outdir: Any, *, gps_deg: Any = None) -> list[Path]:
    """All plots of an orientation fit into ``outdir``: :func:`plot_monthly_fits` (one PNG per
    channel) and :func:`plot_summary` (``orientation_summary.png``); returns their paths."""
    paths = plot_monthly_fits(table, result, outdir)
    paths.append(plot_summary(result, Path(outdir) / "orientation_summary.png", gps_deg=gps_deg))
    return paths
