"""The point-source follow-up of an alert in time windows, on public IceCube track data.

For each window ``[t + start, t + stop]`` around the alert time ``t`` (IceCube's fast-response
follow-ups use +-500 s and +-1 day) this runs an unbinned, extended maximum-likelihood test for
a transient point source at the alert position:

- events: those of :func:`icecore.ps.load_public_data` inside the window and inside the
  season's good runs; the expected background count ``N_b`` is each season's all-sky rate
  (events / livetime) times the window's livetime in that season;
- signal PDF: a 2-D Gaussian of width ``sigma_i^2 = AngErr_i^2 + (error90 / 2.146)^2`` (the
  alert's 90 % radius as a Gaussian width); background PDF: the season's sin(Dec) distribution
  (uniform in RA);
- ``TS = 2 max_ns [-ns + sum_i log(1 + ns S_i / (N_b B_i))]`` (ns >= 0);
- the p-value from background trials: Poisson(N_b) events drawn from the seasons' data with
  scrambled RA, the same TS; ``p = #(TS_bkg >= TS) / n_trials`` (0 reported with the bound
  ``1 / n_trials``).

This is a self-contained time-window test written for the service on top of the public-data
loader (icecore.ps's likelihood is time-integrated); a transient search in :mod:`icecore.ps`
can replace it without changing the product layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize

from ..coords import angular_distance_deg

__all__ = ["window_followup", "ERROR90_TO_SIGMA", "run_lvk_followup"]

#: 90 % containment radius of a 2-D Gaussian in units of its sigma: sqrt(-2 ln 0.1).
ERROR90_TO_SIGMA = math.sqrt(-2.0 * math.log(0.1))
_N_SINDEC_BINS = 40


def _overlap_s(uptime: np.ndarray, a: float, b: float) -> float:
    lo = np.maximum(uptime[:, 0], a)
    hi = np.minimum(uptime[:, 1], b)
    return float(np.sum(np.clip(hi - lo, 0.0, None))) * 86400.0


def _bkg_pdf(season: Any) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(-1.0, 1.0, _N_SINDEC_BINS + 1)
    h, _ = np.histogram(np.sin(np.radians(season.dec_deg)), bins=edges)
    dens = (h + 0.5) / (np.sum(h + 0.5) * np.diff(edges) * 2.0 * np.pi)  # per sr
    return edges, dens


def _ts(x: np.ndarray) -> tuple[float, float]:
    """(TS, ns) of the extended likelihood with x_i = S_i / (N_b B_i)."""
    if x.size == 0 or float(np.sum(x)) <= 1.0:
        return 0.0, 0.0

    def grad(ns: float) -> float:
        return float(np.sum(x / (1.0 + ns * x))) - 1.0

    ns = float(optimize.brentq(grad, 0.0, float(x.size), xtol=1e-10))
    return float(2.0 * (-ns + np.sum(np.log1p(ns * x)))), ns


def _x(ra: np.ndarray, dec: np.ndarray, angerr: np.ndarray, bdens: np.ndarray, ra0: float, dec0: float,
       err_sigma_deg: float, n_b: float) -> np.ndarray:
    psi = np.radians(np.asarray(angular_distance_deg(ra0, dec0, ra, dec), float))
    s2 = np.radians(angerr) ** 2 + math.radians(err_sigma_deg) ** 2
    sig = np.exp(-0.5 * psi**2 / s2) / (2.0 * np.pi * s2)
    return sig / (n_b * bdens)


def _one_window(data: Any, pdfs: list[tuple[np.ndarray, np.ndarray]], ra0: float, dec0: float, t_mjd: float,
                err_sigma: float, lo_s: float, hi_s: float, n_trials: int, rng: np.random.Generator) -> dict[str, Any]:
    a, b = t_mjd + lo_s / 86400.0, t_mjd + hi_s / 86400.0
    live, n_b_parts, rows = [], [], []
    for s, (edges, dens) in zip(data.seasons, pdfs):
        lv = _overlap_s(s.uptime_mjd, a, b)
        live.append(lv)
        n_b_parts.append(len(s) / max(s.livetime_s, 1e-9) * lv)
        sel = np.flatnonzero((s.mjd >= a) & (s.mjd <= b))
        k = np.clip(np.digitize(np.sin(np.radians(s.dec_deg[sel])), edges) - 1, 0, len(dens) - 1)
        rows.append((s.mjd[sel], s.ra_deg[sel], s.dec_deg[sel], s.angerr_deg[sel], dens[k]))
    livetime = float(sum(live))
    out: dict[str, Any] = {"window_s": [lo_s, hi_s], "start_mjd": a, "stop_mjd": b, "livetime_s": livetime,
                           "seasons": [s.name for s, lv in zip(data.seasons, live) if lv > 0]}
    if livetime <= 0:
        return {**out, "status": "no_coverage", "n_events": 0, "n_expected_background": 0.0, "ts": None,
                "ns": None, "p_value": None, "n_trials": 0, "events": []}
    n_b = float(sum(n_b_parts))
    mjd, ra, dec, ang, bd = (np.concatenate([r[i] for r in rows]) for i in range(5))
    x = _x(ra, dec, ang, bd, ra0, dec0, err_sigma, n_b)
    ts, ns = _ts(x)
    # background trials: Poisson(n_b) events from the live seasons' data, RA scrambled
    weights = np.asarray(n_b_parts) / n_b
    bkg = np.empty(n_trials)
    for t in range(n_trials):
        parts = []
        for j, k in enumerate(rng.multinomial(rng.poisson(n_b), weights)):
            if k == 0:
                continue
            s = data.seasons[j]
            idx = rng.integers(0, len(s), size=k)
            edges, dens = pdfs[j]
            kk = np.clip(np.digitize(np.sin(np.radians(s.dec_deg[idx])), edges) - 1, 0, len(dens) - 1)
            parts.append(_x(rng.uniform(0.0, 360.0, size=k), s.dec_deg[idx], s.angerr_deg[idx], dens[kk], ra0, dec0,
                            err_sigma, n_b))
        bkg[t] = _ts(np.concatenate(parts))[0] if parts else 0.0
    p = float(np.count_nonzero(bkg >= ts - 1e-12) / n_trials) if n_trials else None
    sep = np.asarray(angular_distance_deg(ra0, dec0, ra, dec), float)
    order = np.argsort(sep)[:20]
    events = [{"dt_s": float((mjd[i] - t_mjd) * 86400.0), "ra_deg": float(ra[i]), "dec_deg": float(dec[i]),
               "angerr_deg": float(ang[i]), "separation_deg": float(sep[i])} for i in order]
    return {**out, "status": "ok", "n_events": int(mjd.size), "n_expected_background": n_b, "ts": ts, "ns": ns,
            "p_value": p, "p_value_bound": (1.0 / n_trials) if (n_trials and p == 0.0) else None,
            "n_trials": int(n_trials), "background_ts_median": float(np.median(bkg)) if n_trials else None,
            "events": events}


def window_followup(data: Any, ra_deg: float, dec_deg: float, mjd: float, *, error90_deg: float | None,
                    windows_s: Sequence[tuple[float, float]], n_trials: int = 200, seed: int = 0) -> dict[str, Any]:
    """Run the follow-up in every window; returns the product summary (see the module docstring).

    Parameters
    ----------
    data : icecore.ps.PublicData
        Loaded public data (events, good runs).
    ra_deg, dec_deg : float
        Alert position (deg, J2000).
    mjd : float
        Alert time (MJD, UTC).
    error90_deg : float or None
        The alert's 90 % radius (deg); None: point-like.
    windows_s : sequence of (start, stop)
        Windows in seconds relative to ``mjd``.
    n_trials : int
        Background trials per window.
    seed : int
        Seed of the trials (the same seed, the same p-values).
    """
    rng = np.random.default_rng(seed)
    err_sigma = float(error90_deg or 0.0) / ERROR90_TO_SIGMA
    pdfs = [_bkg_pdf(s) for s in data.seasons]
    return {"method": "extended unbinned likelihood, Gaussian PSF (+ alert error), RA-scrambled trials",
            "ra_deg": float(ra_deg), "dec_deg": float(dec_deg), "mjd": float(mjd), "error90_deg": error90_deg,
            "error90_to_sigma": ERROR90_TO_SIGMA, "seed": int(seed),
            "windows": [_one_window(data, pdfs, float(ra_deg), float(dec_deg), float(mjd), err_sigma, float(lo),
                                    float(hi), int(n_trials), rng) for lo, hi in windows_s]}


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
