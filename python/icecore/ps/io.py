"""Reading and writing IceCube public point-source track data in the release layout.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write
from ..errors import DataFormatError, InputError

__all__ = [
    "EVENT_COLUMNS",
    "UPTIME_COLUMNS",
    "AEFF_COLUMNS",
    "SMEARING_COLUMNS",
    "Season",
    "PublicData",
    "EffectiveArea",
    "SmearingMatrix",
    "load_public_data",
    "read_table",
    "write_table",
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


def write_table(path: str | os.PathLike[str], columns: Sequence[str], data: np.ndarray, fmt: str | Sequence[str]) -> Path:
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
# instrument response functions


@dataclass
class EffectiveArea:
    """A binned muon-neutrino effective area A_eff(E_nu, dec_nu).

    Attributes
    ----------
    log10_e_edges : (n_e + 1,) array
        Bin edges in log10(E_nu/GeV).
    dec_edges_deg : (n_dec + 1,) array
        Bin edges of the true neutrino declination in degrees.
    aeff_cm2 : (n_dec, n_e) array
        Bin-averaged effective area in cm^2.
    path : str or None
        File it was read from.
    """

    log10_e_edges: np.ndarray
    dec_edges_deg: np.ndarray
    aeff_cm2: np.ndarray
    path: str | None = None

    def dec_index(self, dec_deg: float | np.ndarray) -> np.ndarray:
        """Index of the declination bin holding ``dec_deg`` (upper edge belongs to the last bin)."""
        d = np.asarray(dec_deg, dtype=np.float64)
        idx = np.searchsorted(self.dec_edges_deg, d, side="right") - 1
        return np.clip(idx, 0, len(self.dec_edges_deg) - 2)

    def row(self, dec_deg: float) -> np.ndarray:
        """A_eff in cm^2 versus energy at the declination bin holding ``dec_deg``."""
        return self.aeff_cm2[int(self.dec_index(dec_deg))]

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> EffectiveArea:
        """Read ``*_effectiveArea.csv``; raises DataFormatError (file, line) when inconsistent."""
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
        return cls(np.append(e_lo, e_hi[-1]), np.append(d_lo, d_hi[-1]), grid, path)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write in the release format."""
        rows = []
        ne = len(self.log10_e_edges) - 1
        for i in range(len(self.dec_edges_deg) - 1):
            for j in range(ne):
                rows.append((self.log10_e_edges[j], self.log10_e_edges[j + 1], self.dec_edges_deg[i],
                             self.dec_edges_deg[i + 1], self.aeff_cm2[i, j]))
        return write_table(path, AEFF_COLUMNS, np.array(rows), ["%.2f", "%.2f", "%.2f", "%.2f", "%.6e"])


@dataclass
class SmearingMatrix:
    """The 5-d smearing table P(log10 E_reco, psi, AngErr | E_nu, dec_nu) of a public release.

    Bins of the reconstructed quantities are nested: each (true energy, true declination) bin has
    its own reco-energy edges, each reco-energy bin its own PSF edges, each PSF bin its own AngErr
    edges. Bins of zero width are padding.

    Attributes
    ----------
    log10_e_true_edges : (n_t + 1,) array
    dec_true_edges_deg : (n_d + 1,) array
    reco_lo, reco_hi : (n_t, n_d, n_r) arrays, log10(E/GeV)
    psi_lo, psi_hi : (n_t, n_d, n_r, n_p) arrays, degrees
    angerr_lo, angerr_hi : (n_t, n_d, n_r, n_p, n_a) arrays, degrees
    frac : (n_t, n_d, n_r, n_p, n_a) array
        Fraction of the simulated events of each (true energy, true dec) bin in each cell.
    """

    log10_e_true_edges: np.ndarray
    dec_true_edges_deg: np.ndarray
    reco_lo: np.ndarray
    reco_hi: np.ndarray
    psi_lo: np.ndarray
    psi_hi: np.ndarray
    angerr_lo: np.ndarray
    angerr_hi: np.ndarray
    frac: np.ndarray
    path: str | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.frac.shape)

    def dec_index(self, dec_deg: float) -> int:
        """Index of the true-declination bin holding ``dec_deg``."""
        e = self.dec_true_edges_deg
        return int(np.clip(np.searchsorted(e, dec_deg, side="right") - 1, 0, len(e) - 2))

    def reco_energy_pdf(self, dec_idx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Marginal density of log10(E_reco) for every true-energy bin of a declination bin.

        Returns
        -------
        density : (n_t, n_r) array
            Fraction per unit log10 E in each reco bin (PSF and AngErr summed out).
        lo, hi : (n_t, n_r) arrays
            The reco bin edges.
        """
        lo = self.reco_lo[:, dec_idx]
        hi = self.reco_hi[:, dec_idx]
        w = hi - lo
        f = self.frac[:, dec_idx].sum(axis=(-2, -1))
        dens = np.zeros_like(f)
        np.divide(f, w, out=dens, where=w > 0)
        return dens, lo, hi

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SmearingMatrix:
        """Read ``*_smearing.csv``; raises DataFormatError (file, line) when inconsistent."""
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
        return cls(te_edges, td_edges, reco_lo, reco_hi, arr[:, :, :, :, 0, 6], arr[:, :, :, :, 0, 7],
                   arr[..., 8], arr[..., 9], arr[..., 10].copy(), path)

    def to_file(self, path: str | os.PathLike[str]) -> Path:
        """Write in the release format (rows ordered true E, true dec, reco E, PSF, AngErr)."""
        nt, nd, nr, npsi, na = self.frac.shape
        te, td = self.log10_e_true_edges, self.dec_true_edges_deg
        cols = [
            np.broadcast_to(te[:-1][:, None, None, None, None], self.frac.shape),
            np.broadcast_to(te[1:][:, None, None, None, None], self.frac.shape),
            np.broadcast_to(td[:-1][None, :, None, None, None], self.frac.shape),
            np.broadcast_to(td[1:][None, :, None, None, None], self.frac.shape),
            np.broadcast_to(self.reco_lo[..., None, None], self.frac.shape),
            np.broadcast_to(self.reco_hi[..., None, None], self.frac.shape),
            np.broadcast_to(self.psi_lo[..., None], self.frac.shape),
            np.broadcast_to(self.psi_hi[..., None], self.frac.shape),
            self.angerr_lo,
            self.angerr_hi,
            self.frac,
        ]
        data = np.stack([np.asarray(c, dtype=np.float64).ravel() for c in cols], axis=1)
        fmt = ["%.2f", "%.2f", "%.2f", "%.2f", "%.6f", "%.6f", "%.6f", "%.6f", "%.6f", "%.6f", "%.6e"]
        return write_table(path, SMEARING_COLUMNS, data, fmt)


# --------------------------------------------------------------------------------------------
# seasons


@dataclass
class Season:
    """One data-taking season of a public release.

    Attributes
    ----------
    name : str
        Season name (``IC86_II`` ...).
    mjd, log10_e, angerr_deg, ra_deg, dec_deg, azimuth_deg, zenith_deg : (n,) arrays
        Event columns (events outside the good runs already removed).
    uptime_mjd : (n_runs, 2) array
        Good-run start/stop times (MJD).
    livetime_days : float
        Sum of the good-run lengths.
    aeff : EffectiveArea
    smearing : SmearingMatrix
    release : {"10y", "14y"}
    """

    name: str
    mjd: np.ndarray
    log10_e: np.ndarray
    angerr_deg: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    azimuth_deg: np.ndarray
    zenith_deg: np.ndarray
    uptime_mjd: np.ndarray
    aeff: EffectiveArea
    smearing: SmearingMatrix
    release: str = "10y"
    n_cut: int = 0

    @property
    def livetime_days(self) -> float:
        return float(np.sum(self.uptime_mjd[:, 1] - self.uptime_mjd[:, 0]))

    @property
    def livetime_s(self) -> float:
        return self.livetime_days * 86400.0

    def __len__(self) -> int:
        return len(self.mjd)


@dataclass
class PublicData:
    """A set of seasons read from one release folder (see :func:`load_public_data`)."""

    path: str
    release: str
    seasons: list[Season] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.seasons]

    def __getitem__(self, name: str) -> Season:
        for s in self.seasons:
            if s.name == name:
                return s
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.seasons)

    def __iter__(self):
        return iter(self.seasons)


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


def load_public_data(path: str | os.PathLike[str], seasons: Iterable[str] | str | None = None) -> PublicData:
    """Load IceCube public point-source data (10-year or 14-year release layout).

    Parameters
    ----------
    path : path-like
        Folder holding ``events/``, ``uptime/`` and ``irfs/``.
    seasons : str or iterable of str, optional
        Season names to load (``"IC86_II"``...). Default: every season with an events file.

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
    cache: dict[str, object] = {}
    out = PublicData(str(root), release)
    for name in sorted(wanted, key=_season_key):
        stem = irf_names(name, release)
        aeff_path = irfs / f"{stem}_effectiveArea.csv"
        sm_path = irfs / f"{stem}_smearing.csv"
        for p in (aeff_path, sm_path, root / "uptime" / f"{name}_exp.csv"):
            if not p.exists():
                raise DataFormatError(f"season {name} needs this file, which is missing", str(p))
        if str(aeff_path) not in cache:
            cache[str(aeff_path)] = EffectiveArea.from_file(aeff_path)
        if str(sm_path) not in cache:
            cache[str(sm_path)] = SmearingMatrix.from_file(sm_path)
        out.seasons.append(_load_season(root, name, cache[str(aeff_path)], cache[str(sm_path)], release))  # type: ignore[arg-type]
    return out


def _load_season(root: Path, name: str, aeff: EffectiveArea, sm: SmearingMatrix, release: str) -> Season:
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
    return Season(name, *(np.ascontiguousarray(ev[:, i]) for i in range(7)), uptime_mjd=up, aeff=aeff,
                  smearing=sm, release=release, n_cut=n_cut)


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
