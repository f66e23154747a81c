"""The files of a scan: HEALPix FITS maps, and every product in a directory (``icecore scan run``).

:func:`write_products` writes the icecube-skyreader npz + json (:mod:`icecore.scan.skyreader`),
three FITS maps that healpy / ligo.skymap / mhealpy users open without help:

- ``<stem>.fits``: 2Δ(−ln L) at the finest nside, NESTED (:func:`write_fits`);
- ``<stem>.prob.fits``: a normalised probability map, column ``PROB`` per pixel (sum 1),
  NESTED, as LVK and IceCube publish (:func:`write_probability_fits`);
- ``<stem>.multiorder.fits``: the same probability as a multi-order map (columns ``UNIQ``,
  ``PROBDENSITY`` in sr⁻¹, ``ORDERING = NUNIQ``; :func:`write_multiorder_fits`);

each with ``DATE-OBS``/``MJD-OBS``, the event ids, the best fit and the 50 %/90 % areas in the
header (:func:`header_cards`); PNG + PDF plots (:mod:`icecore.scan.plot`) and ``summary.json``.
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
from .contours import ConventionLike, get_convention
from .result import ScanResult
from .skyreader import write_json, write_npz

__all__ = ["write_products", "write_fits", "write_probability_fits", "write_multiorder_fits", "probability_map",
           "header_cards", "skyreader_stem"]




def skyreader_stem(result: ScanResult) -> str:
    """skyreader's file stem: ``run{run:08d}.evt{event:012d}.{type}_{nsides}`` (sanitised)."""
    m = result.meta
    stem = (f"run{int(m['run_id']):08d}.evt{int(m['event_id']):012d}.{m['event_type']}_"
            + "_".join(str(n) for n in result.nsides))
    return safe_name(stem)


def header_cards(result: ScanResult,
                 conventions: Sequence[ConventionLike] = ("wilks", "icecube-calibrated")) -> list[tuple]:
    """FITS header cards of a scan: object, time (DATE-OBS, MJD-OBS), ids, best fit, contour areas.

    Areas are keyed ``AR50_<k>``/``AR90_<k>`` in deg² with ``CONV<k>`` naming convention ``k``
    (1, 2, ... in the order given).
    """
    from astropy.time import Time

    from .._version import __version__

    m, best = result.meta, result.best_fit
    cards: list[tuple] = [
        ("OBJECT", f"IceCube run {int(m['run_id'])} event {int(m['event_id'])}", "event"),
        ("RUNID", int(m["run_id"]), "IceCube run number"),
        ("EVENTID", int(m["event_id"]), "IceCube event number"),
        ("EVTTYPE", str(m.get("event_type", "")), "event type"),
    ]
    if m.get("mjd"):
        t = Time(float(m["mjd"]), format="mjd", scale="utc")
        cards += [("DATE-OBS", t.isot, "UTC time of the event"), ("MJD-OBS", float(m["mjd"]), "MJD (UTC) of the event")]
    cards += [("RA", round(best["ra_deg"], 6), "[deg] best-fit right ascension (J2000)"),
              ("DEC", round(best["dec_deg"], 6), "[deg] best-fit declination (J2000)"),
              ("BESTNSID", int(best["nside"]), "nside of the best-fit pixel"),
              ("NEGLLH", float(best["neg_llh"]), "-ln L at the best fit")]
    for k, conv in enumerate(conventions, start=1):
        cs = result.contours(conv)
        cards.append((f"CONV{k}", cs.convention.name, "contour convention (critical values)"))
        for label in ("50", "90"):
            if label in cs.areas_deg2:
                cards.append((f"AR{label}_{k}", round(float(cs.areas_deg2[label]), 6),
                              f"[deg2] {label}% area, {cs.convention.name}"))
            if label in cs.convention.errors:  # a per-event calibration: its levels and their errors
                cards.append((f"LV{label}_{k}", round(float(cs.convention.levels[label]), 6),
                              f"{label}% level on 2dLLH, {cs.convention.name}"))
                cards.append((f"LE{label}_{k}", round(float(cs.convention.errors[label]), 6),
                              f"stat. error of LV{label}_{k}"))
    cards += [("ORIGIN", "icecore", "software"), ("CREATOR", f"icecore {__version__}", "software version")]
    return cards


def _write_healpix(path: str | Path, columns: list[np.ndarray], names: list[str], *, nest: bool,
                   cards: list[tuple]) -> Path:
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as tmp:
        tmpf = Path(tmp) / "map.fits"
        hp.write_map(str(tmpf), columns, nest=nest, coord="C", column_names=names,
                     extra_header=[(k, v, _fit_comment(k, v, c[0] if c else "")) for k, v, *c in cards],
                     overwrite=True, dtype=[np.float64] * len(columns))
        return atomic_write(path, tmpf.read_bytes())


def _fit_comment(key: str, value: Any, comment: str) -> str:
    """``comment`` shortened so that the 80-character card holds it (no astropy truncation warning)."""
    width = max(len(repr(value)) + (2 if isinstance(value, str) else 0), 20)
    room = 80 - 10 - width - 3
    return comment if len(comment) <= room else comment[:max(room, 0)]


def write_fits(result: ScanResult, path: str | Path, *, statistic: str = "2dllh", nest: bool = True,
               conventions: Sequence[ConventionLike] = ("wilks", "icecube-calibrated")) -> Path:
    """HEALPix FITS map (healpy) of 2Δ(−ln L) (``"2dllh"``) or Δ(−ln L) (``"dllh"``) at the finest
    nside, equatorial (``COORDSYS = C``), NESTED unless ``nest=False``; NaN where not scanned.

    The header carries :func:`header_cards` (DATE-OBS, MJD-OBS, RUNID, EVENTID, best fit, areas).
    Written atomically.
    """
    m = result.statistic_map(statistic)
    if not nest:
        m = hp.reorder(m, n2r=True)
    return _write_healpix(path, [m], ["2DLLH" if statistic == "2dllh" else "DLLH"], nest=nest,
                          cards=header_cards(result, conventions))


def probability_map(result: ScanResult, convention: ConventionLike = "icecube-calibrated") -> np.ndarray:
    """Normalised probability per pixel (NESTED, finest nside, sum 1) of a scan.

    p ∝ exp(−½ · c · 2Δ(−ln L)), with c > 0 chosen so that the pixels inside the convention's
    90 % contour (2Δ(−ln L) ≤ its critical value) hold 90 % of the probability: the map's 90 %
    credible region is then that contour (for Wilks, c ≈ 1 for a Gaussian likelihood). Unscanned
    pixels get 0.
    """
    cv = get_convention(convention)
    level90 = cv.levels.get("90", max(cv.levels.values()))
    x = result.statistic_map("2dllh")
    if cv.statistic != "2dllh":
        level90 = 2.0 * level90
    ok = np.isfinite(x)
    xs = x[ok]
    inside = xs <= level90

    def frac(log_c: float) -> float:
        w = np.exp(-0.5 * np.exp(log_c) * xs)
        return float(w[inside].sum() / w.sum())

    lo, hi = np.log(1e-6), np.log(1e6)
    if inside.all() or not inside.any():
        log_c = 0.0
    else:
        for _ in range(60):  # frac grows with c: bisection on log c
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if frac(mid) < 0.9 else (lo, mid)
        log_c = 0.5 * (lo + hi)
    p = np.zeros(x.size)
    p[ok] = np.exp(-0.5 * np.exp(log_c) * xs)
    return p / p.sum()


def _prob(result: ScanResult, convention: ConventionLike, prob: np.ndarray | None) -> np.ndarray:
    """``prob`` when the caller computed :func:`probability_map` already (checked), else computed."""
    if prob is None:
        return probability_map(result, convention)
    p = np.asarray(prob, dtype=np.float64)
    npix = 12 * max(result.nsides) ** 2
    if p.shape != (npix,):
        raise InputError(f"argument 'prob': expected {npix} pixels (nside {max(result.nsides)}), got {p.shape}", "prob")
    return p


def write_probability_fits(result: ScanResult, path: str | Path, *, convention: ConventionLike = "icecube-calibrated",
                           conventions: Sequence[ConventionLike] = ("wilks", "icecube-calibrated"),
                           prob: np.ndarray | None = None) -> Path:
    """Normalised probability map (:func:`probability_map`), column ``PROB``, NESTED, equatorial.

    Read it with ``ligo.skymap.io.read_sky_map(path, nest=True)`` or ``healpy.read_map``.
    ``prob``: the map of ``convention`` when already computed (``write_products`` computes it once
    for this file and the multi-order one).
    """
    cards = header_cards(result, conventions) + [("PROBCONV", get_convention(convention).name,
                                                  "90% credible = this 90% contour")]
    return _write_healpix(path, [_prob(result, convention, prob)], ["PROB"], nest=True, cards=cards)


def _multiorder(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UNIQ, PROBDENSITY [sr⁻¹]) of a NESTED probability map, merging 4 siblings of equal density."""
    nside = hp.npix2nside(prob.size)
    dens = prob / hp.nside2pixarea(nside)
    order = int(round(np.log2(nside)))
    idx = np.arange(dens.size, dtype=np.int64)
    uniq_parts, dens_parts = [], []
    while order > 0 and idx.size:
        parent = idx // 4
        starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])
        counts = np.diff(np.r_[starts, idx.size])
        first = np.repeat(dens[starts], counts)
        equal = np.logical_and.reduceat(dens == first, starts)
        merge = (counts == 4) & equal
        stay = ~np.repeat(merge, counts)
        uniq_parts.append(4 * 4**order + idx[stay])
        dens_parts.append(dens[stay])
        idx, dens = parent[starts[merge]], dens[starts[merge]]
        order -= 1
    uniq_parts.append(4 * 4**order + idx)
    dens_parts.append(dens)
    uniq = np.concatenate(uniq_parts)
    o = np.argsort(uniq)
    return uniq[o], np.concatenate(dens_parts)[o]


def write_multiorder_fits(result: ScanResult, path: str | Path, *, convention: ConventionLike = "icecube-calibrated",
                          conventions: Sequence[ConventionLike] = ("wilks", "icecube-calibrated"),
                          prob: np.ndarray | None = None) -> Path:
    """Multi-order (NUNIQ) probability map: columns ``UNIQ`` and ``PROBDENSITY`` [sr⁻¹].

    Read it with ``ligo.skymap.io.read_sky_map(path, moc=True)`` or ``mhealpy.HealpixMap.read_map``.
    ``prob``: as in :func:`write_probability_fits`.
    """
    from astropy.io import fits

    uniq, dens = _multiorder(_prob(result, convention, prob))
    cols = fits.ColDefs([fits.Column(name="UNIQ", format="K", array=uniq),
                         fits.Column(name="PROBDENSITY", format="D", unit="sr-1", array=dens)])
    hdu = fits.BinTableHDU.from_columns(cols)
    hdr = hdu.header
    max_order = int(np.max(np.floor(np.log2(uniq / 4) / 2))) if uniq.size else 0
    for key, value, comment in [("PIXTYPE", "HEALPIX", "HEALPIX pixelisation"),
                                ("ORDERING", "NUNIQ", "UNIQ = 4 nside^2 + ipix (NESTED)"),
                                ("COORDSYS", "C", "equatorial (J2000)"), ("MOCORDER", max_order, "finest order"),
                                ("INDXSCHM", "EXPLICIT", "indexing"),
                                ("PROBCONV", get_convention(convention).name, "90% credible = this 90% contour")]:
        hdr[key] = (value, comment)
    for card in header_cards(result, conventions):
        hdr[card[0]] = (card[1], _fit_comment(card[0], card[1], card[2] if len(card) > 2 else ""))
    import io

    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    return atomic_write(path, buf.getvalue())


def _refuse_existing(outdir: Path, stem: str) -> None:
    """Raise if ``outdir`` already holds any product this scan would write."""
    taken = sorted(p.name for p in outdir.glob(f"{glob_escape(stem)}.*")) if outdir.is_dir() else []
    if (outdir / "summary.json").exists():
        taken.append("summary.json")
    if taken:
        raise InputError(f"argument 'out': {outdir} already holds {', '.join(taken[:3])}"
                         f"{' ...' if len(taken) > 3 else ''}; pass overwrite=True to replace", "out")


def write_products(result: ScanResult, out: str | Path, *,
                   conventions: Sequence[ConventionLike] = ("wilks", "icecube-calibrated"),
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
    prob = probability_map(result)  # once, for the flat and the multi-order map
    files = [write_npz(result, outdir / f"{stem}.npz"), write_json(result, outdir / f"{stem}.json"),
             write_fits(result, outdir / f"{stem}.fits", conventions=conventions),
             write_probability_fits(result, outdir / f"{stem}.prob.fits", conventions=conventions, prob=prob),
             write_multiorder_fits(result, outdir / f"{stem}.multiorder.fits", conventions=conventions, prob=prob)]
    summary = result.summary(conventions)
    if catalog is not None:
        from ..catalog import read_catalog
        from .association import associate

        cat = read_catalog(catalog)
        summary["associations"] = [{**a, "convention": get_convention(c).name} for c in conventions
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
