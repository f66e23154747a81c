"""Plot of a follow-up: the GW probability map, its 90 % region, the events and the best direction."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from .._optional import require

__all__ = ["plot_followup"]


def plot_followup(result: Any, path: str | os.PathLike[str]) -> Path:
    """Write a PNG (Mollweide-free zoom in RA/Dec around the 90 % region) [needs matplotlib]."""
    mpl = require("matplotlib", "plot", "plotting the LVK follow-up")
    mpl.use("Agg")
    import io

    import matplotlib.pyplot as plt

    reg = result.search.region
    fig, ax = plt.subplots(figsize=(7, 5))
    sc = ax.scatter(reg.ra_deg, reg.dec_deg, c=reg.prob, s=2, cmap="Blues", marker="s", linewidths=0)
    ax.scatter(reg.ra_deg[reg.in90], reg.dec_deg[reg.in90], s=0.5, c="tab:blue", alpha=0.3, label="GW 90 %")
    ev = result.window_events
    if ev.size:
        ax.scatter(ev["ra_deg"], ev["dec_deg"], s=40, facecolors="none", edgecolors="tab:red", label="events")
        for e in ev:
            circ = plt.Circle((e["ra_deg"], e["dec_deg"]), 2.146 * e["sigma_deg"], fill=False, color="tab:red", lw=0.7)
            ax.add_patch(circ)
    if result.coincident_events:
        ax.plot(result.best_ra_deg, result.best_dec_deg, "k*", ms=12, label="most probable direction")
    ax.set_xlim(max(0, float(np.min(reg.ra_deg)) - 5), min(360, float(np.max(reg.ra_deg)) + 5))
    ax.set_ylim(max(-90, float(np.min(reg.dec_deg)) - 5), min(90, float(np.max(reg.dec_deg)) + 5))
    ax.invert_xaxis()
    ax.set_xlabel("RA [deg]")
    ax.set_ylabel("Dec [deg]")
    ax.set_title(f"{result.alert.superevent_id}: p_generic = {result.pval_generic:.3g}, "
                 f"p_bayesian = {result.pval_bayesian:.3g}")
    fig.colorbar(sc, ax=ax, label="GW probability per pixel")
    ax.legend(loc="lower right", fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return atomic_write(Path(path), buf.getvalue())
