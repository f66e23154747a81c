"""Reading and writing IceCube public point-source track data in the release layout.

The data model lives beside this module: :mod:`icecore.ps.irf` (effective area, smearing matrix)
and :mod:`icecore.ps.dataset` (seasons, releases); here are only the file formats and the loaders.

Two releases share one layout (``path`` holds ``events/``, ``uptime/`` and ``irfs/``):

* the 10-year release (doi:10.7910/DVN/VKL316): seasons IC40, IC59, IC79, IC86_I and IC86_II ...
  IC86_VII; every season up to IC86_I has its own ``irfs/<season>_effectiveArea.csv`` and
  ``irfs/<season>_smearing.csv``; IC86_III ... IC86_VII reuse the IC86_II files;
* the 14-year release "IceTracks-DR2" (doi:10.7910/DVN/MMIIZA): IC40, IC59, IC79 with their own
  IRFs, IC86_I ... IC86_XI sharing ``irfs/IC86_effectiveArea.csv`` and ``irfs/IC86_smearing.csv``.

File formats (whitespace separated, first line a ``#`` header naming the columns):

* ``events/<season>_exp.csv``: ``MJD[days] log10(E/GeV) AngErr[deg] RA[deg] Dec[deg]
  Azimuth[deg] Zenith[deg]``
* ``uptime/<season>_exp.csv``: ``MJD_start[days] MJD_stop[days]`` (good-run list; the livetime is
  the sum of the run lengths, events outside every run are cut)
* ``irfs/*_effectiveArea.csv``: ``log10(E_nu/GeV)_min log10(E_nu/GeV)_max Dec_nu_min[deg]
  Dec_nu_max[deg] A_Eff[cm^2]``
* ``irfs/*_smearing.csv``: 11 columns: true-energy and true-declination bin, then reconstructed
  log-energy, PSF and AngErr bins nested per parent bin, then ``Fractional_Counts``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .._io import atomic_write
from ..errors import DataFormatError, InputError
from .dataset import PublicData, Season
from .irf import EffectiveArea, SmearingMatrix
from .proxy_irf import EnergyProxyTable, proxy_smearing

__all__ = [
    "EVENT_COLUMNS",
    "UPTIME_COLUMNS",
    "AEFF_COLUMNS",
    "SMEARING_COLUMNS",
    "load_public_data",
    "available_seasons",
    "read_table",
    "write_table",
    "read_effective_area",
    "write_effective_area",
    "read_smearing",
    "write_smearing",
    "irf_names",
]

log = logging.getLogger(__name__)

EVENT_COLUMNS = ("MJD[days]", "log10(E/GeV)", "AngErr[deg]", "RA[deg]", "Dec[deg]", "Azimuth[deg]", "Zenith[deg]")
UPTIME_COLUMNS = ("MJD_start[days]", "MJD_stop[days]")
AEFF_COLUMNS = ("log10(E_nu/GeV)_min", "log10(E_nu/GeV)_max", "Dec_nu_min[deg]", "Dec_nu_max[deg]", "A_Eff[cm^2]")
SMEARING_COLUMNS = (
    "log10(E_nu/GeV)_min",
    "log10(E_nu/GeV)_max",
    "Dec_nu_min[deg]",
    "Dec_nu_max[deg]",
    "log10(E/GeV)_min",
    "log10(E/GeV)_max",
    "PSF_min[deg]",
    "PSF_max[deg]",
    "AngErr_min[deg]",
    "AngErr_max[deg]",
    "Fractional_Counts",
)

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11,
          "XII": 12}


def _season_key(name: str) -> tuple[int, int, str]:
    m = re.fullmatch(r"IC(\d+)(?:_([IVX]+))?", name)
    if not m:
        return (10_000, 0, name)
    return (int(m.group(1)), _ROMAN.get(m.group(2) or "", 0), name)


def irf_names(season: str, release: str) -> str:
    """Stem of the IRF files a season uses (``irfs/<stem>_effectiveArea.csv``).

    Parameters
    ----------
    season : str
        Season name, e.g. ``"IC86_IV"``.
    release : {"10y", "14y"}
        Which release layout.
    """
    if season.startswith("IC86_"):
        if release == "14y":
            return "IC86"
        if season != "IC86_I":
            return "IC86_II"
    return season


# --------------------------------------------------------------------------------------------
# generic whitespace tables with a '#' header


def _header_columns(line: str) -> list[str] | None:
    s = line.strip()
    if not s.startswith("#"):
        return None
    return s.lstrip("#").split()


def read_table(path: str | os.PathLike[str], columns: Sequence[str]) -> np.ndarray:
    """Read a whitespace table whose first line is ``# <columns>``.

    Parameters
    ----------
    path : path-like
        File to read.
    columns : sequence of str
        Expected column names, in order.

    Returns
    -------
    (n_rows, n_columns) float64 array.

    Raises
    ------
    DataFormatError
        (a ValueError) naming the file and the 1-based line when the header is wrong, a row has
        the wrong number of fields, a value is not a number or is NaN/infinite.
    """
    path = Path(path)
    raw = path.read_bytes()
    nl = raw.find(b"\n")
    first = (raw if nl < 0 else raw[:nl]).decode("utf-8", errors="replace")
    names = _header_columns(first)
    if names is None:
        raise DataFormatError(f"first line must be a '#' header naming the columns {' '.join(columns)}",
                              str(path), 1)
    if list(names) != list(columns):
        raise DataFormatError(f"header columns {names} differ from the expected {list(columns)}", str(path), 1)
    from .. import _core

    data, bad_line, why = _core.ps.ps_parse_table(raw, len(columns))  # C++ (std::from_chars), GIL released
    if bad_line:
        raise DataFormatError(why, str(path), int(bad_line))
    return data


def write_table(path: str | os.PathLike[str], columns: Sequence[str], data: np.ndarray,
                fmt: str | Sequence[str]) -> Path:
    """Write a table in the release format (``# header`` then whitespace rows), atomically."""
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != len(columns):
        raise InputError(f"argument 'data': expected shape (n, {len(columns)}), got {data.shape}", "data")
    fmts = [fmt] * len(columns) if isinstance(fmt, str) else list(fmt)
    line_fmt = " ".join(fmts)
    import io

    buf = io.StringIO()
    buf.write("# " + " ".join(columns) + "\n")
    if len(data):
        np.savetxt(buf, data, fmt=line_fmt)
    return atomic_write(path, buf.getvalue())


# --------------------------------------------------------------------------------------------
# instrument response functions: the release file formats


def read_effective_area(path: str | os.PathLike[str]) -> EffectiveArea:
    """Read ``*_effectiveArea.csv``.

    Raises
    ------
    DataFormatError
        Naming the file (and line) when bins are empty, inverted, duplicated, missing or not
        contiguous, or an effective area is negative.
    """
    path = str(path)
    t = read_table(path, AEFF_COLUMNS)
    if len(t) == 0:
        raise DataFormatError("contains no rows", path)
    elo, ehi, dlo, dhi, a = t.T
    bad = np.flatnonzero((ehi <= elo) | (dhi <= dlo) | (a < 0) | (dlo < -90.0001) | (dhi > 90.0001))
    if bad.size:
        raise DataFormatError("empty/inverted bin or negative effective area", path, int(bad[0]) + 2)
    e_lo, e_hi = np.unique(elo), np.unique(ehi)
    d_lo, d_hi = np.unique(dlo), np.unique(dhi)
    if len(e_lo) != len(e_hi) or np.any(e_lo[1:] != e_hi[:-1]):
        raise DataFormatError("energy bins are not contiguous", path)
    if len(d_lo) != len(d_hi) or np.any(d_lo[1:] != d_hi[:-1]):
        raise DataFormatError("declination bins are not contiguous", path)
    ie = np.searchsorted(e_lo, elo)
    idd = np.searchsorted(d_lo, dlo)
    grid = np.full((len(d_lo), len(e_lo)), np.nan)
    seen = np.zeros(grid.shape, dtype=bool)
    flat = idd * len(e_lo) + ie
    _, first, counts = np.unique(flat, return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = np.flatnonzero(np.bincount(flat) > 1)[0]
        line = int(np.flatnonzero(flat == dup)[1]) + 2
        raise DataFormatError("duplicate (energy, declination) bin", path, line)
    grid[idd, ie] = a
    seen[idd, ie] = True
    if not seen.all():
        raise DataFormatError(f"{int((~seen).sum())} (energy, declination) bins are missing", path)
    return EffectiveArea(np.append(e_lo, e_hi[-1]), np.append(d_lo, d_hi[-1]), grid, path)


def write_effective_area(aeff: EffectiveArea, path: str | os.PathLike[str]) -> Path:
    """Write an effective area in the release format (atomically)."""
    rows = []
    ne = len(aeff.log10_e_edges) - 1
    for i in range(len(aeff.dec_edges_deg) - 1):
        for j in range(ne):
            rows.append((aeff.log10_e_edges[j], aeff.log10_e_edges[j + 1], aeff.dec_edges_deg[i],
                         aeff.dec_edges_deg[i + 1], aeff.aeff_cm2[i, j]))
    return write_table(path, AEFF_COLUMNS, np.array(rows), ["%.2f", "%.2f", "%.2f", "%.2f", "%.6e"])


def read_smearing(path: str | os.PathLike[str]) -> SmearingMatrix:
    """Read ``*_smearing.csv`` (rows ordered true E, true dec, reco E, PSF, AngErr).

    Raises
    ------
    DataFormatError
        Naming the file (and line) when edges are inverted, a fraction is negative, or the rows do
        not form regular nested blocks.
    """
    path = str(path)
    t = read_table(path, SMEARING_COLUMNS)
    if len(t) == 0:
        raise DataFormatError("contains no rows", path)
    te_edges = np.union1d(t[:, 0], t[:, 1])
    td_edges = np.union1d(t[:, 2], t[:, 3])
    nt, nd = len(te_edges) - 1, len(td_edges) - 1
    bad = np.flatnonzero((t[:, 1] <= t[:, 0]) | (t[:, 3] <= t[:, 2]) | (t[:, 10] < 0)
                         | (t[:, 5] < t[:, 4]) | (t[:, 7] < t[:, 6]) | (t[:, 9] < t[:, 8]))
    if bad.size:
        raise DataFormatError("inverted bin edges or negative fractional count", path, int(bad[0]) + 2)
    if len(t) % (nt * nd):
        raise DataFormatError(f"{len(t)} rows do not split into {nt}x{nd} (E_nu, dec_nu) blocks", path)
    per_parent = len(t) // (nt * nd)
    # rows are ordered (true_e, true_dec, reco_e, psi, ang_err); find the nesting sizes from the first block
    blk = t[:per_parent]
    # number of ang_err bins: run length of identical (reco, psi) bins at the start
    key_rp = blk[:, 4:8]
    change = np.flatnonzero(np.any(key_rp[1:] != key_rp[:-1], axis=1))
    na = int(change[0] + 1) if change.size else per_parent
    key_r = blk[:, 4:6]
    change = np.flatnonzero(np.any(key_r[1:] != key_r[:-1], axis=1))
    npa = int(change[0] + 1) if change.size else per_parent
    if npa % na or per_parent % npa:
        raise DataFormatError("nested bins are not regular (each parent must have the same number of children)",
                              path)
    npsi, nr = npa // na, per_parent // npa
    shape = (nt, nd, nr, npsi, na)
    try:
        arr = t.reshape(shape + (11,))
    except ValueError:  # pragma: no cover - guarded above
        raise DataFormatError("cannot reshape into nested bins", path) from None
    # consistency: true bins constant within a block and in the expected order
    exp_te = te_edges[:-1][:, None, None, None, None]
    exp_td = td_edges[:-1][None, :, None, None, None]
    ok = np.isclose(arr[..., 0], exp_te) & np.isclose(arr[..., 2], exp_td)
    if not ok.all():
        line = int(np.flatnonzero(~ok.ravel())[0]) + 2
        raise DataFormatError("rows are not ordered by (E_nu, dec_nu, E_reco, PSF, AngErr) blocks", path, line)
    reco_lo = arr[:, :, :, 0, 0, 4]
    reco_hi = arr[:, :, :, 0, 0, 5]
    okr = np.isclose(arr[..., 4], reco_lo[..., None, None]) & np.isclose(arr[..., 6], arr[:, :, :, :, :1, 6])
    if not okr.all():
        line = int(np.flatnonzero(~okr.ravel())[0]) + 2
        raise DataFormatError("nested reco-energy/PSF bins are not constant within their parent", path, line)
    return SmearingMatrix(te_edges, td_edges, reco_lo, reco_hi, arr[:, :, :, :, 0, 6], arr[:, :, :, :, 0, 7],
                          arr[..., 8], arr[..., 9], arr[..., 10].copy(), path)


def write_smearing(sm: SmearingMatrix, path: str | os.PathLike[str]) -> Path:
    """Write a smearing matrix in the release format (atomically)."""
    shape = sm.frac.shape
    te, td = sm.log10_e_true_edges, sm.dec_true_edges_deg
    cols = [
        np.broadcast_to(te[:-1][:, None, None, None, None], shape),
        np.broadcast_to(te[1:][:, None, None, None, None], shape),
        np.broadcast_to(td[:-1][None, :, None, None, None], shape),
        np.broadcast_to(td[1:][None, :, None, None, None], shape),
        np.broadcast_to(sm.reco_lo[..., None, None], shape),
        np.broadcast_to(sm.reco_hi[..., None, None], shape),
        np.broadcast_to(sm.psi_lo[..., None], shape),
        np.broadcast_to(sm.psi_hi[..., None], shape),
        sm.angerr_lo,
        sm.angerr_hi,
        sm.frac,
    ]
    data = np.stack([np.asarray(c, dtype=np.float64).ravel() for c in cols], axis=1)
    fmt = ["%.2f", "%.2f", "%.2f", "%.2f", "%.6f", "%.6f", "%.6f", "%.6f", "%.6f", "%.6f", "%.6e"]
    return write_table(path, SMEARING_COLUMNS, data, fmt)


# --------------------------------------------------------------------------------------------
# seasons


def _detect_release(irfs: Path) -> str:
    if (irfs / "IC86_effectiveArea.csv").exists():
        return "14y"
    return "10y"


def available_seasons(path: str | os.PathLike[str]) -> list[str]:
    """Season names found in ``<path>/events/*_exp.csv`` (sorted IC40, IC59, ..., IC86_XI)."""
    ev = Path(path) / "events"
    if not ev.is_dir():
        raise InputError(f"argument 'path': {path} has no 'events' folder", "path")
    names = [p.name[: -len("_exp.csv")] for p in ev.glob("*_exp.csv")]
    return sorted(names, key=_season_key)


def load_public_data(path: str | os.PathLike[str], seasons: Iterable[str] | str | None = None, *,
                     missing_smearing: EnergyProxyTable | None = None) -> PublicData:
    """Load IceCube public point-source data (10-year or 14-year release layout).

    Parameters
    ----------
    path : path-like
        Folder holding ``events/``, ``uptime/`` and ``irfs/``.
    seasons : str or iterable of str, optional
        Season names to load (``"IC86_II"``...). Default: every season with an events file.
    missing_smearing : EnergyProxyTable, optional
        Where a season's smearing file is absent: None (default) raises DataFormatError; an
        energy-proxy table builds the approximate smearing table of :mod:`icecore.ps.proxy_irf`
        from it and the season's AngErr distribution (recorded in ``Season.instrument``).

    Returns
    -------
    PublicData
        Seasons in release order; events outside the good-run list are removed (their count is
        in ``Season.n_cut``).

    Raises
    ------
    InputError
        If the folder or a requested season does not exist.
    DataFormatError
        (ValueError) naming the file and line when a file is malformed or inconsistent
        (wrong header, non-numeric or NaN values, angles out of range, overlapping IRF bins...).
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"argument 'path': {path} is not a folder", "path")
    found = available_seasons(root)
    if seasons is None:
        wanted = found
    else:
        wanted = [seasons] if isinstance(seasons, str) else list(seasons)
        missing = [s for s in wanted if s not in found]
        if missing:
            raise InputError(f"argument 'seasons': {missing} not found in {root / 'events'} (have {found})",
                             "seasons")
    if not wanted:
        raise InputError(f"argument 'path': no events/*_exp.csv files in {root}", "path")
    irfs = root / "irfs"
    release = _detect_release(irfs)
    aeffs: dict[str, EffectiveArea] = {}
    smearings: dict[str, SmearingMatrix] = {}
    out = PublicData(str(root), release)
    for name in sorted(wanted, key=_season_key):
        stem = irf_names(name, release)
        aeff_path = irfs / f"{stem}_effectiveArea.csv"
        sm_path = irfs / f"{stem}_smearing.csv"
        proxy = missing_smearing is not None and not sm_path.exists()
        for p in (aeff_path, root / "uptime" / f"{name}_exp.csv") + (() if proxy else (sm_path,)):
            if not p.exists():
                raise DataFormatError(f"season {name} needs this file, which is missing", str(p))
        if str(aeff_path) not in aeffs:
            aeffs[str(aeff_path)] = read_effective_area(aeff_path)
        if proxy:
            assert missing_smearing is not None
            s = _load_season(root, name, aeffs[str(aeff_path)], None, release)
            s.smearing = proxy_smearing(missing_smearing, angerr_sample_deg=s.angerr_deg, path=missing_smearing.path)
            s.instrument = (f"A_eff(E, dec) of the release; {sm_path.name} absent: energy response from "
                            f"{missing_smearing.path} (proxy_irf approximation 1), PSF Rayleigh with sigma = the "
                            "season's AngErr distribution (approximation 2a)")
            out.seasons.append(s)
            continue
        if str(sm_path) not in smearings:
            smearings[str(sm_path)] = read_smearing(sm_path)
        out.seasons.append(_load_season(root, name, aeffs[str(aeff_path)], smearings[str(sm_path)], release))
    return out


def _load_season(root: Path, name: str, aeff: EffectiveArea, sm: SmearingMatrix | None, release: str) -> Season:
    ev_path = root / "events" / f"{name}_exp.csv"
    up_path = root / "uptime" / f"{name}_exp.csv"
    ev = read_table(ev_path, EVENT_COLUMNS)
    up = read_table(up_path, UPTIME_COLUMNS)
    if len(up) == 0:
        raise DataFormatError("contains no good runs", str(up_path))
    bad = np.flatnonzero(up[:, 1] < up[:, 0])
    if bad.size:
        raise DataFormatError("run stops before it starts", str(up_path), int(bad[0]) + 2)
    checks = [
        (ev[:, 2] <= 0, "AngErr[deg] must be > 0"),
        ((ev[:, 2] > 180), "AngErr[deg] must be <= 180"),
        ((ev[:, 3] < 0) | (ev[:, 3] > 360), "RA[deg] must be in [0, 360]"),
        ((ev[:, 4] < -90) | (ev[:, 4] > 90), "Dec[deg] must be in [-90, 90]"),
    ]
    for mask, msg in checks:
        idx = np.flatnonzero(mask)
        if idx.size:
            raise DataFormatError(msg, str(ev_path), _data_line(ev_path, int(idx[0])))
    order = np.argsort(up[:, 0], kind="stable")
    up = up[order]
    # events inside a good run (runs may touch; run i covers [start_i, stop_i])
    k = np.searchsorted(up[:, 0], ev[:, 0], side="right") - 1
    inside = (k >= 0) & (ev[:, 0] <= up[np.clip(k, 0, None), 1])
    n_cut = int((~inside).sum())
    if n_cut:
        log.info("%s: %d events outside the good-run list were cut", name, n_cut)
    ev = ev[inside]
    mjd, log10_e, angerr, ra, dec, az, zen = (np.ascontiguousarray(ev[:, i]) for i in range(7))
    return Season(name, mjd, log10_e, angerr, ra, dec, az, zen, uptime_mjd=up, aeff=aeff,
                  smearing=sm,  # type: ignore[arg-type]  # None only while the caller builds a proxy
                  release=release, n_cut=n_cut)


def _data_line(path: Path, row: int) -> int:
    """1-based file line of the ``row``-th data row (skipping the header and comment/blank lines)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        n = -1
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1:
                continue
            s = line.split("#", 1)[0].strip()
            if s:
                n += 1
                if n == row:
                    return lineno
    return row + 2  # pragma: no cover
