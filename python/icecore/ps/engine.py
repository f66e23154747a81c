"""The kernel engine: season models turned into the C++ point-source kernel, and back.

This is the only module that knows :class:`icecore._core.ps.PsModel`. It

* builds the per-season likelihood models (:class:`icecore.ps.model.SeasonModel`) and the
  kernel's signal tables (one energy table and acceptance row per energy class, see
  :meth:`SeasonModel.energy_class`);
* turns events into the kernel's columns with ONE function, :func:`kernel_columns`, for the
  recorded data and for injected signal events alike;
* runs fits, trials and scans and returns the kernel's structured result arrays (fields ``ts``,
  ``ns``, ``gamma``, ``status``, ``n_selected``, ``n_eval``).

The fit itself (``cpp/include/icecore/ps_llh.hpp``): ns profiled by a safeguarded Newton
iteration, gamma by a coarse scan with step :data:`COARSE_STEP` followed by Brent's method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .dataset import PublicData
from .flux import E0_DEFAULT
from .model import GAMMA_GRID_STEP, SeasonModel

if TYPE_CHECKING:
    from .. import _core

__all__ = ["X_MIN", "COARSE_STEP", "GAMMA_TOL", "EVENT_DTYPE", "kernel_settings", "kernel_columns", "KernelEngine"]

X_MIN = 1e-3
"""An event enters the sum only where its largest possible S/B (spatial x the largest energy
ratio over the gamma grid) exceeds X_MIN; elsewhere its term log(1 + n/N (X - 1)) differs from
the normalisation term log(1 - n/N) by less than n/N x X_MIN."""

COARSE_STEP = 0.5
"""Step of the coarse scan in gamma that precedes Brent's refinement (robust to multiple maxima)."""

GAMMA_TOL = 1e-3
"""Absolute tolerance of Brent's refinement in gamma."""

EVENT_DTYPE = np.dtype([("dec", "f8"), ("ra", "f8"), ("sin_dec", "f8"), ("cos_dec", "f8"), ("sigma", "f8"),
                        ("inv_b", "f8"), ("efrac", "f8"), ("cos_r", "f8"), ("ebin", "i4")])
"""Kernel columns of one event: dec, ra, sigma (AngErr) [rad], sin/cos dec, inv_b = 1 / (B_spatial
x B_energy), the fine log-energy cell (ebin, efrac) and cos of the selection radius (cos_r; -2:
always selected)."""


def kernel_settings(gamma_range: tuple[float, float], ns_max: float, cone_deg: float,
                    selection: str = "band") -> tuple[_core.ps.PsSettings, np.ndarray]:
    """Kernel settings and the gamma grid of the signal tables for a fit range.

    The grid has step :data:`icecore.ps.model.GAMMA_GRID_STEP` and one extra node beyond each end
    of ``gamma_range`` (the parabolic interpolation needs the neighbours).

    Raises
    ------
    InputError
        If ``selection`` is not "band"/"box" or ``gamma_range`` is not (low, high) with low <= high.
    """
    from .. import _core  # imported where used, so that importing icecore needs no compiled module

    if selection not in ("band", "box"):
        raise InputError(f"argument 'selection': must be 'band' or 'box', got {selection!r}", "selection")
    gmin, gmax = float(gamma_range[0]), float(gamma_range[1])
    if not (np.isfinite(gmin) and np.isfinite(gmax)) or gmax < gmin:
        raise InputError(f"argument 'gamma_range': expected (low, high) with low <= high, got {gamma_range}",
                         "gamma_range")
    g0 = math.floor(round(gmin / GAMMA_GRID_STEP, 9)) * GAMMA_GRID_STEP - GAMMA_GRID_STEP
    n = int(math.ceil(round((gmax - g0) / GAMMA_GRID_STEP, 9))) + 2
    grid = np.round(g0 + GAMMA_GRID_STEP * np.arange(n), 10)
    st = _core.ps.PsSettings(
        gamma_grid0=float(grid[0]),
        gamma_grid_step=GAMMA_GRID_STEP,
        n_gamma_grid=len(grid),
        gamma_min=gmin,
        gamma_max=gmax,
        ns_max=float(ns_max),
        cone_rad=math.radians(cone_deg),
        ra_box=selection == "box",
        coarse_step=COARSE_STEP,
        gamma_tol=GAMMA_TOL,
    )
    return st, grid


def _cos_radius(sigma_rad: np.ndarray, inv_b: np.ndarray, emax: np.ndarray) -> np.ndarray:
    """cos of the distance beyond which S_spatial * inv_b * emax < X_MIN (1.1 covers psi/sin psi)."""
    peak = 1.1 * inv_b * emax / (2.0 * np.pi * sigma_rad**2)
    with np.errstate(divide="ignore"):
        arg = np.log(np.maximum(peak, 1e-300) / X_MIN)
    r = np.sqrt(2.0 * np.maximum(arg, 0.0)) * sigma_rad
    out = np.cos(np.minimum(r, np.pi))
    out[arg <= 0] = 2.0  # never selected
    return out


def _emax(row: np.ndarray, ebin: np.ndarray) -> np.ndarray:
    """Largest signal energy PDF value of the two grid nodes around each event (x 1.05)."""
    return 1.05 * np.maximum(row[ebin], row[np.minimum(ebin + 1, len(row) - 1)])


def kernel_columns(model: SeasonModel, emax_row: np.ndarray | None, ra_deg: np.ndarray, dec_deg: np.ndarray,
                   log10_e: np.ndarray, angerr_deg: np.ndarray) -> np.ndarray:
    """The kernel's columns of events of one season (recorded or injected).

    Parameters
    ----------
    model : SeasonModel
        The season's likelihood model (background PDFs, fine log-energy grid).
    emax_row : (n_e,) array or None
        Largest signal energy PDF over the season's energy classes and gammas per fine log-energy
        node; sets each event's selection radius (``cos_r``). None: no radius (every event of the
        band is selected, SkyLLH's box selection).
    ra_deg, dec_deg, log10_e, angerr_deg : (n,) arrays
        Event directions [deg], reconstructed log10(E/GeV) and AngErr [deg].

    Returns
    -------
    (n,) structured array of :data:`EVENT_DTYPE`.
    """
    out = np.empty(len(dec_deg), dtype=EVENT_DTYPE)
    d = np.radians(dec_deg)
    sd = np.sin(d)
    ebin, efrac = model.energy_index(log10_e)
    sigma = np.radians(angerr_deg)
    inv_b = model.inv_bkg(log10_e, sd)
    out["dec"] = d
    out["ra"] = np.radians(ra_deg)
    out["sin_dec"] = sd
    out["cos_dec"] = np.cos(d)
    out["sigma"] = sigma
    out["inv_b"] = inv_b
    out["efrac"] = efrac
    out["cos_r"] = -2.0 if emax_row is None else _cos_radius(sigma, inv_b, _emax(emax_row, ebin))
    out["ebin"] = ebin
    return out


def _column(events: np.ndarray, name: str) -> np.ndarray:
    return np.ascontiguousarray(events[name])


class KernelEngine:
    """Season models + C++ kernel, for one source (band events) or the whole sky (all events).

    Parameters
    ----------
    data : PublicData
        The seasons.
    gamma_range, ns_max, cone_deg, selection, energy_weighting :
        As for :class:`icecore.ps.PointSourceAnalysis`.
    energy_smoothing : {"all", "sparse"} or None
        Smoothing of the background energy PDF (:class:`icecore.ps.model.SeasonModel`; None: its
        default for ``energy_weighting``, :func:`icecore.ps.model.default_energy_smoothing`).
    decs_deg : (k,) array
        Declinations [deg] that will be fitted: the signal tables are built for their energy
        classes.
    band_dec_deg : float or None
        Keep only the events within ``cone_deg`` of this declination (one source); None keeps all.

    Attributes
    ----------
    models : list of SeasonModel
    gamma_grid : (G,) array
        The gamma grid of the signal tables.
    settings : icecore._core.ps.PsSettings
    """

    def __init__(self, data: PublicData, *, gamma_range: tuple[float, float], ns_max: float, cone_deg: float,
                 decs_deg: np.ndarray, band_dec_deg: float | None, energy_weighting: str = "exact",
                 selection: str = "band", energy_smoothing: str | None = None) -> None:
        from .. import _core

        self.settings, self.gamma_grid = kernel_settings(gamma_range, ns_max, cone_deg, selection)
        self.box = selection == "box"
        self.models = [SeasonModel(s, self.gamma_grid, weighting=energy_weighting, energy_smoothing=energy_smoothing)
                       for s in data.seasons]
        self._class_keys: list[list[tuple[int, int]]] = []
        self._emax_rows: list[np.ndarray] = []
        seasons = []
        for m in self.models:
            keys, etable, acc = self._signal_tables(m, decs_deg)
            self._class_keys.append(keys)
            emax_row = np.max(etable, axis=(0, 1))  # largest S_E over classes and gammas
            self._emax_rows.append(emax_row)
            s = m.season
            dec = np.radians(s.dec_deg)
            if band_dec_deg is not None:
                lo = math.radians(band_dec_deg) - self.settings.cone_rad
                hi = math.radians(band_dec_deg) + self.settings.cone_rad
                idx = np.flatnonzero((dec >= lo) & (dec <= hi))
            else:
                idx = np.arange(len(s))
            idx = idx[np.argsort(dec[idx], kind="stable")]  # the kernel needs events sorted by dec
            ev = kernel_columns(m, None if self.box else emax_row, s.ra_deg[idx], s.dec_deg[idx], s.log10_e[idx],
                                s.angerr_deg[idx])
            e_lo, e_hi = m.acc_edges_gev
            seasons.append(_core.ps.PsSeason(
                dec=_column(ev, "dec"), ra=_column(ev, "ra"), sin_dec=_column(ev, "sin_dec"),
                cos_dec=_column(ev, "cos_dec"), sigma=_column(ev, "sigma"), inv_b=_column(ev, "inv_b"),
                efrac=_column(ev, "efrac"), cos_r=_column(ev, "cos_r"), ebin=_column(ev, "ebin"),
                etable=np.ascontiguousarray(etable).ravel(), acc=np.ascontiguousarray(acc).ravel(),
                acc_x_lo=e_lo / E0_DEFAULT, acc_x_hi=e_hi / E0_DEFAULT, n_total=float(len(s)),
                n_class=len(keys), n_e=m.n_e))
        self._kernel = _core.ps.PsModel(seasons, self.settings)

    @staticmethod
    def _signal_tables(m: SeasonModel, decs_deg: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
        """Energy classes of ``decs_deg`` and, per class, the signal energy table and acceptance row."""
        keys = sorted({m.energy_class(float(x)) for x in decs_deg})
        rep: dict[tuple[int, int], float] = {}
        for x in decs_deg:  # one representative declination per class
            rep.setdefault(m.energy_class(float(x)), float(x))
        etable = np.stack([m.signal_energy_table(rep[k]) for k in keys])  # (n_class, G, n_e)
        acc = np.stack([m.acceptance(rep[k]) for k in keys])  # (n_class, n_acc)
        return keys, etable, acc

    @property
    def season_names(self) -> list[str]:
        return [m.name for m in self.models]

    def classes(self, dec_deg: np.ndarray) -> np.ndarray:
        """(n, n_seasons) int32 energy-class index of each declination [deg] in each season."""
        # one lookup per distinct declination (a HEALPix map has 4 nside - 1 of them, not 12 nside^2)
        udec, inverse = np.unique(np.asarray(dec_deg, dtype=np.float64), return_inverse=True)
        out = np.empty((len(udec), len(self.models)), dtype=np.int32)
        for j, m in enumerate(self.models):
            lut = {k: i for i, k in enumerate(self._class_keys[j])}
            out[:, j] = [lut[m.energy_class(float(x))] for x in udec]
        return out[inverse.reshape(-1)]

    # ----------------------------------------------------------------- kernel calls (radians)
    def fit(self, ra_rad: float, dec_rad: float, cls: np.ndarray) -> np.ndarray:
        """One fit with the recorded events; a 1-element result array."""
        return self._kernel.fit(ra_rad, dec_rad, cls)

    def log_lambda(self, ra_rad: float, dec_rad: float, cls: np.ndarray, ns: float, gamma: float) -> float:
        """log L(ns, gamma) - log L(0) with the recorded events (every term exact)."""
        return float(self._kernel.log_lambda(ra_rad, dec_rad, cls, ns, gamma))

    def trials(self, ra_rad: float, dec_rad: float, cls: np.ndarray, seeds: np.ndarray,
               injected: _core.ps.PsInjected | None, threads: int) -> np.ndarray:
        """RA-scrambled trials (one uint64 seed each), with the injected events of :meth:`inject`."""
        return self._kernel.trials(ra_rad, dec_rad, cls, seeds, injected, threads)

    def scan(self, ra_rad: np.ndarray, dec_rad: np.ndarray, cls: np.ndarray, threads: int) -> np.ndarray:
        """Fits at many positions with the recorded events; cls from :meth:`classes`."""
        return self._kernel.scan(ra_rad, dec_rad, cls, threads)

    # ----------------------------------------------------------------- signal injection
    def inject(self, rng: np.random.Generator, n_trials: int, ns_inject: float, shares: Sequence[float],
               ra_deg: float, dec_deg: float, gamma: float) -> tuple[_core.ps.PsInjected, np.ndarray]:
        """Signal events for ``n_trials`` trials drawn from the IRFs, as kernel input.

        Each trial gets Poisson(``ns_inject``) events shared among seasons multinomially by
        ``shares``; each season's events are drawn by :meth:`SeasonModel.sample_signal` for an
        E^-gamma source at (ra_deg, dec_deg).

        Returns
        -------
        injected : icecore._core.ps.PsInjected
            The events grouped by trial.
        n_injected : (n_trials,) int array
            Events injected in each trial.
        """
        from .. import _core

        shares_arr = np.asarray(shares, dtype=np.float64)
        n_tot = rng.poisson(ns_inject, size=n_trials)
        per = np.array([rng.multinomial(k, shares_arr) for k in n_tot]).reshape(n_trials, len(shares_arr))
        events, season, trial = [], [], []
        for j, m in enumerate(self.models):
            n = int(per[:, j].sum())
            if n == 0:
                continue
            ev = m.sample_signal(rng, n, ra_deg, dec_deg, gamma)
            events.append(kernel_columns(m, None if self.box else self._emax_rows[j], ev["ra_deg"], ev["dec_deg"],
                                         ev["log10_e"], ev["angerr_deg"]))
            season.append(np.full(n, j, dtype=np.int32))
            trial.append(np.repeat(np.arange(n_trials), per[:, j]))
        offsets = np.zeros(n_trials + 1, dtype=np.int64)
        if events:
            tr = np.concatenate(trial)
            order = np.argsort(tr, kind="stable")
            cols = np.concatenate(events)[order]
            seas = np.ascontiguousarray(np.concatenate(season)[order])
            np.cumsum(np.bincount(tr[order], minlength=n_trials), out=offsets[1:])
        else:
            cols = np.empty(0, dtype=EVENT_DTYPE)
            seas = np.zeros(0, dtype=np.int32)
        injected = _core.ps.PsInjected(
            season=seas, ra=_column(cols, "ra"), sin_dec=_column(cols, "sin_dec"), cos_dec=_column(cols, "cos_dec"),
            sigma=_column(cols, "sigma"), inv_b=_column(cols, "inv_b"), efrac=_column(cols, "efrac"),
            cos_r=_column(cols, "cos_r"), ebin=_column(cols, "ebin"), offsets=offsets)
        return injected, per.sum(axis=1)
