"""Products of the generic transient search besides its TS: p-values, coincident events,
per-event p-values and the flux upper-limit range over the GW 90 % credible region.

Upper limits: per pixel of the 90 % region, the 90 % upper limit on ns from the profile
likelihood (2 [ln Lambda(ns_hat) - ln Lambda(ns_UL)] = 2.706, ns_UL > ns_hat, E^-2 energy term),
converted to a time-integrated E^2 dN/dE [GeV cm^-2] with the effective area at the pixel's
declination; the notice's ``flux_sensitivity`` is the (min, max) over the region. The
``sensitive_energy_range`` is the 5-95 % range of true neutrino energies of detected E^-2 signal,
(lowest 5 %, highest 95 %) over the region's declinations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FitError, InputError
from ..stats import BackgroundTS
from .search import PixelSearch

__all__ = [
    "background_distribution",
    "pvalue_with_ties",
    "trial_pvalue",
    "coincident_mask",
    "flux_upper_limits",
    "DELTA_LLH_90",
]

DELTA_LLH_90 = 2.705543454095404 / 2.0  # one-sided 90 % (chi2_1 quantile 0.8 -> 2.706)


def background_distribution(values: np.ndarray) -> BackgroundTS:
    """A :class:`~icecore.stats.BackgroundTS` of trial statistics (TS >= 0)."""
    bg = BackgroundTS(zero_ts=1e-8, tail_size=max(10_000, int(np.size(values))))
    bg.add(np.maximum(np.asarray(values, dtype=float), 0.0))
    return bg


def trial_pvalue(bg: BackgroundTS, ts: float) -> float:
    """Pre-trial p-value P(T >= ts) from background trials.

    1 at ts = 0 (the point mass of windows with no signal-like event); empirical while at least
    ``bg.min_count`` trials exceed ts; beyond that BackgroundTS's fitted chi2 tail, or, when too
    few trials are non-zero to fit it, the conservative (count + 1) / (n + 1).
    """
    if ts <= 1e-8:
        return 1.0
    c = bg.count_above(ts)
    if c >= bg.min_count:
        return float(c / bg.n)
    try:
        return float(bg.pvalue(ts, method="fit"))
    except FitError:
        return float((c + 1) / (bg.n + 1))


def pvalue_with_ties(background: np.ndarray, observed: Any, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """P(T >= t) from trial values; with ``rng`` ties are split at random (exactly uniform under H0).

    The randomised form is for calibration tests of a statistic with a point mass (TS = 0); the
    reported p-values use the conservative P(T >= t).
    """
    b = np.sort(np.asarray(background, dtype=float))
    t = np.atleast_1d(np.asarray(observed, dtype=float))
    ge = b.size - np.searchsorted(b, t, side="left")
    if rng is None:
        return ge / b.size
    gt = b.size - np.searchsorted(b, t, side="right")
    return (gt + rng.uniform(size=t.size) * (ge - gt + 1)) / (b.size + 1)


def _unit(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def coincident_mask(search: PixelSearch, events: np.ndarray, *, containment_sigma: float = 2.146) -> np.ndarray:
    """Events whose 90 % circle (2.146 sigma) touches a pixel of the GW 90 % credible region."""
    reg = search.region
    if events.size == 0:
        return np.zeros(0, dtype=bool)
    pv = _unit(reg.ra_deg[reg.in90], reg.dec_deg[reg.in90])
    ev = _unit(events["ra_deg"], events["dec_deg"])
    half_pix = np.degrees(np.sqrt(4 * np.pi / (12 * reg.nside**2))) / 2
    out = np.zeros(events.size, dtype=bool)
    for i in range(events.size):
        r = np.radians(containment_sigma * events["sigma_deg"][i] + half_pix)
        out[i] = bool(np.any(pv @ ev[i] >= np.cos(r)))
    return out


def _profile(x: np.ndarray, ns: np.ndarray) -> np.ndarray:
    return -ns + np.sum(np.log1p(ns[:, None] * x), axis=1)


def flux_upper_limits(search: PixelSearch, events: np.ndarray, *, max_pixels: int = 20000) -> dict[str, Any]:
    """90 % upper limits on E^2 dN/dE [GeV cm^-2] over the 90 % region, and the 5-95 % energy range [GeV].

    At most ``max_pixels`` pixels of the region are evaluated (an even subsample when larger).
    """
    reg = search.region
    idx = np.nonzero(reg.in90)[0]
    if idx.size == 0:
        raise InputError("the GW 90 % region has no pixels at this nside", "skymap")
    if idx.size > max_pixels:
        idx = idx[np.linspace(0, idx.size - 1, max_pixels).astype(int)]
    gi = search.bayes_index  # the E^-2 column
    if events.size:
        inp = search.event_inputs(events)
        pv = _unit(reg.ra_deg[idx], reg.dec_deg[idx])
        ev = _unit(events["ra_deg"], events["dec_deg"])
        psi = np.arccos(np.clip(pv @ ev.T, -1, 1))
        sig = inp["sigma"]
        k = np.exp(-0.5 * (psi / sig) ** 2) / (2 * np.pi * sig**2)
        k = np.where(psi <= search.settings.n_sigma * sig, k, 0.0)
        x = k * (inp["inv_bg"] * inp["eratio"][:, gi])[None, :]
    else:
        x = np.zeros((idx.size, 0))
    ns_hat = np.array([_core_fit(row) for row in x])
    f_hat = _profile(x, ns_hat)
    lo, hi = ns_hat.copy(), ns_hat + 10.0 + x.shape[1]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = f_hat - _profile(x, mid) > DELTA_LLH_90
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    ns_ul = 0.5 * (lo + hi)
    aeff = search.background.sample.aeff
    acc = aeff.band_integral(np.radians(reg.dec_deg[idx]), 2.0)  # cm^2 / GeV
    flux = ns_ul / acc
    decs = np.unique(np.round(reg.dec_deg[idx], 1))
    q = aeff.energy_quantiles(np.radians(decs), 2.0)
    return {
        "flux_sensitivity": [float(flux.min()), float(flux.max())],
        "sensitive_energy_range": [float(q[:, 0].min()), float(q[:, 1].max())],
        "ns_upper_limit_range": [float(ns_ul.min()), float(ns_ul.max())],
        "n_pixels": int(idx.size),
    }


def _core_fit(x: np.ndarray) -> float:
    from .. import _core

    ns, _ = _core.lvk.fit_ns(np.ascontiguousarray(x, dtype=float))
    return float(ns)
