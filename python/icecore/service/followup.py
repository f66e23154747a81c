"""The follow-ups the orchestrator runs through the science packages (one adapter each).

Point-source follow-up of an alert (:func:`ps_followup`), through :mod:`icecore.ps`: for each
window ``[t + start, t + stop]`` around the alert time ``t`` (IceCube's fast-response follow-ups
use +-500 s and a longer window, here +-1 day by default) and each season of the configured
public data whose good runs overlap it, :class:`icecore.ps.FlareSearch` at the alert position
fits ns and gamma with the fixed box time PDF of the window (``FlareSearch.fit_window``: the
time-dependent unbinned likelihood on the season's events, ``TS = 2 log Lambda``); the p-value
comes from ``n_trials`` background trials with the same fixed window (event times scrambled in
live time, :meth:`FlareSearch.background` -> :class:`icecore.stats.BackgroundTS`), empirical where
the trials resolve it and from the fitted tail beyond. The alert's own position uncertainty is
not folded into the signal PDF (FlareSearch models a point source): it is recorded in the
product. The expected background count is the season's all-sky rate times the window's live time.

LVK follow-up (:func:`run_lvk_followup`): :mod:`icecore.lvk` for one parsed LVK alert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..coords import angular_distance_deg

__all__ = ["ps_followup", "ps_window", "run_lvk_followup", "PS_METHOD"]

PS_METHOD = ("icecore.ps.FlareSearch.fit_window (fixed box time PDF, TS = 2 log Lambda) per season; "
             "p-value from FlareSearch.background (times scrambled in live time) via icecore.stats.BackgroundTS")


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


def ps_followup(data: Any, ra_deg: float, dec_deg: float, mjd: float, *, error90_deg: float | None,
                windows_s: Sequence[tuple[float, float]], n_trials: int = 200, seed: int = 0,
                threads: int | None = 1) -> dict[str, Any]:
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
        The alert's 90 % radius (deg), recorded (not used by the point-source likelihood).
    windows_s : sequence of (start, stop)
        Windows in seconds relative to ``mjd``.
    n_trials : int
        Background trials per window and season.
    seed : int
        Seed of the trials (the same seed, the same p-values).
    threads : int or None
        Trial threads (results do not depend on it).

    Returns
    -------
    dict
        ``windows``: one entry per window with ``status`` ("ok" or "no_coverage"), the
        headline numbers (``ts``, ``ns``, ``gamma``, ``p_value``... of the season with the most live
        time in the window) and ``per_season`` (every season that overlaps it).
    """
    from ..ps import FlareSearch

    searches: dict[str, Any] = {}
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
        per = []
        for j, s in enumerate(live):
            if s.name not in searches:
                searches[s.name] = FlareSearch(s, ra_deg, dec_deg, threads=threads)
            per.append(ps_window(searches[s.name], s, ra_deg, dec_deg, mjd, lo, hi, n_trials,
                                 seed + 1000 * k + j))
        best = max(per, key=lambda w: w["livetime_s"])
        windows.append({**head, **{key: v for key, v in best.items() if key != "season"}, "status": "ok",
                        "livetime_s": float(sum(w["livetime_s"] for w in per)),
                        "n_events": int(sum(w["n_events"] for w in per)),
                        "n_expected_background": float(sum(w["n_expected_background"] for w in per)),
                        "headline_season": best["season"], "seasons": [w["season"] for w in per],
                        "per_season": per})
    return {"method": PS_METHOD, "ra_deg": float(ra_deg), "dec_deg": float(dec_deg), "mjd": float(mjd),
            "error90_deg": error90_deg, "seed": int(seed), "windows": windows}


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
