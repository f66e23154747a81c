"""Stacked time-integrated point-source search: one ns shared by a list of weighted sources.

For season j the signal PDF of event i is the mixture over sources k

    S_ij(gamma) = sum_k W_jk(gamma) S_spatial(psi_ik, sigma_i) S_energy,jk(logE_i; gamma) / sum_k W_jk(gamma),
    W_jk(gamma) = w_k Y_jk(gamma),

with w_k the source weights (equal, flux or user-given) and Y_jk the expected events per unit flux
(livetime x A_eff(delta_k) x E^-gamma, :func:`icecore.ps.flux.flux_to_mu`), i.e. the
acceptance-weighted weights; the seasons share ns as n_j = ns f_j, f_j = sum_k W_jk / sum_jk W_jk.
Background, spatial signal and energy PDFs are those of the single-source analysis
(:class:`icecore.ps.model.SeasonModel`); the signal energy tables are interpolated in gamma by the
parabola through the three nearest grid nodes and linearly in log E, as the kernel does.
Events farther than ``radius_deg`` (default 30 deg) or ``band_deg`` in declination (default 10 deg,
the single-source band) from every source enter only through the normalisation term, as in the
single-source kernel. The fit profiles ns by a
safeguarded Newton iteration on a gamma grid, then refines gamma by bounded Brent's method.
Trials scramble right ascensions and can inject signal into the stack: Poisson(ns) events shared by
season (f_j) and source (W_jk). Two implementations of the same trials: ``backend="cpp"`` (the
default: ``_core.ps.StackModel``, cpp/include/icecore/ps_stack.hpp, the per-trial loop in C++ with
threads, GIL released, the right ascensions drawn from one xoshiro256** stream per trial, so any
thread count gives the same results) and ``backend="numpy"`` (numpy draws; a k-d tree finds the
events near each source). The injected events are drawn in numpy for both. On the same right
ascensions both give the same fit (tests/ps/test_stacking.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize
from scipy.spatial import cKDTree

from .._validation import check_positive, check_threads, rng_from_seed
from ..errors import InputError
from ..stats import BackgroundTS
from .dataset import PublicData
from .engine import kernel_settings
from .flux import flux_to_mu
from .model import SeasonModel
from .sources import SourceList

__all__ = ["BACKENDS", "StackingAnalysis", "StackFit"]


@dataclass
class StackFit:
    """Result of a stacked fit."""

    ts: float
    ns: float
    gamma: float
    n_injected: int = 0


BACKENDS = ("cpp", "numpy")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise InputError(f"argument 'backend': must be one of {BACKENDS}, got {backend!r}", "backend")


def _stack_dtype() -> np.dtype[Any]:
    from .. import _core

    return np.dtype(_core.ps.STACK_EVENT_DTYPE)


def _stack_events(ra: np.ndarray, dec: np.ndarray, sigma: np.ndarray, inv_b: np.ndarray, ebin: np.ndarray,
                  efrac: np.ndarray) -> np.ndarray:
    """A STACK_EVENT_DTYPE array (angles in rad)."""
    a = np.zeros(len(ra), dtype=_stack_dtype())
    a["ra"], a["dec"], a["sigma"], a["inv_b"], a["ebin"], a["efrac"] = ra, dec, sigma, inv_b, ebin, efrac
    return a


def _unit(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    cd = np.cos(dec)
    return np.stack([cd * np.cos(ra), cd * np.sin(ra), np.sin(dec)], axis=1)


class _SeasonStack:
    """One season's events and the per-source ingredients that do not change under RA scrambling."""

    def __init__(self, model: SeasonModel, src: SourceList, gammas: np.ndarray) -> None:
        s = model.season
        self.m = model
        self.n = len(s)
        self.sin_dec = np.sin(np.radians(s.dec_deg))
        self.dec = np.radians(s.dec_deg)
        self.sigma = np.radians(s.angerr_deg)
        self.log_e = s.log10_e
        self.inv_b = model.inv_bkg(s.log10_e, self.sin_dec)
        self.ebin, self.efrac = model.energy_index(s.log10_e)
        self.tables = [model.signal_energy_table(float(d)) for d in src.dec_deg]  # per source (G, n_e)
        self.y = np.array([[flux_to_mu(s.aeff, s.livetime_s, float(d), 1.0, float(g)) for g in gammas]
                           for d in src.dec_deg])  # (K, G)


class StackingAnalysis:
    """Stacked point-source search over a source list.

    Parameters
    ----------
    data : PublicData
        Full-sky seasons (e.g. :func:`icecore.ps.releases.load_release`).
    sources : SourceList
        Positions and weights (``read_source_csv``, ``read_4fgl``, ``SourceList.single``).
    weighting : {"user", "equal"}
        "user" uses ``sources.weight`` (flux weights from ``read_4fgl(weight="flux")`` or a CSV);
        "equal" sets every weight to 1.
    gamma_range : (float, float)
    radius_deg : float
        Events farther than this from every source enter only the normalisation term.
    band_deg : float
        ... and so do events farther than this in declination (the single-source kernel's band).
    energy_smoothing : {"sparse", "all"} or None
        Smoothing of the data-built background energy PDF, as for
        :class:`icecore.ps.PointSourceAnalysis` (None: the shared default,
        :func:`icecore.ps.model.default_energy_smoothing`, i.e. "sparse"; "all" is SkyLLH's).
    """

    def __init__(self, data: PublicData, sources: SourceList, *, weighting: str = "user",
                 gamma_range: tuple[float, float] = (1.0, 4.0), ns_max: float = 1000.0,
                 radius_deg: float = 30.0, band_deg: float = 10.0, energy_smoothing: str | None = None) -> None:
        if weighting not in ("user", "equal"):
            raise InputError(f"argument 'weighting': must be 'user' or 'equal', got {weighting!r}", "weighting")
        check_positive(radius_deg, "radius_deg")
        if any(s.region is not None for s in data):
            raise InputError("argument 'data': stacking needs full-sky seasons (not a partial-sky release)", "data")
        self.sources = sources
        self.w = np.ones(len(sources)) if weighting == "equal" else sources.weight / sources.weight.sum()
        self.gamma_range = (float(gamma_range[0]), float(gamma_range[1]))
        self.ns_max = float(ns_max)
        _, grid = kernel_settings(self.gamma_range, ns_max, 10.0)
        self.grid = np.asarray(grid, dtype=np.float64)
        self.step = float(self.grid[1] - self.grid[0])
        self.radius = math.radians(radius_deg)
        self.seasons = [_SeasonStack(SeasonModel(s, self.grid, energy_smoothing=energy_smoothing), sources, self.grid)
                        for s in data]
        self.src_u = _unit(np.radians(sources.ra_deg), np.radians(sources.dec_deg))
        self.src_dec = np.radians(sources.dec_deg)
        self.band = math.radians(band_deg)
        self._kernel: Any = None

    # ------------------------------------------------------------------ C++ kernel
    def kernel(self) -> Any:
        """The ``_core.ps.StackModel`` of this analysis (built when first used)."""
        if self._kernel is None:
            from .. import _core

            st = _core.ps.StackSettings(gamma_min=self.gamma_range[0], gamma_max=self.gamma_range[1],
                                        ns_max=self.ns_max, radius=self.radius, band=self.band)
            k = _core.ps.StackModel(src_ra=np.radians(self.sources.ra_deg), src_dec=self.src_dec,
                                    weights=np.asarray(self.w, dtype=np.float64), gamma0=float(self.grid[0]),
                                    dgamma=self.step, n_gamma=len(self.grid), settings=st)
            for ss in self.seasons:
                ev = _stack_events(np.radians(ss.m.season.ra_deg), ss.dec, ss.sigma, ss.inv_b, ss.ebin, ss.efrac)
                k.add_season(ev, np.ascontiguousarray(np.stack(ss.tables)), np.ascontiguousarray(ss.y))
            self._kernel = k
        return self._kernel

    def fit_with_ra(self, ra_rad: list[np.ndarray], *, backend: str = "cpp") -> StackFit:
        """Fit with the given right ascensions [rad] per season (e.g. a trial's scramble)."""
        _check_backend(backend)
        if backend == "cpp":
            r = self.kernel().fit([np.ascontiguousarray(a, dtype=np.float64) for a in ra_rad])[0]
            return StackFit(float(r["ts"]), float(r["ns"]), float(r["gamma"]))
        sets = [self._near(ss, np.asarray(a, dtype=np.float64), None) for ss, a in zip(self.seasons, ra_rad)]
        return self._fit_sets(sets)

    # ------------------------------------------------------------------ weights
    def _y(self, j: int, gamma: float) -> np.ndarray:
        """Y_jk(gamma) per source (exact at grid nodes, log-linear between)."""
        y = self.seasons[j].y
        u = np.clip((gamma - self.grid[0]) / self.step, 0, len(self.grid) - 1 - 1e-12)
        k = int(u)
        f = u - k
        return np.exp((1 - f) * np.log(np.maximum(y[:, k], 1e-300)) + f * np.log(np.maximum(y[:, k + 1], 1e-300)))

    def shares(self, gamma: float) -> tuple[np.ndarray, list[np.ndarray]]:
        """(season shares f_j, per season the source mixture W_jk / sum_k W_jk)."""
        w = [self.w * self._y(j, gamma) for j in range(len(self.seasons))]
        tot = np.array([x.sum() for x in w])
        return tot / tot.sum(), [x / x.sum() for x in w]

    # ------------------------------------------------------------------ per-trial event sets
    def _near(self, ss: _SeasonStack, ra: np.ndarray, extra: dict[str, np.ndarray] | None) -> dict[str, Any]:
        """Per source: indices of events within the radius, their S_spatial x inv_b; injected appended."""
        dec, sigma, inv_b, ebin, efrac = ss.dec, ss.sigma, ss.inv_b, ss.ebin, ss.efrac
        if extra is not None and len(extra["ra"]):
            ra = np.concatenate([ra, extra["ra"]])
            dec = np.concatenate([dec, extra["dec"]])
            sigma = np.concatenate([sigma, extra["sigma"]])
            inv_b = np.concatenate([inv_b, extra["inv_b"]])
            ebin = np.concatenate([ebin, extra["ebin"]])
            efrac = np.concatenate([efrac, extra["efrac"]])
        u = _unit(ra, dec)
        tree = cKDTree(u)
        chord = 2.0 * math.sin(self.radius / 2.0)
        per = []
        for k in range(len(self.sources)):
            idx = np.asarray(tree.query_ball_point(self.src_u[k], chord), dtype=np.int64)
            idx = idx[np.abs(dec[idx] - self.src_dec[k]) <= self.band]
            c = np.clip(u[idx] @ self.src_u[k], -1.0, 1.0)
            psi = np.arccos(c)
            sg = sigma[idx]
            fac = np.where(psi > 1e-8, psi / np.sin(np.maximum(psi, 1e-8)), 1.0)
            sp = np.exp(-0.5 * (psi / sg) ** 2) / (2 * np.pi * sg**2) * fac * inv_b[idx]
            tab = ss.tables[k]
            e0 = tab[:, ebin[idx]]
            e1 = tab[:, np.minimum(ebin[idx] + 1, tab.shape[1] - 1)]
            se = e0 * (1 - efrac[idx]) + e1 * efrac[idx]  # (G, m)
            se[:, ebin[idx] == 0] = 0.0
            per.append((idx, sp[None, :] * se))
        union = np.unique(np.concatenate([p[0] for p in per])) if per else np.zeros(0, np.int64)
        return {"per": per, "union": union, "n_total": ss.n + (0 if extra is None else len(extra["ra"]))}

    def _x(self, sets: list[dict[str, Any]], gamma: float) -> tuple[list[np.ndarray], np.ndarray]:
        f, mix = self.shares(gamma)
        u = (gamma - self.grid[0]) / self.step
        k = int(np.clip(np.rint(u), 1, len(self.grid) - 2))
        d = u - k
        wn = np.array([0.5 * d * (d - 1), 1 - d * d, 0.5 * d * (d + 1)])
        xs = []
        for j, st in enumerate(sets):
            x = np.zeros(len(st["union"]))
            for q, (idx, vals) in enumerate(st["per"]):
                if idx.size == 0:
                    continue
                v = np.maximum(wn @ vals[k - 1:k + 2], 0.0) * mix[j][q]
                np.add.at(x, np.searchsorted(st["union"], idx), v)
            xs.append(x)
        return xs, f

    def _profile(self, sets: list[dict[str, Any]], gamma: float) -> tuple[float, float]:
        xs, f = self._x(sets, gamma)
        nt = np.array([st["n_total"] for st in sets], dtype=np.float64)

        def grad(ns: float) -> tuple[float, float]:
            g = h = 0.0
            for x, fj, n in zip(xs, f, nt):
                a = fj / n
                d = x - 1.0
                q = 1.0 + ns * a * d
                g += float(np.sum(a * d / q)) - (n - len(x)) * a / (1 - ns * a)
                h -= float(np.sum((a * d / q) ** 2)) + (n - len(x)) * a * a / (1 - ns * a) ** 2
            return g, h

        def value(ns: float) -> float:
            v = 0.0
            for x, fj, n in zip(xs, f, nt):
                a = fj / n
                v += float(np.sum(np.log1p(ns * a * (x - 1.0)))) + (n - len(x)) * math.log1p(-ns * a)
            return v

        if grad(0.0)[0] <= 0:
            return 0.0, 0.0
        hi = min(self.ns_max, 0.999 * float(np.min(nt / np.maximum(f, 1e-300))))
        if grad(hi)[0] >= 0:
            return value(hi), hi
        lo, up, s = 0.0, hi, 0.5 * hi
        for _ in range(100):
            g, h = grad(s)
            if g > 0:
                lo = s
            else:
                up = s
            nxt = s - g / h if h < 0 else 0.5 * (lo + up)
            if not lo < nxt < up:
                nxt = 0.5 * (lo + up)
            if abs(nxt - s) < 1e-8 * (1 + s):
                s = nxt
                break
            s = nxt
        return value(s), s

    def _fit_sets(self, sets: list[dict[str, Any]]) -> StackFit:
        g0, g1 = self.gamma_range
        nodes = np.arange(g0, g1 + 1e-9, 0.25)
        vals = [self._profile(sets, float(g)) for g in nodes]
        i = int(np.argmax([v[0] for v in vals]))
        if vals[i][1] <= 0:
            return StackFit(0.0, 0.0, float(nodes[i]))
        lo, hi = max(g0, nodes[i] - 0.25), min(g1, nodes[i] + 0.25)
        res = optimize.minimize_scalar(lambda g: -self._profile(sets, float(g))[0], bounds=(lo, hi),
                                       method="bounded", options={"xatol": 1e-3})
        g = float(res.x)
        v, ns = self._profile(sets, g)
        if v < vals[i][0]:
            g, (v, ns) = float(nodes[i]), vals[i]
        return StackFit(max(0.0, 2.0 * v), ns, g)

    # ------------------------------------------------------------------ public API
    def unblind(self) -> StackFit:
        """Fit ns and gamma with the recorded events."""
        sets = [self._near(ss, np.radians(ss.m.season.ra_deg), None) for ss in self.seasons]
        return self._fit_sets(sets)

    def log_likelihood_ratio(self, ns: float, gamma: float) -> float:
        """log Lambda(ns, gamma) with the recorded events."""
        sets = [self._near(ss, np.radians(ss.m.season.ra_deg), None) for ss in self.seasons]
        xs, f = self._x(sets, gamma)
        v = 0.0
        for x, fj, st in zip(xs, f, sets):
            a = fj / st["n_total"]
            v += float(np.sum(np.log1p(ns * a * (x - 1.0)))) + (st["n_total"] - len(x)) * math.log1p(-ns * a)
        return v

    def _inject(self, rng: np.random.Generator, ns: float,
                gamma: float) -> tuple[list[dict[str, np.ndarray] | None], int]:
        f, mix = self.shares(gamma)
        n_tot = int(rng.poisson(ns))
        per_season = rng.multinomial(n_tot, f)
        out: list[dict[str, np.ndarray] | None] = []
        for j, ss in enumerate(self.seasons):
            nj = int(per_season[j])
            if nj == 0:
                out.append(None)
                continue
            per_src = rng.multinomial(nj, mix[j])
            cols: dict[str, list[np.ndarray]] = {k: [] for k in ("ra", "dec", "sigma", "inv_b", "ebin", "efrac")}
            for k, c in enumerate(per_src):
                if c == 0:
                    continue
                ev = ss.m.sample_signal(rng, int(c), float(self.sources.ra_deg[k]), float(self.sources.dec_deg[k]),
                                        gamma)
                sd = np.sin(np.radians(ev["dec_deg"]))
                eb, ef = ss.m.energy_index(ev["log10_e"])
                cols["ra"].append(np.radians(ev["ra_deg"]))
                cols["dec"].append(np.radians(ev["dec_deg"]))
                cols["sigma"].append(np.radians(ev["angerr_deg"]))
                cols["inv_b"].append(ss.m.inv_bkg(ev["log10_e"], sd))
                cols["ebin"].append(eb)
                cols["efrac"].append(ef)
            out.append({k: np.concatenate(v) for k, v in cols.items()})
        return out, n_tot

    def trials(self, n: int, *, seed: Any = None, ns_inject: float = 0.0, gamma_inject: float = 2.0,
               backend: str = "cpp", threads: int | None = None) -> list[StackFit]:
        """``n`` RA-scrambled trials, with Poisson(``ns_inject``) signal events injected into the stack.

        ``backend``: "cpp" (C++ per-trial loop, ``threads`` worker threads, None = all cores) or
        "numpy" (the reference implementation); same seed, same results whatever the thread count.
        """
        n = int(check_positive(n, "n", integer=True))
        check_positive(ns_inject, "ns_inject", allow_zero=True)
        _check_backend(backend)
        rng = rng_from_seed(seed)
        if backend == "cpp":
            return self._trials_cpp(n, rng, ns_inject, gamma_inject, check_threads(threads))
        out = []
        for _ in range(n):
            inj: list[dict[str, np.ndarray] | None] = [None] * len(self.seasons)
            n_inj = 0
            if ns_inject > 0:
                inj, n_inj = self._inject(rng, ns_inject, gamma_inject)
            sets = [self._near(ss, rng.uniform(0, 2 * np.pi, ss.n), inj[j]) for j, ss in enumerate(self.seasons)]
            r = self._fit_sets(sets)
            r.n_injected = n_inj
            out.append(r)
        return out

    def _trials_cpp(self, n: int, rng: np.random.Generator, ns_inject: float, gamma_inject: float,
                    threads: int) -> list[StackFit]:
        injected = None
        if ns_inject > 0:
            per: list[list[np.ndarray]] = [[] for _ in self.seasons]
            for t in range(n):
                inj, _ = self._inject(rng, ns_inject, gamma_inject)
                for j, e in enumerate(inj):
                    if e is not None and len(e["ra"]):
                        a = _stack_events(e["ra"], e["dec"], e["sigma"], e["inv_b"], e["ebin"], e["efrac"])
                        a["trial"] = t
                        per[j].append(a)
            dt = _stack_dtype()
            injected = [np.concatenate(p) if p else np.zeros(0, dtype=dt) for p in per]
        seeds = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
        res = self.kernel().trials(seeds, injected, threads)
        return [StackFit(float(r["ts"]), float(r["ns"]), float(r["gamma"]), int(r["n_injected"])) for r in res]

    def background(self, n: int = 100, *, seed: Any = None, backend: str = "cpp", threads: int | None = None,
                   batch: int = 1000) -> BackgroundTS:
        """Background TS distribution from ``n`` scrambled trials (in batches: bounded memory)."""
        bg = BackgroundTS()
        rng = rng_from_seed(seed)
        done = 0
        while done < n:
            k = min(batch, n - done)
            bg.add([t.ts for t in self.trials(k, seed=rng, backend=backend, threads=threads)])
            done += k
        return bg

    def sensitivity(self, background: BackgroundTS, *, gamma: float = 2.0, n_trials: int = 100, seed: Any = None,
                    ns_grid: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0)) -> float:
        """ns at which 90 % of signal trials exceed the background median (interpolated on ``ns_grid``)."""
        thr = background.median()
        rng = rng_from_seed(seed)
        frac = []
        for ns in ns_grid:
            t = self.trials(n_trials, seed=rng, ns_inject=ns, gamma_inject=gamma)
            frac.append(float(np.mean([x.ts > thr for x in t])))
        fr = np.maximum.accumulate(np.array(frac))
        if fr[-1] < 0.9:
            return float("inf")
        return float(np.interp(0.9, fr + 1e-9 * np.arange(len(fr)), np.array(ns_grid)))
