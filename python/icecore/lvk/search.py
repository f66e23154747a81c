"""Both LVK searches on one window through the C++ kernel ``_core.lvk.LvkSearch``.

:class:`PixelSearch` prepares the per-event inputs (spatial kernel width, 1/(n_b B), energy
ratios on the spectral-index grid), evaluates a window, and runs background trials (events drawn
from the background sample with scrambled RA, N ~ Poisson(n_b)) with threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from .._progress import progress_bar
from .._validation import check_threads
from ..errors import InputError
from .bayesian import BayesianPriors, moments_table
from .events import BackgroundModel
from .region import SearchRegion

__all__ = ["GenericSettings", "PixelSearch", "WindowResult"]


@dataclass(frozen=True)
class GenericSettings:
    """Settings of the generic transient search.

    Attributes
    ----------
    gammas : tuple of float
        Spectral-index grid of the fit (default (2.0,): fixed E^-2, as the notices' flux range);
        give several values to fit the index on that grid.
    n_sigma : float
        Kernel cut-off in units of each event's sigma (default 5).
    ns_max : float
        Upper bound of ns (default 1000).
    duration_s : float
        Length of the time window [s] (default 1000 = +-500 s).
    """

    gammas: tuple[float, ...] = (2.0,)
    n_sigma: float = 5.0
    ns_max: float = 1000.0
    duration_s: float = 1000.0


@dataclass(frozen=True)
class WindowResult:
    """Kernel result of one window (generic TS and fit, Bayesian <Lambda>)."""

    ts: float
    ns: float
    gamma: float | None
    pixel: int
    ra_deg: float
    dec_deg: float
    mean_lambda: float
    n_near: int
    extra: dict[str, Any] = field(default_factory=dict)


class PixelSearch:
    """The kernel over a :class:`SearchRegion` with a background model and priors."""

    def __init__(self, region: SearchRegion, background: BackgroundModel, *,
                 settings: GenericSettings | None = None, priors: BayesianPriors | None = None,
                 distance_mpc: tuple[float, float] | None = None, threads: int | None = None) -> None:
        self.region = region
        self.background = background
        self.settings = settings or GenericSettings()
        self.priors = priors or BayesianPriors()
        g = np.asarray(self.settings.gammas, dtype=float)
        if g.ndim != 1 or g.size == 0:
            raise InputError("GenericSettings.gammas: give at least one spectral index", "gammas")
        self.gammas = g
        self.bayes_index = int(np.argmin(np.abs(g - 2.0)))
        self.moments = moments_table(region, background.sample.aeff, self.priors, distance_mpc, threads=threads)
        self._kernel = _core.lvk.LvkSearch(
            np.radians(region.ra_deg), np.radians(region.dec_deg), region.log_prior, region.prob,
            self.moments, n_gamma=g.size, bayes_gamma_index=self.bayes_index,
            n_sigma=self.settings.n_sigma, ns_max=self.settings.ns_max)
        pool = background.sample.events
        self._pool = self.event_inputs(pool)

    # -- inputs ------------------------------------------------------------------------------------
    def event_inputs(self, events: np.ndarray) -> dict[str, np.ndarray]:
        """Kernel inputs of events (radians; energy ratios on the gamma grid)."""
        bg = self.background
        return {
            "ra": np.radians(events["ra_deg"]).astype(float),
            "dec": np.radians(events["dec_deg"]).astype(float),
            "sigma": np.radians(events["sigma_deg"]).astype(float),
            "inv_bg": bg.inv_bg(events["dec_deg"], self.settings.duration_s),
            "eratio": np.ascontiguousarray(bg.energy_ratio(events["dec_deg"], events["log10_e"], self.gammas)),
        }

    @property
    def mean_background(self) -> float:
        """Expected background events in the window, n_b = rate x duration."""
        return self.background.rate_hz * self.settings.duration_s

    # -- running -----------------------------------------------------------------------------------
    def evaluate(self, events: np.ndarray) -> WindowResult:
        """Both searches on the events of one window."""
        x = self.event_inputs(events)
        r = self._kernel.evaluate(x["ra"], x["dec"], x["sigma"], x["inv_bg"], x["eratio"])[0]
        return self._result(r)

    def ts_map(self, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Generic TS and ns per region pixel."""
        x = self.event_inputs(events)
        ts, ns = self._kernel.ts_map(x["ra"], x["dec"], x["sigma"], x["inv_bg"], x["eratio"])
        return np.asarray(ts), np.asarray(ns)

    def trials(self, n_trials: int, *, seed: int = 0, fixed_n: int | None = None,
               threads: int | None = None, progress: bool | None = None, batch: int = 1000,
               desc: str = "lvk background trials") -> np.ndarray:
        """Background trials: structured array (ts, ns, gamma_index, pixel, odds_lambda, n_near).

        Run in batches of ``batch`` trials with a progress bar (or batch-log lines, see
        :mod:`icecore._progress`); trial i is seeded by (seed, i), so the result does not depend on
        ``batch`` or ``threads``.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"argument 'seed': expected an int >= 0, got {seed!r}", "seed")
        if n_trials < 0:
            raise InputError(f"argument 'n_trials': must be >= 0, got {n_trials}", "n_trials")
        if batch < 1:
            raise InputError(f"argument 'batch': must be >= 1, got {batch}", "batch")
        p = self._pool
        th = check_threads(threads)
        parts = []
        with progress_bar(total=int(n_trials), progress=progress, desc=desc, unit="trial") as bar:
            for first in range(0, int(n_trials), int(batch)):
                n = min(int(batch), int(n_trials) - first)
                parts.append(np.asarray(self._kernel.trials(
                    p["dec"], p["sigma"], p["inv_bg"], p["eratio"], mean_n=self.mean_background,
                    fixed_n=-1 if fixed_n is None else int(fixed_n), n_trials=n, seed=int(seed), threads=th,
                    first_trial=first)))
                bar.update(n)
        if not parts:
            return np.asarray(self._kernel.trials(p["dec"], p["sigma"], p["inv_bg"], p["eratio"],
                                                  mean_n=self.mean_background, n_trials=0, seed=int(seed)))
        return np.concatenate(parts)

    def _result(self, r: Any) -> WindowResult:
        k = int(r["pixel"])
        gi = int(r["gamma_index"])
        return WindowResult(ts=float(r["ts"]), ns=float(r["ns"]), gamma=None if gi < 0 else float(self.gammas[gi]),
                            pixel=k, ra_deg=float(self.region.ra_deg[k]), dec_deg=float(self.region.dec_deg[k]),
                            mean_lambda=float(r["odds_lambda"]), n_near=int(r["n_near"]))
