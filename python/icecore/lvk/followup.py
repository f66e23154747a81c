"""The LVK follow-up of one GW alert: both searches, p-values, the notice, text, plot, summary.json.

:func:`run_followup` takes an :class:`~icecore.lvk.alert.LvkAlert` (or a sky map plus a time),
the neutrino events of the window and a background sample, and returns a
:class:`FollowupResult`; :func:`write_products` writes ``notice.json``, ``circular.txt``,
``skymap.png`` (with matplotlib) and ``summary.json`` into a folder. A retraction returns a
:class:`RetractionRecord` and runs no search.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.time import Time

from .._cli import dumps
from .._io import atomic_write
from ..errors import InputError
from .alert import LvkAlert
from .bayesian import BayesianPriors, odds_ratio
from .events import SECONDS_PER_DAY, BackgroundModel, EventSample, select_window
from .generic import background_distribution, coincident_mask, flux_upper_limits, trial_pvalue
from .notice import build_notice, notice_text
from .region import SearchRegion
from .search import GenericSettings, PixelSearch
from .skymap import SkyMap

__all__ = ["FollowupResult", "RetractionRecord", "run_followup", "write_products"]


@dataclass(frozen=True)
class RetractionRecord:
    """An LVK retraction: the follow-up of that superevent is withdrawn; no search is run."""

    superevent_id: str
    notice_time_iso: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"status": "retracted", "superevent_id": self.superevent_id, "notice_time": self.notice_time_iso,
                "search_run": False}


@dataclass
class FollowupResult:
    """Everything the follow-up found (see :func:`run_followup`)."""

    alert: LvkAlert
    duration_s: float
    n_events_window: int
    mean_background: float
    ts: float
    ns: float
    gamma: float | None
    best_ra_deg: float
    best_dec_deg: float
    pval_generic: float
    mean_lambda: float
    odds: float
    pval_bayesian: float
    n_trials: int
    coincident_events: list[dict[str, Any]]
    upper_limits: dict[str, Any]
    area90_deg2: float
    nside: int
    priors: dict[str, Any]
    p_astro: float
    created_mjd: float
    window_events: np.ndarray = field(repr=False)
    search: PixelSearch | None = field(default=None, repr=False)

    def notice(self) -> dict[str, Any]:
        return build_notice(self)

    def text(self) -> str:
        return notice_text(self)

    def summary(self) -> dict[str, Any]:
        return {
            "status": "searched", "superevent_id": self.alert.superevent_id, "alert": self.alert.to_dict(),
            "window_s": [-self.duration_s / 2, self.duration_s / 2], "n_events_window": self.n_events_window,
            "mean_background": self.mean_background,
            "generic": {"ts": self.ts, "ns": self.ns, "gamma": self.gamma, "pval": self.pval_generic,
                        "most_probable_direction_deg": [self.best_ra_deg, self.best_dec_deg]},
            "bayesian": {"mean_likelihood_ratio": self.mean_lambda, "odds_ratio": self.odds,
                         "pval": self.pval_bayesian, "p_astro": self.p_astro, "priors": self.priors},
            "n_trials": self.n_trials, "coincident_events": self.coincident_events,
            "upper_limits": self.upper_limits, "area90_deg2": self.area90_deg2, "nside": self.nside,
        }


def run_followup(alert: LvkAlert, events: np.ndarray, sample: EventSample, *, skymap: SkyMap | None = None,
                 nside: int = 256, n_trials: int = 10_000, n_single_trials: int = 2_000, seed: int = 0,
                 threads: int | None = None, settings: GenericSettings | None = None,
                 priors: BayesianPriors | None = None, background: BackgroundModel | None = None,
                 containment: float = 0.999, progress: bool | None = None) -> FollowupResult | RetractionRecord:
    """Run both searches for ``alert`` on ``events`` (all events; the window is selected here).

    Parameters
    ----------
    alert : LvkAlert
        The GW alert (a retraction returns a :class:`RetractionRecord`).
    events : ndarray of EVENT_DTYPE
        Neutrino events; those within +-duration/2 of the GW time are searched.
    sample : EventSample
        Background sample (events outside the window) for rates, PDFs and trials.
    skymap : SkyMap, optional
        Overrides the alert's own sky map.
    nside : int
        Search resolution (NESTED HEALPix; up to 512 and beyond).
    n_trials, n_single_trials : int
        Background trials of the window (Poisson N) and of single events (per-event p-values).
    seed, threads
        Reproducible trials; same seed, same result whatever the thread count.
    progress : bool, optional
        Progress of the trials (bar on a terminal, batch-log lines otherwise; False: none).

    See :func:`icecore.lvk.run_alert_followup` for the one-call form (alert in, products out).
    """
    if alert.retracted:
        return RetractionRecord(alert.superevent_id, alert.notice_time_iso)
    if alert.time_mjd is None:
        raise InputError("the alert has no GW time", "alert")
    settings = settings or GenericSettings()
    priors = priors or BayesianPriors()
    smap = skymap if skymap is not None else alert.skymap()
    region = SearchRegion.from_map(smap, nside=nside, containment=containment)
    bg = background or BackgroundModel(sample)
    dist = None
    if smap.meta.get("distmean") and smap.meta.get("diststd"):
        dist = (float(smap.meta["distmean"]), float(smap.meta["diststd"]))
    search = PixelSearch(region, bg, settings=settings, priors=priors, distance_mpc=dist, threads=threads)
    window = select_window(events, alert.time_mjd, settings.duration_s / 2)
    res = search.evaluate(window)
    trials = search.trials(n_trials, seed=seed, threads=threads, progress=progress)
    base = float(np.sum(region.prob * search.moments[:, 0]))
    b_ts = _bayes_ts(trials["odds_lambda"], base)
    # p-values: see generic.trial_pvalue (empirical, then the fitted tail)
    g_bg = background_distribution(trials["ts"])
    b_bg = background_distribution(b_ts)
    p_gen = trial_pvalue(g_bg, res.ts)
    obs_b = float(_bayes_ts(np.array([res.mean_lambda]), base)[0])
    p_bay = trial_pvalue(b_bg, obs_b)
    p_astro = priors.p_astro if priors.p_astro is not None else (
        1.0 - alert.p_terrestrial if alert.p_terrestrial is not None else 1.0)
    coinc = _coincident(search, window, alert.time_mjd, base, n_single_trials, seed, threads, progress)
    ul = flux_upper_limits(search, window)
    return FollowupResult(
        alert=alert, duration_s=settings.duration_s, n_events_window=int(window.size),
        mean_background=search.mean_background, ts=res.ts, ns=res.ns, gamma=res.gamma,
        best_ra_deg=res.ra_deg, best_dec_deg=res.dec_deg, pval_generic=p_gen, mean_lambda=res.mean_lambda,
        odds=odds_ratio(res.mean_lambda, priors, p_astro), pval_bayesian=p_bay, n_trials=int(n_trials),
        coincident_events=coinc, upper_limits=ul, area90_deg2=region.area90_deg2(), nside=nside,
        priors=priors.to_dict(), p_astro=float(p_astro), created_mjd=float(Time.now().mjd),
        window_events=window, search=search,
    )


def _bayes_ts(lam: np.ndarray, base: float) -> np.ndarray:
    """2 ln(<Lambda> / <Lambda>_no-coincidence), >= 0 (ties at 0 when no event is near the map)."""
    return np.maximum(2.0 * np.log(np.maximum(lam, 1e-300) / base), 0.0)


def _coincident(search: PixelSearch, window: np.ndarray, t_mjd: float, base: float, n_single: int, seed: int,
                threads: int | None, progress: bool | None = None) -> list[dict[str, Any]]:
    mask = coincident_mask(search, window)
    if not np.any(mask):
        return []
    single = search.trials(n_single, seed=seed + 1, fixed_n=1, threads=threads, progress=progress,
                           desc="lvk single-event trials")
    g_bg = background_distribution(single["ts"])
    b_bg = background_distribution(_bayes_ts(single["odds_lambda"], base))
    out = []
    for e in window[mask]:
        r = search.evaluate(e.reshape(1))
        bt = float(_bayes_ts(np.array([r.mean_lambda]), base)[0])
        out.append({
            "dt_s": float((e["time_mjd"] - t_mjd) * SECONDS_PER_DAY),
            "ra_deg": float(e["ra_deg"]), "dec_deg": float(e["dec_deg"]),
            "sigma_deg": float(e["sigma_deg"]), "error90_deg": float(2.146 * e["sigma_deg"]),
            "log10_e": float(e["log10_e"]), "run_id": int(e["run_id"]), "event_id": int(e["event_id"]),
            "ts_single": r.ts,
            "pval_generic": trial_pvalue(g_bg, r.ts),
            "pval_bayesian": trial_pvalue(b_bg, bt),
        })
    return out


def write_products(result: FollowupResult | RetractionRecord, out_dir: str | os.PathLike[str], *,
                   plot: bool = True) -> dict[str, Path]:
    """Write notice.json, circular.txt, skymap.png and summary.json (or retraction.json + summary.json)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if isinstance(result, RetractionRecord):
        paths["retraction"] = atomic_write(out / "retraction.json", dumps(result.to_dict()))
        paths["summary"] = atomic_write(out / "summary.json", dumps(result.to_dict()))
        return paths
    paths["notice"] = atomic_write(out / "notice.json", json.dumps(result.notice(), indent=2))
    paths["text"] = atomic_write(out / "circular.txt", result.text())
    if plot:
        from .plots import plot_followup

        paths["plot"] = plot_followup(result, out / "skymap.png")
    summary = result.summary()
    summary["files"] = {k: v.name for k, v in paths.items()}
    paths["summary"] = atomic_write(out / "summary.json", dumps(summary))
    return paths
