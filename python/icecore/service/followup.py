"""The follow-ups the orchestrator runs through the science packages (one adapter each).

Point-source follow-up of an alert (:func:`ps_followup`), through :mod:`icecore.ps`: for each
window ``[t + start, t + stop]`` around the alert time ``t`` (IceCube's fast-response follow-ups
use +-500 s and a longer window, here +-1 day by default) and each season of the configured
public data whose good runs overlap it, :class:`icecore.ps.FlareSearch` at the alert position
fits ns and gamma with the fixed box time PDF of the window (``FlareSearch.fit_window``: the
time-dependent unbinned likelihood on the season's events, ``TS = 2 log Lambda``); the p-value
comes from ``n_trials`` background trials with the same fixed window (event times scrambled in
live time, :meth:`FlareSearch.background` -> :class:`icecore.stats.BackgroundTS`), empirical where
the trials resolve it and from the fitted tail beyond. The expected background count is the
season's all-sky rate times the window's live time.

The alert's position is uncertain, so each window also gets an **error-region search**
(``error_region`` in the product, :func:`ps_region_window`): the same fixed-window fit at every
point of a hexagonal grid over the alert's 90 % circle (:func:`region_grid`: spacing r90 / 2
by default, 19 points, centre included), reporting the grid point of largest TS. Its p-value
comes from trials that do the same maximisation: in each trial the season's events get one
time scramble, the same at every grid point (all grid searches share one event list,
:meth:`FlareSearch.on_events`, and one seed per trial), and the trial's TS is the maximum over
the grid; so the look-elsewhere effect of the grid is in the p-value, and no more than it (the
correlation of neighbouring points is kept). ``p_value_local`` is the best point's own p-value
(its own trials), for comparison. Without an error radius the region search is not run
(``status`` "no_error_radius"). The top-level numbers of a window stay those at the alert's
position (a point-source hypothesis at the quoted position).

LVK follow-up (:func:`run_lvk_followup`): :mod:`icecore.lvk` for one parsed LVK alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..coords import angular_distance_deg

__all__ = ["ps_followup", "ps_window", "ps_region_window", "region_grid", "run_lvk_followup", "PS_METHOD",
           "REGION_METHOD"]

PS_METHOD = ("icecore.ps.FlareSearch.fit_window (fixed box time PDF, TS = 2 log Lambda) per season; "
             "p-value from FlareSearch.background (times scrambled in live time) via icecore.stats.BackgroundTS")
REGION_METHOD = ("max TS of FlareSearch.fit_window over a hexagonal grid in the 90 % error circle (spacing "
                 "r90/2); p-value from trials maximising over the same grid with one time scramble per trial "
                 "shared by all grid points")


def _overlap_s(uptime: np.ndarray, a: float, b: float) -> float:
    up = np.asarray(uptime, float).reshape(-1, 2)
    lo = np.maximum(up[:, 0], a)
    hi = np.minimum(up[:, 1], b)
    return float(np.sum(np.clip(hi - lo, 0.0, None))) * 86400.0


def _pvalue(bg: Any, ts: float) -> dict[str, Any]:
    try:
        d = bg.pvalue_detail(ts)
        return {"p_value": float(d.value), "p_value_error": float(d.error), "p_value_method": d.method,
                "tail_model": d.model}
    except Exception:  # too few trials above ts for a tail fit: the empirical count and its bound
        c = int(bg.count_above(ts))
        return {"p_value": c / bg.n, "p_value_error": math.sqrt(max(c, 1)) / bg.n, "p_value_method": "empirical",
                "tail_model": "empirical", "p_value_bound": (1.0 / bg.n) if c == 0 else None}


def ps_window(search: Any, season: Any, ra_deg: float, dec_deg: float, t_mjd: float, lo_s: float, hi_s: float,
              n_trials: int, seed: int) -> dict[str, Any]:
    """One season's fixed-window fit and its background trials (see the module docstring)."""
    a, b = t_mjd + lo_s / 86400.0, t_mjd + hi_s / 86400.0
    live = _overlap_s(season.uptime_mjd, a, b)
    sel = np.flatnonzero((season.mjd >= a) & (season.mjd <= b))
    out: dict[str, Any] = {"season": season.name, "livetime_s": live, "n_events": int(sel.size),
                           "n_expected_background": len(season) / max(season.livetime_s, 1e-9) * live}
    r = search.fit_window(a, b)
    bg = search.background(n_trials, kind="box", seed=seed, window=(a, b))
    sep = np.asarray(angular_distance_deg(ra_deg, dec_deg, season.ra_deg[sel], season.dec_deg[sel]), float)
    order = np.argsort(sep, kind="stable")[:20]
    events = [{"dt_s": float((season.mjd[sel[i]] - t_mjd) * 86400.0), "ra_deg": float(season.ra_deg[sel[i]]),
               "dec_deg": float(season.dec_deg[sel[i]]), "angerr_deg": float(season.angerr_deg[sel[i]]),
               "separation_deg": float(sep[i])} for i in order]
    return {**out, "ts": float(r.ts), "ns": float(r.ns), "gamma": float(r.gamma), "fit_status": int(r.status),
            **_pvalue(bg, float(r.ts)), "n_trials": int(bg.n), "background_ts_median": float(bg.median()),
            "events": events}


def region_grid(ra_deg: float, dec_deg: float, radius_deg: float, step_deg: float | None = None,
                max_points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Hexagonal grid of positions inside a circle on the sky, the centre first.

    Parameters
    ----------
    ra_deg, dec_deg : float
        Centre [deg].
    radius_deg : float
        Circle radius [deg] (> 0): points at angular distance <= radius from the centre.
    step_deg : float, optional
        Distance between neighbouring points [deg]; default ``radius_deg / 2`` (19 points).
    max_points : int
        More points raise :class:`~icecore.errors.InputError` (choose a larger step).

    Returns
    -------
    ra_deg, dec_deg : (n,) arrays
        Ordered by distance from the centre (then by position angle); ``[0]`` is the centre.
    """
    from ..errors import InputError

    r = float(radius_deg)
    if not (math.isfinite(r) and r > 0):
        raise InputError(f"argument 'radius_deg': must be a finite number > 0, got {radius_deg!r}", "radius_deg")
    step = r / 2.0 if step_deg is None else float(step_deg)
    if not (math.isfinite(step) and step > 0):
        raise InputError(f"argument 'step_deg': must be a finite number > 0, got {step_deg!r}", "step_deg")
    n = int(math.ceil(r / step)) + 1
    j, i = np.mgrid[-n:n + 1, -2 * n:2 * n + 1]
    x = step * (i + 0.5 * j)  # tangent-plane offsets [deg]: x east, y north
    y = step * (math.sqrt(3.0) / 2.0) * j
    rho = np.hypot(x, y)
    inside = rho <= r * (1.0 + 1e-9)
    if int(inside.sum()) > max_points:
        raise InputError(f"argument 'step_deg': {int(inside.sum())} grid points > max_points {max_points}", "step_deg")
    x, y, rho = x[inside], y[inside], rho[inside]
    pa = np.mod(np.arctan2(x, y), 2 * np.pi)
    order = np.lexsort((np.round(pa, 9), np.round(rho, 9)))
    rho_r, pa = np.radians(rho[order]), pa[order]
    d0, a0 = math.radians(dec_deg), math.radians(ra_deg)
    sd = math.sin(d0) * np.cos(rho_r) + math.cos(d0) * np.sin(rho_r) * np.cos(pa)
    dec = np.arcsin(np.clip(sd, -1.0, 1.0))
    ra = a0 + np.arctan2(np.sin(pa) * np.sin(rho_r) * math.cos(d0), np.cos(rho_r) - math.sin(d0) * sd)
    return np.mod(np.degrees(ra), 360.0), np.degrees(dec)


def _event_keys(t: np.ndarray) -> np.ndarray:
    """One key per stored event: (time, rank among equal times), as complex numbers (sorted
    lexicographically by numpy), so that events with the same time stay distinct."""
    order = np.argsort(t, kind="stable")
    ts = t[order]
    starts = np.concatenate([[True], ts[1:] != ts[:-1]]) if ts.size else np.zeros(0, bool)
    first = np.flatnonzero(starts)[np.cumsum(starts) - 1]
    rank = np.empty(t.size)
    rank[order] = np.arange(t.size) - first
    return t + 1j * rank


def shared_event_list(searches: Sequence[Any]) -> list[Any]:
    """The searches of one season on one common event list (:meth:`FlareSearch.on_events`).

    Each search stores only the events that matter at its position; the union keeps all of them,
    each search seeing x = 0 for the events it did not store (which changes none of its fits). With
    one event list, one trial seed scrambles the same events identically in every search.
    """
    if not searches:
        return []
    t0 = searches[0].sample.t_mjd
    if all(s.sample.t_mjd.shape == t0.shape and np.array_equal(s.sample.t_mjd, t0) for s in searches):
        return list(searches)  # one list already (partial-sky releases store the whole cone)
    keys = [_event_keys(np.asarray(s.sample.t_mjd, float)) for s in searches]
    union = np.unique(np.concatenate(keys))
    out = []
    for s, k in zip(searches, keys):
        x = np.zeros((s.sample.x.shape[0], union.size))
        x[:, np.searchsorted(union, k)] = s.sample.x
        out.append(s.on_events(union.real, x))
    return out


def ps_region_window(searches: Sequence[Any], grid: tuple[np.ndarray, np.ndarray], ra_deg: float, dec_deg: float,
                     t_mjd: float, lo_s: float, hi_s: float, n_trials: int, seed: int) -> dict[str, Any]:
    """The error-region search of one season in one window (see the module docstring).

    ``searches``: one :class:`~icecore.ps.FlareSearch` per grid point, on one event list
    (:func:`shared_event_list`); ``grid``: their (ra, dec) [deg]; (ra_deg, dec_deg): the alert.
    """
    from ..stats import BackgroundTS

    a, b = t_mjd + lo_s / 86400.0, t_mjd + hi_s / 86400.0
    fits = [s.fit_window(a, b) for s in searches]
    ts = np.array([f.ts for f in fits])
    k = int(np.argmax(ts))  # ties: the first, i.e. nearest the centre
    trial_ts = np.stack([s.trials(n_trials, "box", seed=seed, window=(a, b))["ts"] for s in searches])
    bg_max, bg_local = BackgroundTS(), BackgroundTS()
    bg_max.add(trial_ts.max(axis=0))
    bg_local.add(trial_ts[k])
    ra_k, dec_k = float(grid[0][k]), float(grid[1][k])
    best = {"ra_deg": ra_k, "dec_deg": dec_k,
            "offset_deg": float(angular_distance_deg(ra_deg, dec_deg, ra_k, dec_k)),
            "ts": float(fits[k].ts), "ns": float(fits[k].ns), "gamma": float(fits[k].gamma),
            "fit_status": int(fits[k].status)}
    local = _pvalue(bg_local, best["ts"])
    return {"season": searches[0].name, "status": "ok", "n_points": len(searches), "best": best,
            "ts": best["ts"], **_pvalue(bg_max, best["ts"]), "p_value_local": local["p_value"],
            "n_trials": int(bg_max.n), "background_ts_median": float(bg_max.median()),
            "ts_grid": [float(v) for v in ts]}


def ps_followup(data: Any, ra_deg: float, dec_deg: float, mjd: float, *, error90_deg: float | None,
                windows_s: Sequence[tuple[float, float]], n_trials: int = 200, seed: int = 0,
                threads: int | None = 1, region_step_deg: float | None = None) -> dict[str, Any]:
    """The point-source follow-up in every window; returns the product summary.

    Parameters
    ----------
    data : icecore.ps.PublicData
        Loaded public data (events, good runs).
    ra_deg, dec_deg : float
        Alert position (deg, J2000).
    mjd : float
        Alert time (MJD, UTC).
    error90_deg : float or None
        The alert's 90 % radius (deg): the circle of the error-region search (None or <= 0: none).
    windows_s : sequence of (start, stop)
        Windows in seconds relative to ``mjd``.
    n_trials : int
        Background trials per window and season.
    seed : int
        Seed of the trials (the same seed, the same p-values).
    threads : int or None
        Trial threads (results do not depend on it).
    region_step_deg : float, optional
        Grid spacing of the error-region search (default ``error90_deg / 2``, see :func:`region_grid`).

    Returns
    -------
    dict
        ``windows``: one entry per window with ``status`` ("ok" or "no_coverage"), the
        headline numbers at the alert position (``ts``, ``ns``, ``gamma``, ``p_value``... of the
        season with the most live time in the window), ``per_season`` (every season that overlaps
        it) and ``error_region`` (the search over the 90 % circle, same season; its own
        ``per_season``); ``error_region`` at the top level describes the grid.
    """
    from ..ps import FlareSearch

    searches: dict[str, Any] = {}
    r90 = 0.0 if error90_deg is None else float(error90_deg)
    grid = region_grid(ra_deg, dec_deg, r90, region_step_deg) if r90 > 0 else None
    region_info: dict[str, Any] = {"status": "no_error_radius"}
    if grid is not None:
        region_info = {"status": "ok", "method": REGION_METHOD, "radius_deg": r90,
                       "step_deg": r90 / 2.0 if region_step_deg is None else float(region_step_deg),
                       "n_points": int(grid[0].size), "ra_deg": grid[0].tolist(), "dec_deg": grid[1].tolist()}
    grid_searches: dict[str, list[Any]] = {}
    windows = []
    for k, (lo, hi) in enumerate(windows_s):
        lo, hi = float(lo), float(hi)
        a, b = mjd + lo / 86400.0, mjd + hi / 86400.0
        live = [s for s in data.seasons if _overlap_s(s.uptime_mjd, a, b) > 0]
        head: dict[str, Any] = {"window_s": [lo, hi], "start_mjd": a, "stop_mjd": b}
        if not live:
            windows.append({**head, "status": "no_coverage", "livetime_s": 0.0, "n_events": 0,
                            "n_expected_background": 0.0, "ts": None, "ns": None, "p_value": None, "n_trials": 0,
                            "seasons": [], "per_season": [], "events": []})
            continue
        per, regions = [], []
        for j, s in enumerate(live):
            if s.name not in searches:
                searches[s.name] = FlareSearch(s, ra_deg, dec_deg, threads=threads)
            per.append(ps_window(searches[s.name], s, ra_deg, dec_deg, mjd, lo, hi, n_trials,
                                 seed + 1000 * k + j))
            if grid is not None:
                if s.name not in grid_searches:  # grid[.][0] is the alert position: its search is reused
                    around = [FlareSearch(s, r, d, threads=threads) for r, d in zip(grid[0][1:], grid[1][1:])]
                    grid_searches[s.name] = shared_event_list([searches[s.name], *around])
                regions.append(ps_region_window(grid_searches[s.name], grid, ra_deg, dec_deg, mjd, lo, hi,
                                                n_trials, seed + 1000 * k + j + 500))
        best = max(per, key=lambda w: w["livetime_s"])
        region: dict[str, Any] = {"status": "no_error_radius"}
        if regions:
            head_region = next(r for r in regions if r["season"] == best["season"])
            region = {**head_region, "per_season": [{kk: v for kk, v in r.items() if kk != "ts_grid"}
                                                    for r in regions]}
        windows.append({**head, **{key: v for key, v in best.items() if key != "season"}, "status": "ok",
                        "livetime_s": float(sum(w["livetime_s"] for w in per)),
                        "n_events": int(sum(w["n_events"] for w in per)),
                        "n_expected_background": float(sum(w["n_expected_background"] for w in per)),
                        "headline_season": best["season"], "seasons": [w["season"] for w in per],
                        "per_season": per, "error_region": region})
    return {"method": PS_METHOD, "ra_deg": float(ra_deg), "dec_deg": float(dec_deg), "mjd": float(mjd),
            "error90_deg": error90_deg, "seed": int(seed), "error_region": region_info, "windows": windows}


def run_lvk_followup(alert: Any, events: np.ndarray, sample: Any, out_dir: Any, *, nside: int, n_trials: int,
                     seed: int, plot: bool = True) -> dict[str, Any]:
    """Run the LVK follow-up of one parsed LVK alert and write its products into ``out_dir``.

    The one place the service calls :mod:`icecore.lvk` (so that a renamed entry point is changed
    here only): :func:`icecore.lvk.run_followup` then :func:`icecore.lvk.write_products`
    (``notice.json``, ``circular.txt``, ``skymap.png`` with ``plot``, ``summary.json``; a
    retraction writes ``retraction.json`` and runs no search).

    Parameters
    ----------
    alert : icecore.lvk.LvkAlert
    events : ndarray of icecore.lvk.EVENT_DTYPE
        The neutrino events (the +-500 s window is selected by the follow-up).
    sample : icecore.lvk.EventSample
        The background sample.
    out_dir : path
    nside, n_trials, seed
        Search resolution, background trials (single-event trials: a quarter of them), seed.

    Returns
    -------
    dict name -> Path of the files written.
    """
    from ..lvk import run_followup, write_products

    result = run_followup(alert, events, sample, nside=nside, n_trials=n_trials,
                          n_single_trials=max(100, n_trials // 4), seed=seed, threads=1)
    return write_products(result, out_dir, plot=plot)
