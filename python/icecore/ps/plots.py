"""Figures of the point-source analysis (needs the ``plot`` extra: matplotlib)."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from .._optional import require
from ..errors import FitError, InputError
from ..stats import BackgroundTS

__all__ = ["plot_background"]

log = logging.getLogger(__name__)


def _tail_label(fit: Mapping[str, Any]) -> str:
    if fit["model"] == "chi2":
        return f"fit: {fit['eta']:.2f} x chi2(ndof = {fit['ndof']:.2f})"
    return f"fit: exponential tail (scale {fit['scale']:.2f})"


def plot_background(bg: BackgroundTS, path: str | os.PathLike[str], *, thresholds: dict[str, float] | None = None,
                    title: str = "") -> Path:
    """PNG (and PDF beside it) of a background TS distribution (survival function of the trials) and its tail.

    Parameters
    ----------
    bg : icecore.stats.BackgroundTS
        The background trials.
    path : path-like
        PNG file to write (atomically); the PDF is written beside it (same name, ``.pdf``).
    thresholds : dict of str to float, optional
        TS values to mark with a labelled vertical line (e.g. the median, the 5 sigma threshold).
    title : str
        Figure title.

    Returns
    -------
    Path of the PNG. When the tail cannot be fitted the figure shows the trials only (warning logged).
    """
    matplotlib = require("matplotlib", "plot", "the background TS plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xmax = max(bg.max_ts if bg.n else 1.0, 1.0) * 1.3
    if thresholds:
        xmax = max(xmax, 1.1 * max(thresholds.values()))
    x = np.linspace(0.0, xmax, 400)
    emp = np.array([bg.count_above(v) / bg.n for v in x])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ok = emp > 0
    ax.step(x[ok], emp[ok], where="post", label=f"background trials (n = {bg.n})")
    try:
        tail = bg.tail_curve(x)
        ax.plot(x, tail, "--", label=_tail_label(bg.fit_tail()))
    except (FitError, InputError) as exc:  # plot what we have
        log.warning("tail fit failed: %s", exc)
    for name, v in (thresholds or {}).items():
        ax.axvline(v, color="grey", lw=0.8, ls=":")
        ax.text(v, 0.5, f" {name}", rotation=90, va="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("TS")
    ax.set_ylabel("P(TS' >= TS)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = Path(path)
    for fmt, target in (("png", png), ("pdf", png.with_suffix(".pdf"))):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=110 if fmt == "png" else None)
        atomic_write(target, buf.getvalue())
    plt.close(fig)
    return png
