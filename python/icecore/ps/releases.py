"""Loaders for the three public IceCube point-source release formats, behind one interface.

:func:`load_release` detects the format of a folder and returns :class:`~icecore.ps.PublicData`
(seasons with events, good-run list, effective area and a smearing table) for:

* **"10y"** -- the 10-year release (doi:10.7910/DVN/VKL316) layout ``events/ uptime/ irfs/``, read
  by :func:`icecore.ps.io.load_public_data`. Where a season's ``irfs/*_smearing.csv`` is absent
  (as in ``../shared/data/real/ps/icecube_10year_ps``), ``missing_smearing="proxy"`` builds the
  approximate table of :mod:`icecore.ps.proxy_irf` from the release's A_eff(E, delta), the season's
  own AngErr distribution and the TXS release's Fig. S4 energy-proxy table;
* **"txs"** -- the TXS 0506+056 release (Science 361, 147 (2018)): ``events_<season>.txt``
  (``MJD Ra_deg Dec_deg Unc_deg log10(Ereco)``, every track within 3 deg of the source),
  ``Aeff_<season>.txt`` (``log10(Emin/GeV) log10(Emax/GeV) Aeff[m2]`` at the source declination),
  ``Fig_S4_tabulated.txt`` and ``list_of_samples.txt`` (season dates). The release has no good-run
  list: the good runs are those of the 10-year release's ``uptime/`` files (union of all seasons)
  clipped to the season's dates (``uptime_dir``); without them the whole season counts as live
  (stated in ``Season.instrument``). The effective area is valid near the source declination only:
  it is stored with one declination bin, the 3-deg cone's band;
* **"ic86-2011"** -- the IC86-2011 point-source release: ``upgoing_events.txt`` and
  ``downgoing_events.txt`` (``MJD log10(E) ang_err RA Dec``, values rounded to 0.1),
  ``TabulatedAeff.txt`` (A_eff [m^2] in 70 energy x 200 cos-zenith bins, converted here to
  declination, delta = zenith - 90 deg) and ``AngRes.txt`` (median angular resolution [deg] versus
  log10 E). It has no energy-proxy table and no good-run list: the energy response is the TXS
  release's Fig. S4 (``energy_proxy``), the good runs the 10-year release's IC86_I list. AngErr of
  0.0 (rounded) is set to 0.05 deg, and AngErr above 180 deg is clipped to 180 deg.

Every reader raises :class:`~icecore.errors.DataFormatError` naming the file and the 1-based line.
Nothing in these files is simulated; the approximations above are the only modelling choices.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import re
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, InputError
from .dataset import PublicData, Season
from .io import UPTIME_COLUMNS, load_public_data, read_table
from .irf import EffectiveArea
from .proxy_irf import EnergyProxyTable, proxy_smearing

__all__ = [
    "TXS_RA_DEG",
    "TXS_DEC_DEG",
    "TXS_SEASONS",
    "TXS_TO_10Y",
    "detect_release",
    "load_release",
    "load_txs_release",
    "load_ic86_2011_release",
    "read_numeric",
    "read_fig_s4",
    "read_txs_aeff",
    "read_tabulated_aeff",
    "read_angres",
    "read_sample_dates",
    "merged_uptime",
]

log = logging.getLogger(__name__)

TXS_RA_DEG = 77.3582
"""Right ascension of TXS 0506+056 (J2000) [deg] (Fermi 4FGL J0509.4+0542)."""
TXS_DEC_DEG = 5.6931
"""Declination of TXS 0506+056 (J2000) [deg]."""
TXS_REGION_RADIUS_DEG = 3.0
"""Radius of the cone around TXS 0506+056 whose events the release publishes [deg]."""
TXS_SEASONS = ("IC40", "IC59", "IC79", "IC86a", "IC86b", "IC86c")
TXS_TO_10Y = {"IC40": ("IC40",), "IC59": ("IC59",), "IC79": ("IC79",), "IC86a": ("IC86_I",),
              "IC86b": ("IC86_II", "IC86_III", "IC86_IV"), "IC86c": ("IC86_V", "IC86_VI", "IC86_VII")}
"""10-year-release uptime files that cover each TXS-release season."""

_MJD0 = _dt.date(1858, 11, 17)


# --------------------------------------------------------------------------------------------
# generic numeric tables


def read_numeric(path: str | os.PathLike[str], n_cols: int, *, skip: int = 1,
                 separators: str = "") -> np.ndarray:
    """Read a table of ``n_cols`` numbers per line after ``skip`` header lines.

    Blank lines and lines starting with ``#`` are ignored; characters in ``separators`` are read as
    whitespace. Raises :class:`DataFormatError` naming the file and the 1-based line of the first
    row with the wrong number of fields, a non-number or a NaN/infinite value.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError("file is missing", str(path))
    rows: list[list[float]] = []
    table = str.maketrans(separators, " " * len(separators)) if separators else None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno <= skip:
                continue
            s = line.translate(table) if table else line
            s = s.strip()
            if not s or s.startswith("#"):
                continue
            parts = s.split()
            if len(parts) != n_cols:
                raise DataFormatError(f"expected {n_cols} fields, got {len(parts)}", str(path), lineno)
            try:
                vals = [float(p) for p in parts]
            except ValueError:
                raise DataFormatError(f"not a number in {s!r}", str(path), lineno) from None
            if not all(math.isfinite(v) for v in vals):
                raise DataFormatError("NaN or infinite value", str(path), lineno)
            rows.append(vals)
    if not rows:
        raise DataFormatError("contains no data rows", str(path))
    return np.array(rows, dtype=np.float64)


def _data_lines(path: Path, skip: int) -> list[int]:
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            s = line.strip()
            if lineno > skip and s and not s.startswith("#"):
                out.append(lineno)
    return out


def _check(mask: np.ndarray, msg: str, path: Path, skip: int) -> None:
    idx = np.flatnonzero(mask)
    if idx.size:
        raise DataFormatError(msg, str(path), _data_lines(path, skip)[int(idx[0])])


def _contiguous_edges(lo: np.ndarray, hi: np.ndarray, what: str, path: Path, skip: int) -> np.ndarray:
    _check(hi <= lo, f"empty or inverted {what} bin", path, skip)
    ulo, uhi = np.unique(np.round(lo, 6)), np.unique(np.round(hi, 6))
    if len(ulo) != len(uhi) or np.any(np.abs(ulo[1:] - uhi[:-1]) > 1e-3):
        raise DataFormatError(f"{what} bins are not contiguous", str(path))
    return np.append(ulo, uhi[-1])


# --------------------------------------------------------------------------------------------
# IRF readers


def read_fig_s4(path: str | os.PathLike[str]) -> EnergyProxyTable:
    """Read ``Fig_S4_tabulated.txt`` of the TXS release: P(log10 E_mu | E_nu), energies in TeV.

    Rows ``lo , hi : p_1 ... p_22`` give log10(E_nu/TeV) ranges and 22 proxy columns spanning
    log10(E_mu/TeV) from -0.4 to 4.0 in steps of 0.2. Returned in log10(E/GeV), rows normalised.
    """
    p = Path(path)
    t = read_numeric(p, 24, skip=0, separators=",:")
    lo, hi, prob = t[:, 0], t[:, 1], t[:, 2:]
    _check(prob < 0, "negative probability", p, 0)
    _check(prob.sum(axis=1) <= 0, "row of zeros", p, 0)
    edges = _contiguous_edges(lo, hi, "neutrino-energy", p, 0) + 3.0
    reco = np.round(np.arange(-0.4, 4.0 + 1e-9, 0.2), 6) + 3.0
    return EnergyProxyTable(edges, reco, prob / prob.sum(axis=1, keepdims=True), str(p))


def read_txs_aeff(path: str | os.PathLike[str], dec_band_deg: tuple[float, float]) -> EffectiveArea:
    """Read ``Aeff_<season>.txt`` of the TXS release (A_eff [m^2] at the source declination).

    Stored with one declination bin ``dec_band_deg``: the table describes that declination only.
    """
    p = Path(path)
    t = read_numeric(p, 3, skip=1)
    _check(t[:, 2] < 0, "negative effective area", p, 1)
    edges = _contiguous_edges(t[:, 0], t[:, 1], "energy", p, 1)
    return EffectiveArea(edges, np.array(dec_band_deg, dtype=np.float64), t[None, :, 2] * 1e4, str(p))


def read_tabulated_aeff(path: str | os.PathLike[str]) -> EffectiveArea:
    """Read ``TabulatedAeff.txt`` (IC86-2011 and the 3-year release): A_eff [m^2] in (E_nu, cos zenith).

    Columns ``E_min[GeV] E_max[GeV] cos(zenith)_min cos(zenith)_max Aeff[m^2]``. Converted to
    declination (sin delta = -cos zenith at the South Pole) and cm^2.
    """
    p = Path(path)
    t = read_numeric(p, 5, skip=1)
    _check((t[:, 0] <= 0) | (t[:, 4] < 0), "non-positive energy or negative effective area", p, 1)
    _check((t[:, 2] < -1.0001) | (t[:, 3] > 1.0001), "cos(zenith) outside [-1, 1]", p, 1)
    le_lo, le_hi = np.round(np.log10(t[:, 0]), 3), np.round(np.log10(t[:, 1]), 3)
    e_edges = _contiguous_edges(le_lo, le_hi, "energy", p, 1)
    cz_edges = _contiguous_edges(t[:, 2], t[:, 3], "cos(zenith)", p, 1)
    ie = np.searchsorted(e_edges, np.round(le_lo, 6) - 1e-6)
    ic = np.searchsorted(cz_edges, np.round(t[:, 2], 6) - 1e-6)
    grid = np.full((len(cz_edges) - 1, len(e_edges) - 1), np.nan)
    grid[ic, ie] = t[:, 4] * 1e4
    if np.isnan(grid).any():
        raise DataFormatError(f"{int(np.isnan(grid).sum())} (energy, cos zenith) bins are missing", str(p))
    if len(t) != grid.size:
        raise DataFormatError(f"{len(t)} rows for {grid.size} bins (duplicates)", str(p))
    # declination edges: dec = -asin(cos zenith)... ascending dec is descending cos zenith
    dec_edges = np.degrees(np.arcsin(np.clip(-cz_edges[::-1], -1.0, 1.0)))
    return EffectiveArea(e_edges, dec_edges, grid[::-1].copy(), str(p))


def read_angres(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``AngRes.txt`` of IC86-2011: (log10 E, median angular resolution [deg]), lines ``median, log10E``."""
    p = Path(path)
    t = read_numeric(p, 2, skip=0, separators=",")
    _check(t[:, 0] <= 0, "non-positive angular resolution", p, 0)
    return t[:, 1].copy(), t[:, 0].copy()


_DATE = re.compile(r"^(\w+)\s+(\d{4})\s+(\w{3})\s+(\d+)\s+(\d{4})\s+(\w{3})\s+(\d+)\s+([\d.]+)")
_MONTHS = {m: i + 1 for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                            "Nov", "Dec"))}


def _mjd(y: str, m: str, d: str) -> float:
    return float((_dt.date(int(y), _MONTHS[m], int(d)) - _MJD0).days)


def read_sample_dates(path: str | os.PathLike[str]) -> dict[str, tuple[float, float, float]]:
    """Read ``list_of_samples.txt`` of the TXS release: season -> (start MJD, end MJD, events/deg^2)."""
    p = Path(path)
    out: dict[str, tuple[float, float, float]] = {}
    with open(p, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1 or not line.strip():
                continue
            m = _DATE.match(line.strip())
            if not m or m.group(3) not in _MONTHS or m.group(6) not in _MONTHS:
                raise DataFormatError("expected 'name yyyy Mon d yyyy Mon d density'", str(p), lineno)
            g = m.groups()
            out[g[0]] = (_mjd(g[1], g[2], g[3]), _mjd(g[4], g[5], g[6]), float(g[7]))
    return out


def merged_uptime(files: list[Path], start: float = -np.inf, stop: float = np.inf) -> np.ndarray:
    """Union of the good runs of several uptime files, clipped to [start, stop] (MJD); (n, 2) sorted."""
    runs = np.concatenate([read_table(f, UPTIME_COLUMNS) for f in files])
    runs = runs[np.argsort(runs[:, 0], kind="stable")]
    merged: list[list[float]] = []
    for a, b in runs:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    m = np.array(merged)
    m[:, 0] = np.maximum(m[:, 0], start)
    m[:, 1] = np.minimum(m[:, 1], stop)
    return m[m[:, 1] > m[:, 0]]


# --------------------------------------------------------------------------------------------
# loaders


def _default_sibling(path: Path, *parts: str) -> Path | None:
    cand = path.parent.joinpath(*parts)
    return cand if cand.exists() else None


def load_txs_release(path: str | os.PathLike[str], *, uptime_dir: str | os.PathLike[str] | None = None,
                     seasons: list[str] | tuple[str, ...] | None = None) -> PublicData:
    """Load the TXS 0506+056 release (see the module notes for the instrument model).

    Parameters
    ----------
    path : path-like
        Folder with ``events_*.txt``, ``Aeff_*.txt``, ``Fig_S4_tabulated.txt``, ``list_of_samples.txt``.
    uptime_dir : path-like, optional
        The 10-year release's ``uptime/`` folder (default: ``../icecube_10year_ps/uptime`` beside
        ``path`` when present). Without it each season is taken as live from start to end.
    seasons : sequence of str, optional
        Subset of :data:`TXS_SEASONS`.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"argument 'path': {path} is not a folder", "path")
    wanted = list(TXS_SEASONS if seasons is None else seasons)
    bad = [s for s in wanted if s not in TXS_SEASONS]
    if bad:
        raise InputError(f"argument 'seasons': {bad} not in {TXS_SEASONS}", "seasons")
    up_dir = Path(uptime_dir) if uptime_dir is not None else _default_sibling(root, "icecube_10year_ps", "uptime")
    dates = read_sample_dates(root / "list_of_samples.txt")
    energy = read_fig_s4(root / "Fig_S4_tabulated.txt")
    r = TXS_REGION_RADIUS_DEG
    band = (TXS_DEC_DEG - r, TXS_DEC_DEG + r)
    out = PublicData(str(root), "txs")
    for name in wanted:
        ev_path = root / f"events_{name}.txt"
        ev = read_numeric(ev_path, 5, skip=1)
        _check((ev[:, 3] <= 0) | (ev[:, 3] > 180), "Unc_deg must be in (0, 180]", ev_path, 1)
        _check((ev[:, 1] < 0) | (ev[:, 1] > 360) | (np.abs(ev[:, 2]) > 90), "RA/Dec out of range", ev_path, 1)
        if name not in dates:
            raise DataFormatError(f"season {name} is not listed", str(root / "list_of_samples.txt"))
        t0, t1, _density = dates[name]
        if up_dir is not None:
            files = [up_dir / f"{s}_exp.csv" for s in TXS_TO_10Y[name]]
            uptime = merged_uptime(files, t0, t1 + 1.0)
            how = f"good runs: 10-year release uptime {'+'.join(TXS_TO_10Y[name])} clipped to the season dates"
        else:
            uptime = np.array([[t0, t1 + 1.0]])
            how = "good runs: none published; the season counts as live from its start to its end date"
        aeff = read_txs_aeff(root / f"Aeff_{name}.txt", band)
        sm = proxy_smearing(energy, angerr_sample_deg=ev[:, 3], path=energy.path)
        n = len(ev)
        nan = np.full(n, np.nan)
        instrument = ("A_eff(E) at the TXS declination; energy response Fig. S4 (proxy_irf approximation 1); "
                      f"PSF Rayleigh with sigma = the season's AngErr distribution (approximation 2a); {how}")
        out.seasons.append(Season(name, ev[:, 0].copy(), ev[:, 4].copy(), ev[:, 3].copy(), ev[:, 1].copy(),
                                  ev[:, 2].copy(), nan, nan.copy(), uptime, aeff, sm, release="txs",
                                  region=(TXS_RA_DEG, TXS_DEC_DEG, r), instrument=instrument))
    return out


def load_ic86_2011_release(path: str | os.PathLike[str], *, energy_proxy: str | os.PathLike[str] | None = None,
                           uptime: str | os.PathLike[str] | None = None) -> PublicData:
    """Load the IC86-2011 point-source release as one season ``IC86_2011`` (see the module notes).

    Parameters
    ----------
    path : path-like
        Folder with ``upgoing_events.txt``, ``downgoing_events.txt``, ``TabulatedAeff.txt``, ``AngRes.txt``.
    energy_proxy : path-like, optional
        An energy-proxy table in the Fig. S4 format (default: ``../TXS0506_release/Fig_S4_tabulated.txt``).
    uptime : path-like, optional
        A good-run file in the 10-year format (default: ``../icecube_10year_ps/uptime/IC86_I_exp.csv``).
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"argument 'path': {path} is not a folder", "path")
    ep = Path(energy_proxy) if energy_proxy is not None else _default_sibling(root, "TXS0506_release",
                                                                              "Fig_S4_tabulated.txt")
    up = Path(uptime) if uptime is not None else _default_sibling(root, "icecube_10year_ps", "uptime",
                                                                  "IC86_I_exp.csv")
    if ep is None:
        raise InputError("argument 'energy_proxy': the release has no energy-proxy table; give one "
                         "(Fig_S4_tabulated.txt of the TXS release)", "energy_proxy")
    if up is None:
        raise InputError("argument 'uptime': the release has no good-run list; give one (IC86_I_exp.csv of "
                         "the 10-year release)", "uptime")
    parts = []
    for f in ("upgoing_events.txt", "downgoing_events.txt"):
        p = root / f
        ev = read_numeric(p, 5, skip=1)
        _check((ev[:, 3] < 0) | (ev[:, 3] > 360) | (np.abs(ev[:, 4]) > 90), "RA/Dec out of range", p, 1)
        _check(ev[:, 2] < 0, "negative ang_err", p, 1)
        parts.append(ev)
    ev = np.concatenate(parts)
    n_zero, n_big = int((ev[:, 2] <= 0).sum()), int((ev[:, 2] > 180).sum())
    ev[:, 2] = np.clip(ev[:, 2], 0.05, 180.0)
    runs = merged_uptime([up])
    # MJD is rounded down to whole days in this release: keep the days the good-run list spans
    inside = (ev[:, 0] >= np.floor(runs[0, 0])) & (ev[:, 0] <= runs[-1, 1])
    n_cut = int((~inside).sum())
    ev = ev[inside]
    aeff = read_tabulated_aeff(root / "TabulatedAeff.txt")
    angres = read_angres(root / "AngRes.txt")
    sm = proxy_smearing(read_fig_s4(ep), psf_median=angres, path=str(ep))
    n = len(ev)
    nan = np.full(n, np.nan)
    instrument = (f"A_eff(E, cos zenith) of the release; energy response borrowed from {ep.name} (proxy_irf "
                  "approximation 1); PSF from AngRes.txt (approximation 2b); good runs from "
                  f"{up.name}; {n_zero} AngErr of 0 set to 0.05 deg, {n_big} above 180 deg clipped")
    s = Season("IC86_2011", ev[:, 0].copy(), ev[:, 1].copy(), ev[:, 2].copy(), ev[:, 3].copy(), ev[:, 4].copy(),
               nan, nan.copy(), runs, aeff, sm, release="ic86-2011", n_cut=n_cut, instrument=instrument)
    return PublicData(str(root), "ic86-2011", [s])


def detect_release(path: str | os.PathLike[str]) -> str:
    """"10y", "txs" or "ic86-2011" from the files in ``path`` (InputError if none matches)."""
    root = Path(path)
    if (root / "events").is_dir():
        return "10y"
    if (root / "Fig_S4_tabulated.txt").exists() or any(root.glob("events_IC*.txt")):
        return "txs"
    if (root / "upgoing_events.txt").exists() and (root / "TabulatedAeff.txt").exists():
        return "ic86-2011"
    raise InputError(f"argument 'path': {path} holds no known IceCube point-source release", "path")


def load_release(path: str | os.PathLike[str], *, seasons: list[str] | tuple[str, ...] | None = None,
                 missing_smearing: str = "proxy", energy_proxy: str | os.PathLike[str] | None = None,
                 uptime_dir: str | os.PathLike[str] | None = None) -> PublicData:
    """Load any of the three public release formats (see the module notes).

    Parameters
    ----------
    path : path-like
        The release folder.
    seasons : sequence of str, optional
        Seasons to load ("10y" and "txs").
    missing_smearing : {"proxy", "error"}
        For the 10-year layout: what to do where a season's smearing file is absent.
    energy_proxy : path-like, optional
        Fig. S4-format energy-proxy table used where a release has none (default: the TXS
        release's, found beside ``path``).
    uptime_dir : path-like, optional
        The 10-year ``uptime/`` folder, for the TXS release.
    """
    kind = detect_release(path)
    root = Path(path)
    if kind == "txs":
        return load_txs_release(root, uptime_dir=uptime_dir, seasons=seasons)
    if kind == "ic86-2011":
        up = None if uptime_dir is None else Path(uptime_dir) / "IC86_I_exp.csv"
        return load_ic86_2011_release(root, energy_proxy=energy_proxy, uptime=up)
    if missing_smearing not in ("proxy", "error"):
        raise InputError("argument 'missing_smearing': must be 'proxy' or 'error'", "missing_smearing")
    if missing_smearing == "error":
        return load_public_data(root, seasons)
    ep = Path(energy_proxy) if energy_proxy is not None else _default_sibling(root, "TXS0506_release",
                                                                              "Fig_S4_tabulated.txt")
    return load_public_data(root, seasons, missing_smearing=None if ep is None else read_fig_s4(ep))
