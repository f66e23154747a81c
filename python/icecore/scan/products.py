"""Write every product of a scan into a directory (what ``icecore scan run`` produces)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._io import atomic_write, safe_name
from .result import ScanResult

__all__ = ["write_products", "skyreader_stem"]


def skyreader_stem(result: ScanResult) -> str:
    """skyreader's file stem: ``run{run:08d}.evt{event:012d}.{type}_{nsides}`` (sanitised)."""
    m = result.meta
    stem = (f"run{int(m['run_id']):08d}.evt{int(m['event_id']):012d}.{m['event_type']}_"
            + "_".join(str(n) for n in result.nsides))
    return safe_name(stem)


def write_products(result: ScanResult, out: str | Path, *, conventions: Sequence[str] = ("wilks", "icecube-calibrated"),
                   catalog: str | Path | None = None, plots: bool = True) -> dict[str, Any]:
    """skyreader npz + json, HEALPix FITS (2ΔlnL, NESTED), PNG plots and ``summary.json``.

    Returns the summary (best fit, pixels per nside, areas and rectangles per convention,
    associations, scan info, file list). All writes are atomic.
    """
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = skyreader_stem(result)
    files = [result.to_npz(outdir / f"{stem}.npz"), result.to_json(outdir / f"{stem}.json"),
             result.to_fits(outdir / f"{stem}.fits")]
    summary = result.summary(conventions)
    if catalog is not None:
        from ..catalog import read_catalog
        from .association import associate

        cat = read_catalog(catalog)
        summary["associations"] = [{**a, "convention": c} for c in conventions
                                   for a in associate(result, cat, convention=c)]
    if plots:
        from .plot import plot_mollweide, plot_zoom

        files.append(plot_mollweide(result, outdir / f"{stem}.sky.png"))
        files.append(plot_zoom(result, outdir / f"{stem}.zoom.png", conventions=tuple(conventions)))
    summary_path = outdir / "summary.json"
    summary["files"] = [str(f) for f in files] + [str(summary_path)]
    atomic_write(summary_path, json.dumps(summary, indent=2, default=float))
    return summary
