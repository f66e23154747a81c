"""The files of a scan: HEALPix FITS map, and every product in a directory (``icecore scan run``).

:func:`write_products` writes the icecube-skyreader npz + json (:mod:`icecore.scan.skyreader`),
the FITS map (:func:`write_fits`), PNG plots (:mod:`icecore.scan.plot`) and ``summary.json``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import healpy as hp
import numpy as np

from .._io import atomic_write, safe_name
from ..errors import InputError
from .result import ScanResult
from .skyreader import write_json, write_npz

__all__ = ["write_products", "write_fits", "skyreader_stem"]


def skyreader_stem(result: ScanResult) -> str:
    """skyreader's file stem: ``run{run:08d}.evt{event:012d}.{type}_{nsides}`` (sanitised)."""
    m = result.meta
    stem = (f"run{int(m['run_id']):08d}.evt{int(m['event_id']):012d}.{m['event_type']}_"
            + "_".join(str(n) for n in result.nsides))
    return safe_name(stem)


def write_fits(result: ScanResult, path: str | Path, *, statistic: str = "2dllh", nest: bool = True) -> Path:
    """HEALPix FITS map (healpy) of 2Δ(−ln L) (``"2dllh"``) or Δ(−ln L) (``"dllh"``) at the finest
    nside, equatorial (``COORDSYS = C``), NESTED unless ``nest=False``; NaN where not scanned.

    The header carries RUNID, EVENTID and MJD. Written atomically.
    """
    m = result.statistic_map(statistic)
    if not nest:
        m = hp.reorder(m, n2r=True)
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as tmp:
        tmpf = Path(tmp) / "map.fits"
        hp.write_map(str(tmpf), m, nest=nest, coord="C", column_names=["2DLLH" if statistic == "2dllh" else "DLLH"],
                     extra_header=[("RUNID", int(result.meta["run_id"])), ("EVENTID", int(result.meta["event_id"])),
                                   ("MJD", float(result.meta["mjd"]))], overwrite=True, dtype=np.float64)
        return atomic_write(path, tmpf.read_bytes())


def _refuse_existing(outdir: Path, stem: str) -> None:
    """Raise if ``outdir`` already holds any product this scan would write."""
    taken = sorted(p.name for p in outdir.glob(f"{glob_escape(stem)}.*")) if outdir.is_dir() else []
    if (outdir / "summary.json").exists():
        taken.append("summary.json")
    if taken:
        raise InputError(f"argument 'out': {outdir} already holds {', '.join(taken[:3])}"
                         f"{' ...' if len(taken) > 3 else ''}; pass overwrite=True to replace", "out")


def write_products(result: ScanResult, out: str | Path, *, conventions: Sequence[str] = ("wilks", "icecube-calibrated"),
                   catalog: str | Path | None = None, plots: bool = True, overwrite: bool = True,
                   truth: tuple[float, float] | None = None) -> dict[str, Any]:
    """skyreader npz + json, HEALPix FITS (2ΔlnL, NESTED), PNG plots and ``summary.json``.

    Returns the summary (best fit, pixels per nside, areas and rectangles per convention,
    associations, scan info, file list). All writes are atomic. ``overwrite=False`` raises
    :class:`~icecore.errors.InputError` (before writing anything) if ``out`` already holds a
    product of this event or a ``summary.json``. ``truth`` = (RA, Dec) in degrees of a
    simulated event's true direction, drawn on the plots. Plots are PNG plus PDF.
    """
    outdir = Path(out)
    stem = skyreader_stem(result)
    if not overwrite:
        _refuse_existing(outdir, stem)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [write_npz(result, outdir / f"{stem}.npz"), write_json(result, outdir / f"{stem}.json"),
             write_fits(result, outdir / f"{stem}.fits")]
    summary = result.summary(conventions)
    if catalog is not None:
        from ..catalog import read_catalog
        from .association import associate

        cat = read_catalog(catalog)
        summary["associations"] = [{**a, "convention": c} for c in conventions
                                   for a in associate(result, cat, convention=c)]
    if plots:
        from .plot import plot_mollweide, plot_zoom

        for png in (plot_mollweide(result, outdir / f"{stem}.sky.png", conventions=tuple(conventions), truth=truth),
                    plot_zoom(result, outdir / f"{stem}.zoom.png", conventions=tuple(conventions), truth=truth)):
            files += [png, png.with_suffix(".pdf")]
    summary_path = outdir / "summary.json"
    summary["files"] = [str(f) for f in files] + [str(summary_path)]
    atomic_write(summary_path, json.dumps(summary, indent=2, default=float))
    return summary
