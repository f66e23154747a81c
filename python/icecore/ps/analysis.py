"""The time-integrated point-source analysis: fit, trials, sensitivity, flux conversion, sky scan.

See :mod:`icecore.ps.model` for the likelihood model and ``cpp/include/icecore/ps_llh.hpp`` for
the fit (profile likelihood in ns, coarse scan + golden-section refinement in gamma).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._progress import progress_bar
from .._validation import as_degrees, check_positive, check_threads, rng_from_seed
from ..errors import InputError
from .io import PublicData, load_public_data
from .model import E0_DEFAULT, GAMMA_GRID_STEP, SeasonModel, powerlaw_integral

__all__ = ["PointSourceAnalysis", "FitResult", "TrialResults", "SensitivityResult", "sky_scan",
           "STATUS"]

log = logging.getLogger(__name__)

X_MIN = 1e-3
"""An event enters the sum only where its largest possible S/B (spatial x the largest energy
ratio over the gamma grid) exceeds X_MIN; elsewhere its term log(1 + n/N (X - 1)) differs from
the normalisation term log(1 - n/N) by less than n/N x X_MIN."""

COARSE_STEP = 0.5
"""Step of the coarse scan in gamma that precedes Brent's refinement (robust to multiple maxima)."""

STATUS = {0: "ok", 1: "ns at upper bound", 2: "no event in the cone", 3: "failed: non-finite likelihood"}


@dataclass
class FitResult:
    """Result of one fit.

    Attributes
    ----------
    ts : float
        Test statistic 2 log(L(ns, gamma) / L(0)) (>= 0).
    ns : float
        Fitted number of signal events (all seasons).
    gamma : float
        Fitted spectral index (for ts = 0 the index where the likelihood rises fastest).
    status : str
        "ok", "ns at upper bound", "no event in the cone" or "failed: non-finite likelihood".
    n_selected : int
        Events within the cone (the others enter only through the normalisation term).
    ns_seasons : dict
        ns shared among seasons by their acceptance at the fitted gamma.
    """

    ts: float
    ns: float
    gamma: float
    status: str
    n_selected: int
    ns_seasons: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "ns at upper bound", "no event in the cone")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrialResults:
    """Arrays of trial results (``ts``, ``ns``, ``gamma``, ``status``) and the injected counts."""

    ts: np.ndarray
    ns: np.ndarray
    gamma: np.ndarray
    status: np.ndarray
    n_injected: np.ndarray
    seed: Any = None

    def __len__(self) -> int:
        return len(self.ts)

    def to_npz(self, path: str) -> None:
        """Write the trials to a ``.npz`` file atomically."""
        import io as _io

        from .._io import atomic_write

        buf = _io.BytesIO()
        np.savez(buf, ts=self.ts, ns=self.ns, gamma=self.gamma, status=self.status, n_injected=self.n_injected)
        atomic_write(path, buf.getvalue())


@dataclass
class SensitivityResult:
    """Sensitivity or discovery potential.

    Attributes
    ----------
    ns : float
        Mean number of injected signal events (all seasons) reaching the goal.
    flux : float
        The same as flux normalisation phi0 [GeV^-1 cm^-2 s^-1] at e0 for gamma.
    ts_threshold : float
        Background TS threshold (median, or the 5 sigma TS).
    fraction : float
        Required fraction of signal trials above the threshold (0.9 or 0.5).
    gamma, e0 : float
        Injected spectrum.
    points : list of (ns, fraction, n_trials)
        The signal-trial evaluations used.
    """

    ns: float
    flux: float
    ts_threshold: float
    fraction: float
    gamma: float
    e0: float
    points: list[tuple[float, float, int]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cos_radius(sigma_rad: np.ndarray, inv_b: np.ndarray, emax: np.ndarray) -> np.ndarray:
    """cos of the distance beyond which S_spatial * inv_b * emax < X_MIN (1.1 covers psi/sin psi)."""
    peak = 1.1 * inv_b * emax / (2.0 * np.pi * sigma_rad**2)
    with np.errstate(divide="ignore"):
        arg = np.log(np.maximum(peak, 1e-300) / X_MIN)
    r = np.sqrt(2.0 * np.maximum(arg, 0.0)) * sigma_rad
    out = np.cos(np.minimum(r, np.pi))
    out[arg <= 0] = 2.0  # never selected
    return out


def _emax(row: np.ndarray, ebin: np.ndarray, efrac: np.ndarray) -> np.ndarray:
    """Largest signal energy PDF value of the two grid nodes around each event (x 1.05)."""
    return 1.05 * np.maximum(row[ebin], row[np.minimum(ebin + 1, len(row) - 1)])


def _settings(gamma_range: tuple[float, float], ns_max: float, cone_deg: float,
              selection: str = "band") -> tuple[dict[str, Any], np.ndarray]:
    if selection not in ("band", "box"):
        raise InputError(f"argument 'selection': must be 'band' or 'box', got {selection!r}", "selection")
    gmin, gmax = float(gamma_range[0]), float(gamma_range[1])
    if not (np.isfinite(gmin) and np.isfinite(gmax)) or gmax < gmin:
        raise InputError(f"argument 'gamma_range': expected (low, high) with low <= high, got {gamma_range}",
                         "gamma_range")
    g0 = math.floor(round(gmin / GAMMA_GRID_STEP, 9)) * GAMMA_GRID_STEP - GAMMA_GRID_STEP
    n = int(math.ceil(round((gmax - g0) / GAMMA_GRID_STEP, 9))) + 2
    grid = np.round(g0 + GAMMA_GRID_STEP * np.arange(n), 10)
    st = {
        "gamma_grid0": float(grid[0]),
        "gamma_grid_step": GAMMA_GRID_STEP,
        "n_gamma_grid": len(grid),
        "gamma_min": gmin,
        "gamma_max": gmax,
        "ns_max": float(ns_max),
        "cone_rad": math.radians(cone_deg),
        "coarse_step": COARSE_STEP,
        "ra_box": selection == "box",
        "gamma_tol": 1e-3,
    }
    return st, grid


def _as_data(data: PublicData | str, seasons: Sequence[str] | None) -> PublicData:
    if isinstance(data, PublicData):
        if seasons is None:
            return data
        out = PublicData(data.path, data.release, [data[s] for s in seasons])
        return out
    return load_public_data(data, seasons)


class _Engine:
    """Season models + C++ kernel, for one source (band events) or the whole sky (all events)."""

    def __init__(self, data: PublicData, gamma_range: tuple[float, float], ns_max: float, cone_deg: float,
                 decs_deg: np.ndarray, band_dec_deg: float | None, energy_weighting: str = "exact",
                 selection: str = "band") -> None:
        from .. import _core

        self.settings, self.gamma_grid = _settings(gamma_range, ns_max, cone_deg, selection)
        self.box = selection == "box"
        self.models = [SeasonModel(s, self.gamma_grid, weighting=energy_weighting) for s in data.seasons]
        self.cone_deg = cone_deg
        payload = []
        self.class_keys: list[list[tuple[int, int]]] = []
        for m in self.models:
            s = m.season
            dec = np.radians(s.dec_deg)
            if band_dec_deg is not None:
                lo = math.radians(band_dec_deg) - self.settings["cone_rad"]
                hi = math.radians(band_dec_deg) + self.settings["cone_rad"]
                idx = np.flatnonzero((dec >= lo) & (dec <= hi))
            else:
                idx = np.arange(len(s))
            idx = idx[np.argsort(dec[idx], kind="stable")]
            d = dec[idx]
            sd = np.sin(d)
            ebin, efrac = m.energy_index(s.log10_e[idx])
            keys = sorted({m.energy_class(float(x)) for x in decs_deg})
            self.class_keys.append(keys)
            tables, accs = [], []
            rep = {}
            for x in decs_deg:  # one representative declination per class
                rep.setdefault(m.energy_class(float(x)), float(x))
            for k in keys:
                tables.append(m.signal_energy_table(rep[k]))
                accs.append(m.acceptance(rep[k]))
            e_lo, e_hi = m.acc_edges_gev
            emax_row = np.max(np.stack(tables), axis=(0, 1))  # largest S_E over classes and gammas
            m.emax_row = emax_row
            inv_b = m.inv_bkg(s.log10_e[idx], sd)
            payload.append({
                "dec": d,
                "ra": np.radians(s.ra_deg[idx]),
                "sin_dec": sd,
                "cos_dec": np.cos(d),
                "sigma": np.radians(s.angerr_deg[idx]),
                "inv_b": inv_b,
                "efrac": efrac,
                "cos_r": (np.full(len(idx), -2.0) if self.box else
                          _cos_radius(np.radians(s.angerr_deg[idx]), inv_b, _emax(emax_row, ebin, efrac))),
                "ebin": ebin,
                "etable": np.ascontiguousarray(np.stack(tables)).ravel(),
                "acc": np.ascontiguousarray(np.stack(accs)).ravel(),
                "acc_x_lo": e_lo / E0_DEFAULT,
                "acc_x_hi": e_hi / E0_DEFAULT,
                "n_total": float(len(s)),
                "n_class": len(keys),
                "n_e": m.n_e,
            })
        self.kernel = _core.ps.PsModel(payload, self.settings)

    def classes(self, dec_deg: np.ndarray) -> np.ndarray:
        out = np.empty((len(dec_deg), len(self.models)), dtype=np.int32)
        for j, m in enumerate(self.models):
            lut = {k: i for i, k in enumerate(self.class_keys[j])}
            out[:, j] = [lut[m.energy_class(float(x))] for x in dec_deg]
        return out


class PointSourceAnalysis:
    """Time-integrated unbinned likelihood-ratio search for one point source.

    Parameters
    ----------
    data : PublicData or path
        Data from :func:`icecore.ps.load_public_data` (or the folder to load).
    ra, dec : float or astropy Quantity
        Source position in degrees (J2000).
    seasons : sequence of str, optional
        Restrict to these seasons.
    gamma_range : (float, float)
        Fit range of the spectral index (default (1, 4)); tables extend one grid step beyond.
    ns_max : float
        Upper bound of ns (default 1000).
    cone_deg : float
        Half-width of the declination band around the source (default 10 deg, as SkyLLH's
        event selection): events outside it, and events whose largest possible S/B at the
        source is below ``X_MIN`` (1e-3), enter only through the normalisation term.
    selection : {"band", "box"}
        "band" (default): every event in the declination band whose S/B can exceed ``X_MIN``
        contributes. "box": SkyLLH's ``SpatialBoxEventSelectionMethod`` -- only events with
        ``|RA - RA_src| < cone / min cos(dec_src -+ cone)`` inside the band contribute (events with
        a large AngErr outside that RA box are treated as pure background).
    threads : int or None
        Worker threads for trials (None = all cores).
    energy_weighting : {"exact", "skyllh"}
        How the true-energy bins of the smearing matrix are weighted in the signal energy PDF
        (see :func:`icecore.ps.model.true_energy_weights`): "exact" (default) integrates
        A_eff x E^-gamma over each effective-area bin; "skyllh" reproduces SkyLLH's product of
        bin-averaged detection probability and bin-integrated flux.

    Notes
    -----
    NaN policy: the data loader rejects NaN; S/B is capped at 3e38 and the background PDFs
    floored at 1e-300, so the likelihood stays finite; a non-finite value is reported as status
    "failed: non-finite likelihood" with TS 0.
    """

    def __init__(self, data: PublicData | str, ra: Any, dec: Any, *, seasons: Sequence[str] | None = None,
                 gamma_range: tuple[float, float] = (1.0, 4.0), ns_max: float = 1000.0, cone_deg: float = 10.0,
                 threads: int | None = None, energy_weighting: str = "exact", selection: str = "band") -> None:
        self.ra = float(as_degrees(ra, "ra", ndim=0))
        self.dec = float(as_degrees(dec, "dec", ndim=0))
        if not -90.0 <= self.dec <= 90.0:
            raise InputError(f"argument 'dec': must be in [-90, 90] deg, got {self.dec}", "dec")
        self.ra %= 360.0
        check_positive(ns_max, "ns_max")
        check_positive(cone_deg, "cone_deg")
        if cone_deg > 90:
            raise InputError("argument 'cone_deg': must be <= 90", "cone_deg")
        self.threads = check_threads(threads)
        self.data = _as_data(data, seasons)
        self.gamma_range = (float(gamma_range[0]), float(gamma_range[1]))
        self.ns_max = float(ns_max)
        self._eng = _Engine(self.data, self.gamma_range, self.ns_max, float(cone_deg), np.array([self.dec]),
                            self.dec, energy_weighting, selection)
        self._cls = np.zeros(len(self.data), dtype=np.int32)
        self._ra_rad, self._dec_rad = math.radians(self.ra), math.radians(self.dec)

    @property
    def season_names(self) -> list[str]:
        return [m.name for m in self._eng.models]

    # ----------------------------------------------------------------- acceptance and flux
    def _y(self, gamma: float, e0: float = E0_DEFAULT) -> np.ndarray:
        """Per season livetime x sum A_eff x integral (E/e0)^-gamma dE [cm^2 s GeV]."""
        out = []
        for m in self._eng.models:
            lo, hi = m.acc_edges_gev
            out.append(float(np.sum(m.acceptance(self.dec) * powerlaw_integral(lo, hi, gamma, e0))))
        return np.array(out)

    def season_shares(self, gamma: float) -> dict[str, float]:
        """Fraction of the signal expected in each season for index gamma."""
        y = self._y(gamma)
        return dict(zip(self.season_names, (y / y.sum()).tolist()))

    def flux2mu(self, flux: float, gamma: float = 2.0, e0: float = E0_DEFAULT) -> float:
        """Expected signal events (all seasons) of Phi(E) = flux (E/e0)^-gamma [GeV^-1 cm^-2 s^-1].

        mu = sum_seasons livetime [s] x sum_k A_eff(dec, k) [cm^2] x integral_k Phi dE, with the
        effective-area declination bin that contains the source.
        """
        return float(flux * self._y(gamma, e0).sum())

    def mu2flux(self, mu: float, gamma: float = 2.0, e0: float = E0_DEFAULT) -> float:
        """Flux normalisation [GeV^-1 cm^-2 s^-1] at e0 that yields ``mu`` expected events."""
        return float(mu / self._y(gamma, e0).sum())

    # ----------------------------------------------------------------- fit
    def _result(self, d: dict[str, np.ndarray], i: int) -> FitResult:
        ns = float(d["ns"][i])
        g = float(d["gamma"][i])
        shares = self.season_shares(g)
        return FitResult(ts=float(d["ts"][i]), ns=ns, gamma=g, status=STATUS[int(d["status"][i])],
                         n_selected=int(d["n_selected"][i]), ns_seasons={k: ns * v for k, v in shares.items()})

    def unblind(self, seed: Any = None) -> FitResult:
        """Fit ns and gamma on the data as recorded.

        ``seed`` is accepted for interface symmetry; the fit is deterministic (no seed values).
        """
        d = self._eng.kernel.fit(self._ra_rad, self._dec_rad, self._cls)
        return self._result(d, 0)

    def log_likelihood_ratio(self, ns: float, gamma: float) -> float:
        """log L(ns, gamma) - log L(0) on the recorded data (for checks)."""
        return float(self._eng.kernel.log_lambda(self._ra_rad, self._dec_rad, self._cls, float(ns), float(gamma)))

    # ----------------------------------------------------------------- trials
    def _inject(self, rng: np.random.Generator, n_trials: int, ns_inject: float,
                gamma: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Injected events of ``n_trials`` trials (flat arrays + offsets) and the count per trial."""
        shares = np.array(list(self.season_shares(gamma).values()))
        n_tot = rng.poisson(ns_inject, size=n_trials)
        per = np.array([rng.multinomial(k, shares) for k in n_tot]).reshape(n_trials, len(shares))
        cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                             ("season", "ra", "sin_dec", "cos_dec", "sigma", "inv_b", "efrac", "cos_r",
                                              "ebin", "trial")}
        for j, m in enumerate(self._eng.models):
            n = int(per[:, j].sum())
            if n == 0:
                continue
            ev = m.sample_signal(rng, n, self.ra, self.dec, gamma)
            d = np.radians(ev["dec_deg"])
            sd = np.sin(d)
            eb, ef = m.energy_index(ev["log10_e"])
            cols["season"].append(np.full(n, j, dtype=np.int32))
            cols["ra"].append(np.radians(ev["ra_deg"]))
            cols["sin_dec"].append(sd)
            cols["cos_dec"].append(np.cos(d))
            cols["sigma"].append(np.radians(ev["angerr_deg"]))
            ib = m.inv_bkg(ev["log10_e"], sd)
            cols["inv_b"].append(ib)
            cols["efrac"].append(ef)
            cols["cos_r"].append(np.full(n, -2.0) if self._eng.box else
                                 _cos_radius(np.radians(ev["angerr_deg"]), ib, _emax(m.emax_row, eb, ef)))
            cols["ebin"].append(eb)
            cols["trial"].append(np.repeat(np.arange(n_trials), per[:, j]))
        if not cols["season"]:
            return {"offsets": np.zeros(n_trials + 1, dtype=np.int64), "season": np.zeros(0, np.int32),
                    "ra": np.zeros(0), "sin_dec": np.zeros(0), "cos_dec": np.zeros(0), "sigma": np.ones(0),
                    "inv_b": np.zeros(0), "efrac": np.zeros(0), "cos_r": np.zeros(0),
                    "ebin": np.zeros(0, np.int32)}, per.sum(axis=1)
        out = {k: np.concatenate(v) for k, v in cols.items()}
        order = np.argsort(out["trial"], kind="stable")
        for k in out:
            out[k] = np.ascontiguousarray(out[k][order])
        offsets = np.zeros(n_trials + 1, dtype=np.int64)
        np.cumsum(np.bincount(out.pop("trial"), minlength=n_trials), out=offsets[1:])
        out["offsets"] = offsets
        return out, per.sum(axis=1)

    def trials(self, n: int, *, seed: Any = None, ns_inject: float = 0.0, gamma_inject: float = 2.0,
               threads: int | None = None, progress: bool | None = None, batch: int = 1000) -> TrialResults:
        """Background (``ns_inject=0``) or signal trials.

        Each trial scrambles the right ascension of every event uniformly and, for
        ``ns_inject > 0``, adds Poisson(ns_inject) signal events drawn from the IRFs for an
        E^-gamma_inject spectrum, shared among seasons by acceptance. Parallel over ``threads``
        (C++, GIL released), ``batch`` trials per kernel call with a progress bar. Background trials
        depend only on ``seed`` (not on the thread count or batch size); signal trials also on
        ``batch`` (injected events are drawn per batch).

        Returns
        -------
        TrialResults
        """
        n = int(check_positive(n, "n", integer=True))
        check_positive(ns_inject, "ns_inject", allow_zero=True)
        check_positive(batch, "batch", integer=True)
        thr = self.threads if threads is None else check_threads(threads)
        rng = rng_from_seed(seed)
        seeds = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
        res = {k: [] for k in ("ts", "ns", "gamma", "status")}
        ninj = []
        with progress_bar(total=n, progress=progress, desc="ps trials", unit="trial") as bar:
            for start in range(0, n, batch):
                sl = slice(start, min(n, start + batch))
                k = sl.stop - sl.start
                inj = None
                if ns_inject > 0:
                    inj, counts = self._inject(rng, k, ns_inject, gamma_inject)
                    ninj.append(counts)
                else:
                    ninj.append(np.zeros(k, dtype=np.int64))
                d = self._eng.kernel.trials(self._ra_rad, self._dec_rad, self._cls, seeds[sl], inj, thr)
                for key in res:
                    res[key].append(d[key])
                bar.update(k)
        st = np.concatenate(res["status"])
        if np.any(st == 3):
            log.warning("%d of %d trials had a non-finite likelihood (status 3)", int((st == 3).sum()), n)
        return TrialResults(np.concatenate(res["ts"]), np.concatenate(res["ns"]), np.concatenate(res["gamma"]), st,
                            np.concatenate(ninj), seed)

    def background(self, n: int = 10_000, *, seed: Any = None, threads: int | None = None,
                   progress: bool | None = None, batch: int = 2000):
        """Background TS distribution from ``n`` RA-scrambled trials, in bounded memory.

        Returns
        -------
        icecore.stats.BackgroundTS
        """
        from ..stats import BackgroundTS

        bg = BackgroundTS()
        rng = rng_from_seed(seed)
        done = 0
        with progress_bar(total=n, progress=progress, desc="ps background", unit="trial") as bar:
            while done < n:
                k = min(batch, n - done)
                t = self.trials(k, seed=rng, threads=threads, progress=False, batch=k)
                bg.add(t.ts)
                done += k
                bar.update(k)
        return bg

    # ----------------------------------------------------------------- sensitivity
    def _fraction_above(self, ns: float, thr: float, n_trials: int, rng: np.random.Generator, gamma: float,
                        threads: int | None) -> float:
        t = self.trials(n_trials, seed=rng, ns_inject=ns, gamma_inject=gamma, threads=threads, progress=False,
                        batch=n_trials)
        return float(np.mean(t.ts > thr))

    def _solve_ns(self, thr: float, goal: float, *, gamma: float, n_trials: int, seed: Any,
                  threads: int | None, progress: bool | None, ns_start: float) -> tuple[float, list]:
        rng = rng_from_seed(seed)
        pts: list[tuple[float, float, int]] = []

        def frac(ns: float) -> float:
            f = self._fraction_above(ns, thr, n_trials, rng, gamma, threads)
            pts.append((ns, f, n_trials))
            return f

        with progress_bar(total=None, progress=progress, desc="ps sensitivity", unit="step") as bar:
            lo, hi = 0.0, max(ns_start, 1.0)
            f_hi = frac(hi)
            bar.update(1)
            while f_hi < goal:
                lo = hi
                hi *= 2.0
                if hi > self.ns_max:
                    raise InputError(f"the goal needs more than ns_max={self.ns_max} signal events", "ns_max")
                f_hi = frac(hi)
                bar.update(1)
            # bisection on ns with a fixed number of trials per point
            for _ in range(8):
                mid = 0.5 * (lo + hi)
                if frac(mid) >= goal:
                    hi = mid
                else:
                    lo = mid
                bar.update(1)
        # final estimate: linear interpolation of the monotonised fraction around the goal
        arr = np.array(sorted((p[0], p[1]) for p in pts))
        fr = np.maximum.accumulate(arr[:, 1])
        i = int(np.searchsorted(fr, goal))
        if i == 0:
            ns = float(arr[0, 0])
        elif i >= len(arr):
            ns = float(arr[-1, 0])
        else:
            x0, x1, y0, y1 = arr[i - 1, 0], arr[i, 0], fr[i - 1], fr[i]
            ns = float(x0 + (goal - y0) * (x1 - x0) / (y1 - y0)) if y1 > y0 else float(x1)
        return ns, pts

    def sensitivity(self, background=None, *, gamma: float = 2.0, e0: float = E0_DEFAULT, n_background: int = 5000,
                    n_trials: int = 300, seed: Any = None, threads: int | None = None,
                    progress: bool | None = None) -> SensitivityResult:
        """90 % of signal trials above the background median TS (the usual sensitivity).

        Parameters
        ----------
        background : icecore.stats.BackgroundTS, optional
            Background distribution; made with ``n_background`` trials when omitted.
        gamma, e0 : float
            Injected spectrum E^-gamma and the flux reference energy [GeV].
        n_trials : int
            Signal trials per evaluated ns.
        """
        rng = rng_from_seed(seed)
        bg = background if background is not None else self.background(n_background, seed=rng, threads=threads,
                                                                        progress=progress)
        thr = float(bg.median())
        ns, pts = self._solve_ns(thr, 0.9, gamma=gamma, n_trials=n_trials, seed=rng, threads=threads,
                                 progress=progress, ns_start=5.0)
        return SensitivityResult(ns, self.mu2flux(ns, gamma, e0), thr, 0.9, gamma, e0, pts)

    def discovery_potential(self, background=None, *, sigma: float = 5.0, gamma: float = 2.0, e0: float = E0_DEFAULT,
                            n_background: int = 5000, n_trials: int = 300, seed: Any = None,
                            threads: int | None = None, progress: bool | None = None) -> SensitivityResult:
        """50 % of signal trials above the ``sigma`` (default 5) background TS threshold.

        The threshold comes from the background trials where at least ``min_count`` of them lie
        beyond it, from the fitted tail of the distribution otherwise (see ``BackgroundTS.ts_at_pvalue``).
        """
        from ..stats import sigma_to_p

        rng = rng_from_seed(seed)
        bg = background if background is not None else self.background(n_background, seed=rng, threads=threads,
                                                                        progress=progress)
        thr = bg.ts_at_pvalue(float(sigma_to_p(sigma)))
        ns, pts = self._solve_ns(thr, 0.5, gamma=gamma, n_trials=n_trials, seed=rng, threads=threads,
                                 progress=progress, ns_start=10.0)
        return SensitivityResult(ns, self.mu2flux(ns, gamma, e0), thr, 0.5, gamma, e0, pts)


def sky_scan(data: PublicData | str, nside: int = 64, *, seasons: Sequence[str] | None = None,
             gamma_range: tuple[float, float] = (1.0, 4.0), ns_max: float = 1000.0, cone_deg: float = 10.0,
             threads: int | None = None, dec_range: tuple[float, float] = (-90.0, 90.0),
             selection: str = "band", energy_weighting: str = "exact") -> dict[str, np.ndarray]:
    """TS, ns and gamma at every HEALPix pixel (RING ordering, equatorial).

    Parameters
    ----------
    data : PublicData or path
    nside : int
        HEALPix resolution (64: 49 152 pixels).
    dec_range : (float, float)
        Only pixels with declination in this range are fitted (others get TS 0, status 2).
    selection, energy_weighting :
        As for :class:`PointSourceAnalysis`.

    Returns
    -------
    dict with ``ts``, ``ns``, ``gamma``, ``status`` arrays (n_pix), ``ra``/``dec`` of the pixel
    centres [deg], ``seconds`` spent in the fits.
    """
    import healpy as hp

    if not hp.isnsideok(nside):
        raise InputError(f"argument 'nside': {nside} is not a power of two", "nside")
    thr = check_threads(threads)
    data = _as_data(data, seasons)
    npix = hp.nside2npix(nside)
    theta, phi = hp.pix2ang(nside, np.arange(npix))
    dec = 90.0 - np.degrees(theta)
    ra = np.degrees(phi)
    sel = (dec >= dec_range[0]) & (dec <= dec_range[1])
    eng = _Engine(data, gamma_range, ns_max, cone_deg, np.unique(dec[sel]), None, energy_weighting, selection)
    cls = eng.classes(dec[sel])
    t0 = time.perf_counter()
    d = eng.kernel.scan(np.radians(ra[sel]), np.radians(dec[sel]), cls, thr)
    secs = time.perf_counter() - t0
    out = {k: np.zeros(npix) for k in ("ts", "ns", "gamma")}
    out["status"] = np.full(npix, 2, dtype=np.int32)
    for k in ("ts", "ns", "gamma", "status"):
        out[k][sel] = d[k]
    out["ra"] = ra
    out["dec"] = dec
    out["seconds"] = np.array(secs)
    return out
