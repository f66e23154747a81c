"""The same two searches written with numpy only (no kernel): the oracle of tests and bench/.

Brute force over all region pixels x all events, ns maximised per pixel by bisection on the
derivative, e_k by the same recurrence; it mirrors icecore/lvk_llh.hpp formula for formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["reference_evaluate", "reference_moments"]


def _unit(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def reference_evaluate(search: Any, events: np.ndarray) -> dict[str, float]:
    """TS, ns, best pixel and <Lambda> of one window, as PixelSearch.evaluate computes them."""
    reg = search.region
    x = search.event_inputs(events)
    n = events.size
    pv = _unit(np.radians(reg.ra_deg), np.radians(reg.dec_deg))
    if n == 0:
        base = float(np.sum(reg.prob * search.moments[:, 0]))
        return {"ts": 0.0, "ns": 0.0, "pixel": int(np.argmax(reg.log_prior)), "odds_lambda": base}
    ev = _unit(x["ra"], x["dec"])
    psi = np.arccos(np.clip(pv @ ev.T, -1.0, 1.0))
    sig = x["sigma"][None, :]
    kern = np.exp(-0.5 * psi**2 / sig**2) / (2 * np.pi * sig**2)
    kern = np.where(psi <= np.minimum(search.settings.n_sigma * sig, np.pi), kern, 0.0) * x["inv_bg"][None, :]
    best = (0.0, 0.0, int(np.argmax(reg.log_prior)))
    lam_extra = np.zeros(reg.n_pixels)
    for g in range(search.gammas.size):
        xg = kern * x["eratio"][None, :, g]
        ns = _fit(xg, search.settings.ns_max)
        f = -ns + np.sum(np.log1p(ns[:, None] * xg), axis=1)
        ts = 2 * f + reg.log_prior
        ts = np.where(ns > 0, ts, -np.inf)
        k = int(np.argmax(ts))
        if ts[k] > best[0]:
            best = (float(ts[k]), float(ns[k]), k)
        if g == search.bayes_index:
            nm = search.moments.shape[1]
            e = np.zeros((reg.n_pixels, nm))
            e[:, 0] = 1.0
            for i in range(n):
                e[:, 1:] = e[:, 1:] + e[:, :-1] * xg[:, i : i + 1]
            lam_extra = np.sum(e[:, 1:] * search.moments[:, 1:], axis=1)
    base = np.sum(reg.prob * search.moments[:, 0])
    return {"ts": best[0], "ns": best[1], "pixel": best[2], "odds_lambda": float(base + np.sum(reg.prob * lam_extra))}


def _fit(x: np.ndarray, ns_max: float) -> np.ndarray:
    n = x.shape[1]
    pos = x.sum(axis=1) > 1.0
    lo = np.zeros(x.shape[0])
    hi = np.full(x.shape[0], min(float(n), ns_max))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        d = -1.0 + np.sum(x / (1.0 + mid[:, None] * x), axis=1)
        lo = np.where(d > 0, mid, lo)
        hi = np.where(d > 0, hi, mid)
    return np.where(pos, 0.5 * (lo + hi), 0.0)


def reference_moments(region: Any, aeff: Any, priors: Any, distance_mpc: Any = None) -> np.ndarray:
    """The distance-averaged moments table with numpy only (n_pixels x n_distance_nodes arrays, np.interp)."""
    from .bayesian import _distance_layers, _moments_of_c, signal_count_per_unit

    mu, sig = _distance_layers(region, priors, distance_mpc)
    kdec = signal_count_per_unit(aeff, region.dec_deg, priors)
    t = np.linspace(-5.0, 5.0, priors.n_distance_nodes)
    r = np.maximum(mu[:, None] + sig[:, None] * t[None, :], 1e-3 * mu[:, None])
    w = r * r * np.exp(-0.5 * ((r - mu[:, None]) / sig[:, None]) ** 2)
    w /= w.sum(axis=1, keepdims=True)
    logc = np.log(kdec[:, None] / (r * r))
    grid = np.linspace(logc.min() - 0.01, logc.max() + 0.01, 4000)
    table = _moments_of_c(np.exp(grid), priors)
    out = np.zeros((region.n_pixels, priors.n_moment))
    for k in range(priors.n_moment):
        out[:, k] = np.sum(w * np.interp(logc, grid, table[:, k]), axis=1)
    return out
