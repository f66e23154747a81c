"""Per-event (Neyman-style) calibration of the 50 %/90 % contour levels of one event.

One global pair of critical values on 2Δ(−ln L) cannot cover for every event when the
likelihood's model differs from the detector (the simulator's mismatch switch; issue #13). This
module builds the critical values of *this* event instead:

1. Take the event's best fit: direction (local zenith/azimuth), vertex, and an energy estimate
   (:func:`estimate_energy_tev`: the energy whose resimulated mean number of hit DOMs equals the
   event's own, unless the model fixes it).
2. Resimulate ``n`` events with those parameters as the truth (:class:`ResimulationModel`: the
   photon simulator :func:`icecore.likelihood.simulate_track` along the same track -- same
   closest-approach point and time -- with its mismatch switch as a parameter; or the SYNTHETIC
   analytic toy for a :class:`~.synthetic.SyntheticEvent`).
3. For each, compute the statistic at the injected direction, :func:`two_dllh_at_truth`:
   ``2 (−ln L(truth, vertex fitted) − min over directions −ln L(direction, vertex fitted))``.
4. The critical value of level q is an order statistic of those ``n`` values (rank
   ``ceil(q (n + 1))``), with a binomial (order-statistic) interval as its statistical error.

The cheap minimum (why no full scan per resimulation)
-----------------------------------------------------
A full 8/64/512 scan costs ~3000 vertex fits. The scan's minimum is, in practice, the discrete
minimum of −ln L over the nside-512 pixel centres around its best pixel, each a vertex fit with
the *scan's* fitter (:data:`~.likelihood_bridge.DEFAULT_FITTER_OPTIONS`: the same likelihood,
seeds and BFGS settings). :func:`two_dllh_at_truth` finds that minimum directly: a start -- by
default (``ResimulationModel.minimum="truth"``) the vertex fit at the injected direction followed
by a free fit of vertex and direction together (L-BFGS, analytic gradient); or the free-direction
reconstruction from LineFit (:func:`icecore.likelihood.fit_track`, ``minimum="reconstruction"``) --
then a descent on the nside-512 HEALPix grid (in local zenith/azimuth) fits the pixel and its 8
neighbours with the scan's fitter and moves to the best one until the centre is the best (the rule
of the scan's last level, whose rounds repeat until the best pixel stays). −ln L at the truth is
a vertex fit with the same fitter at the exact truth direction, seeded with the best pixel's
vertex; the minimum is taken over the pixels, the free fit (the same MPE likelihood minimised over
vertex and direction together: it removes the pixel discretisation, ~0.06 deg at nside 512, which
matters for sharp high-energy events) and the truth, so the statistic is >= 0. It costs one free
fit plus ~10-30 vertex fits instead of ~3000, and measures the same quantity as the event's own
scan map up to two differences: the map's reference is its best pixel centre, not the continuous
minimum (the map's 2Δ is smaller by up to that discretisation, so contours drawn on the map with
these levels are slightly larger, i.e. conservative), and the map is interpolated between pixel
centres (the drawn surface of :mod:`.surface`, exact for a quadratic minimum; a bilinear interpolant
lies above a convex minimum, and its 50 % contours held the truth in only 42 % of 500 simulated maps).
What it can miss: a deeper minimum far from the start (which a full-sky scan would find); the
statistic is then too small for that resimulation, and on an event whose own scan finds such a
minimum the contour drawn on the map misses the truth where the cheap statistic holds it (on 500
simulated maps, ``tools/scan_maps_coverage.py``, most of the events the 90 % map contour loses).

Coverage by construction
------------------------
If the event's own statistic and the ``n`` resimulated ones are exchangeable (the event was drawn
from the resimulation model), the order statistic of rank ``k = ceil(q (n + 1))`` contains the
event's statistic with probability exactly ``k / (n + 1) >= q``, whatever ``n``; ``n`` only sets
how noisy the levels (and so the areas) are. It holds approximately when the event comes from a
nearby truth (the distribution of 2Δ changes slowly with direction and energy).

Why the plain bootstrap under-covers, and the correction (issue #13)
-------------------------------------------------------------------
The resimulations are made at the best fit, not at the (unknown) truth, so the construction is
only as good as the distribution of 2Δ at the best fit is like the one at the truth. On photon
events with the simulator's mismatch on it is not: measured with
``tools/per_event_coverage_diagnose.py`` (SIMULATION, 26 events of 10 TeV - 1 PeV, 39
resimulations per variant, mean log ratio of the level to the one from resimulations at the
true track and energy, the "oracle"), the 90 % level from the best fit is ``exp(-0.27 ± 0.08)``
of the oracle's (50 %: ``exp(-0.33 ± 0.10)``). Giving the resimulations the true energy changes
nothing (-0.26 ± 0.07); the true track with the estimated energy removes most of it
(-0.04 ± 0.05); of the track, the closest-approach point matters more (true point, fitted
direction: -0.12 ± 0.06) than the direction (-0.16 ± 0.07). The oracle itself covers as it
must (exchangeable by construction): 53.6 ± 5.1 % / 90.7 ± 2.9 % of 97 events with n = 19
(``tools/results/per_event_coverage_diagnose_oracle.json``), so the statistic is consistent.
Principled repairs tried: resimulating at truths drawn from the event's approximate confidence
region (the fit errors of the first resimulations reflected about the best fit, a smeared /
pivot bootstrap: -0.14 ± 0.08 at 90 %, coverage no better on 17 events) and the iterated
bootstrap (``truth="iterated"``: the second step's drift, -0.11 ± 0.07, is smaller than the
first's, so ``Q1^2/Q2`` removes only part of it: -0.20 ± 0.09 on 12 events) -- neither closes the
gap, and the iterated one costs ~4x. The default is therefore the LAST-RESORT global correction:
the best-fit order statistics times :data:`TUNED_LEVEL_FACTORS`, tuned on one simulated sample
and validated on an independent one (``tools/results/per_event_coverage.json``). It makes the
contours cover on average over that population (isotropic, 10 TeV - 1 PeV, this simulator); it
is not an event-by-event guarantee, and it must be re-tuned for another detector model.

Randomness: resimulation ``i`` uses the ``i``-th child of ``numpy.random.SeedSequence(seed)``;
the result does not depend on ``threads`` or the executor.

Parallelism: each resimulation is one job (:func:`calibrate_event`'s ``executor``: any
``concurrent.futures.Executor``; the default is a thread pool, where the C++ vertex fits release
the GIL). BLAS is limited to one thread during the jobs when ``threadpoolctl`` is installed:
scipy's L-BFGS-B calls BLAS on 5-vectors, and a multi-threaded OpenBLAS spinning on every call
was half of the CPU time on a loaded machine. On RabbitMQ workers:
:class:`icecore.scan.amqp_resim.AmqpResimulationExecutor` (each resimulation one job on the scan
workers' queue; identical results).

Cost (measured on a shared, heavily loaded 2-core machine, so only indicative; 1000 simulated
events of ``tools/per_event_coverage.py``): ~0.035 CPU s per resimulation with
``minimum="truth"`` (~0.35 with the reconstruction), ~0.7 CPU s for the calibration of one event
with n = 19 (energy estimate included); a full scan is ~11 CPU s.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import healpy as hp
import numpy as np
from scipy import stats

from .. import likelihood as lk
from .._progress import progress_bar
from .._validation import check_threads
from ..coords import equatorial_to_icecube, icecube_to_equatorial
from ..errors import InputError
from . import contours as _c
from .likelihood_bridge import DEFAULT_FITTER_OPTIONS
from .problem import equatorial_rotation
from .synthetic import SyntheticEvent, analytic_fitter_from_spec, simulate_synthetic

__all__ = [
    "ResimulationModel",
    "EventCalibration",
    "BestFit",
    "calibrate_event",
    "two_dllh_at_truth",
    "estimate_energy_tev",
    "order_statistic_quantile",
    "best_fit_of",
    "MIN_RESIMULATIONS",
    "RESIMULATION_TRUTHS",
    "TUNED_LEVEL_FACTORS",
]

log = logging.getLogger(__name__)

#: Smallest ``n``: the 90 % order statistic needs ceil(0.9 (n + 1)) <= n.
MIN_RESIMULATIONS = 10

#: Where the search for a resimulation's minimum starts (:class:`ResimulationModel`).
MINIMUM_STARTS = ("truth", "reconstruction")

#: Where the resimulations are made (:class:`ResimulationModel` ``truth``).
RESIMULATION_TRUTHS = ("best-fit", "iterated")

#: LAST-RESORT global correction of the best-fit bootstrap's levels (photon simulator, mismatch on):
#: containment fraction -> factor on the order statistic; the q-quantile over events of
#: (own 2Δ at the truth) / (order statistic), SIMULATION, n = 19.
#:
#: - 50 %: 1.20, tuned on the cheap statistic (``tools/per_event_coverage.py --tune``) of 956 events of
#:   ``--seed 2026`` and ``--seed 2027``: 1.21 ± 0.05 (bootstrap error). The scan maps agree: 1.28 ± 0.09 on
#:   250 maps of ``--seed 2027``.
#: - 90 %: 1.37, tuned on the contours as drawn, 250 full scan maps of ``--seed 2027`` events
#:   (``tools/scan_maps_coverage.py --seed 2027``: 1.37 ± 0.12). The cheap statistic gives 1.19 ± 0.05,
#:   but it measures 2Δ against the minimum of the truth's own basin. When an event's scan finds a
#:   deeper minimum far from the truth (a few % of these events), the map's 2Δ at the truth is large,
#:   and the 90 % contour as drawn with 1.20 held the truth in only 87.8 ± 1.5 % of 500 validation maps.
#:
#: Validated on independent events (``--seed 2030``: ``tools/results/scan_maps_coverage_seed2030.json``
#: for the maps, ``tools/results/per_event_coverage_validation_seed2030.json`` for the cheap statistic).
TUNED_LEVEL_FACTORS: Mapping[float, float] = {0.5: 1.20, 0.9: 1.37}

#: nside of the grid of the cheap minimum (the scan's finest level).
DEFAULT_NSIDE = 512


# ---- settings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResimulationModel:
    """How the ``n`` events of a calibration are resimulated and evaluated.

    Attributes
    ----------
    mismatch : bool
        The photon simulator's model-mismatch switch (depth-dependent ice with a dust layer,
        stochastic losses; see :func:`icecore.likelihood.simulate_track`). It should describe the
        detector the event came from; True by default (the likelihood never matches real ice).
    energy_tev : float or None
        Muon energy (TeV) of the resimulations; None: :func:`estimate_energy_tev` from the event's
        number of hit DOMs.
    fitter_options : dict or None
        Updates of the scan fitter's :data:`~.likelihood_bridge.DEFAULT_FITTER_OPTIONS`; must be
        those of the event's own scan so that Δ is comparable with its map.
    simulate_options : dict or None
        Extra ``simulate_track`` arguments (``noise_rate_hz``, ``jitter_ns``, ...).
    nside : int
        HEALPix grid of the cheap minimum (default 512, the scan's finest level).
    max_steps : int
        Largest number of moves of the grid descent.
    energy_log_sigma : float
        Hybrid resampling of the energy (a nuisance parameter): each resimulation draws its energy
        as ``E exp(sigma z)``, z standard normal, with sigma the resolution of the energy estimate
        in ln E (0, the default: every resimulation at the estimate).
    minimum : {"truth", "reconstruction"}
        Where the search for a resimulation's minimum starts. ``"truth"`` (default): the vertex fit
        at the injected direction, then a free fit of vertex and direction together from there, then
        the grid descent; it finds the minimum of the basin the truth lies in (a deeper minimum far
        away is missed). ``"reconstruction"``: the free-direction reconstruction from LineFit
        (:func:`icecore.likelihood.fit_track`), as for data, then the grid descent; ~2-3x dearer,
        and on mismatched events it sometimes stops in a shallower minimum than the ``"truth"``
        start finds. The coverage study (``tools/per_event_coverage.py``) validates ``"truth"``,
        computing each event's own statistic the same way from its own truth.
    truth : {"best-fit", "iterated"}
        Where the resimulations are made. ``"best-fit"`` (default): all ``n`` at the event's best
        fit (the parametric bootstrap); their order statistics, times :attr:`level_factor`, are
        the levels. ``"iterated"``: the bootstrap's bias corrected by one more bootstrap step --
        each of the ``n`` resimulations at the best fit is also fitted (its own minimum's direction
        and vertex) and its energy estimated as the event's was, one resimulation is made at each
        of those ``n`` fits, and with ``Q1``/``Q2`` the order statistics of the first/second ``n``
        the level is ``Q1^2 / Q2`` (the change of the level over one fit step, truth -> fit,
        estimated by fit -> refit, removed geometrically). ``2 n`` resimulations and ``n`` energy
        estimates (~4x the cost). Measured (SIMULATION, 11 events, module docstring) to remove only
        about a third of the best-fit levels' deficit; not validated at scale.
    level_factor : "tuned", mapping or None
        Factors on the order statistics by containment fraction (linear in the fraction between
        the given ones, constant outside). ``"tuned"`` (default): :data:`TUNED_LEVEL_FACTORS` for
        photon events with ``mismatch`` and ``truth="best-fit"`` (the configuration they were
        tuned and validated on), 1 otherwise (the SYNTHETIC toy, no mismatch, ``"iterated"``).
        None or ``{}``: the plain order statistics. A LAST-RESORT global correction (module
        docstring): it restores the coverage on average over the simulated population, not for
        every event.
    """

    mismatch: bool = True
    energy_tev: float | None = None
    fitter_options: Mapping[str, Any] | None = None
    simulate_options: Mapping[str, Any] | None = None
    nside: int = DEFAULT_NSIDE
    max_steps: int = 20
    minimum: str = "truth"
    energy_log_sigma: float = 0.0
    truth: str = "best-fit"
    level_factor: Any = "tuned"

    def __post_init__(self) -> None:
        lf = self.level_factor
        if not (lf is None or lf == "tuned" or isinstance(lf, Mapping)):
            raise InputError(f"argument 'level_factor': expected 'tuned', a mapping or None, got {lf!r}",
                             "level_factor")
        if isinstance(lf, Mapping):
            for q, c in lf.items():
                _check_level(q)
                if not (isinstance(c, (int, float, np.floating, np.integer)) and np.isfinite(c) and c > 0):
                    raise InputError(f"argument 'level_factor': factors must be finite and > 0, got {c!r}",
                                     "level_factor")
        if self.truth not in RESIMULATION_TRUTHS:
            raise InputError(f"argument 'truth': expected one of {RESIMULATION_TRUTHS}, got {self.truth!r}", "truth")
        if not (np.isfinite(self.energy_log_sigma) and self.energy_log_sigma >= 0):
            raise InputError(f"argument 'energy_log_sigma': must be finite and >= 0, got {self.energy_log_sigma!r}",
                             "energy_log_sigma")
        if self.minimum not in MINIMUM_STARTS:
            raise InputError(f"argument 'minimum': expected one of {MINIMUM_STARTS}, got {self.minimum!r}", "minimum")
        if self.energy_tev is not None and not (np.isfinite(self.energy_tev) and self.energy_tev > 0):
            raise InputError(f"argument 'energy_tev': must be finite and > 0, got {self.energy_tev!r}", "energy_tev")
        if not isinstance(self.nside, (int, np.integer)) or self.nside < 1 or self.nside & (self.nside - 1):
            raise InputError(f"argument 'nside': must be a power of two, got {self.nside!r}", "nside")
        if not isinstance(self.max_steps, (int, np.integer)) or self.max_steps < 0:
            raise InputError(f"argument 'max_steps': must be an int >= 0, got {self.max_steps!r}", "max_steps")

    def factor(self, q: float, *, photon: bool = True) -> float:
        """The factor on the order statistic of containment ``q`` (see :attr:`level_factor`)."""
        lf = self.level_factor
        if lf == "tuned":
            if not (photon and self.mismatch and self.truth == "best-fit"):
                return 1.0
            lf = TUNED_LEVEL_FACTORS
        if not lf:
            return 1.0
        qs = sorted(float(k) for k in lf)
        return float(np.interp(float(q), qs, [float(lf[k]) for k in sorted(lf, key=float)]))

    def fitter_settings(self) -> dict[str, Any]:
        """The scan fitter's options (defaults updated by :attr:`fitter_options`)."""
        return {**DEFAULT_FITTER_OPTIONS, **dict(self.fitter_options or {})}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fitter_options"] = self.fitter_settings()
        d["simulate_options"] = dict(self.simulate_options or {})
        return d


@dataclass(frozen=True)
class BestFit:
    """The resimulation truth: local direction (deg), vertex (x, y, z m; t ns), MJD, energy (TeV)."""

    zenith_deg: float
    azimuth_deg: float
    vertex: tuple[float, float, float, float]
    mjd: float
    energy_tev: float | None = None

    @property
    def radec_deg(self) -> tuple[float, float]:
        ra, dec = icecube_to_equatorial(self.zenith_deg, self.azimuth_deg, self.mjd)
        return float(ra), float(dec)

    def as_dict(self) -> dict[str, Any]:
        ra, dec = self.radec_deg
        return {"zenith_deg": self.zenith_deg, "azimuth_deg": self.azimuth_deg, "ra_deg": ra, "dec_deg": dec,
                "vertex": list(self.vertex), "mjd": self.mjd, "energy_tev": self.energy_tev}


# ---- statistics of the order statistic ----------------------------------------------------------
def _check_level(q: float) -> float:
    try:
        q = float(q)
    except (TypeError, ValueError):
        raise InputError(f"argument 'levels': expected containment fractions in (0, 1), got {q!r}", "levels") from None
    if not 0.0 < q < 1.0:
        raise InputError(f"argument 'levels': containment fractions must be in (0, 1), got {q!r}", "levels")
    return q


def order_statistic_quantile(values: Any, q: float, *, confidence: float = 0.6827) -> dict[str, float]:
    """The critical value of containment ``q`` from ``n`` samples, with its statistical interval.

    ``value`` is the order statistic of rank ``k = ceil(q (n + 1))`` (1-based): a new exchangeable
    sample lies at or below it with probability ``k / (n + 1) >= q``. ``lo``/``hi`` are the order
    statistics of ranks ``binom.ppf((1 -+ confidence) / 2, n, q)`` (+1 for hi), a distribution-free
    interval containing the true q-quantile with probability >= ``confidence``; ``error`` is half
    its width. Raises :class:`~icecore.errors.InputError` when ``k > n``.
    """
    q = _check_level(q)
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = x.size
    k = math.ceil(q * (n + 1) - 1e-9)
    if k > n or n == 0:
        raise InputError(f"argument 'n': {n} samples are too few for the {100 * q:g} % level "
                         f"(need ceil(q (n + 1)) <= n)", "n")
    a = (1.0 - confidence) / 2.0
    r_lo = max(1, int(stats.binom.ppf(a, n, q)))
    r_hi = min(n, int(stats.binom.ppf(1.0 - a, n, q)) + 1)
    lo, hi = float(x[r_lo - 1]), float(x[r_hi - 1])
    return {"value": float(x[k - 1]), "rank": int(k), "lo": lo, "hi": hi, "error": 0.5 * (hi - lo),
            "nominal_coverage": k / (n + 1)}


# ---- the event kinds ----------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _rotation(mjd: float) -> np.ndarray:
    """``v_local = R @ v_equatorial`` at ``mjd`` (cached: astropy is slow per call)."""
    return equatorial_rotation(mjd)


def _local_to_radec(zen_deg: float, azi_deg: float, mjd: float) -> tuple[float, float]:
    z, a = np.radians(zen_deg), np.radians(azi_deg)
    v = _rotation(mjd).T @ np.array([np.sin(z) * np.cos(a), np.sin(z) * np.sin(a), np.cos(z)])
    return float(np.degrees(np.arctan2(v[1], v[0])) % 360.0), float(np.degrees(np.arcsin(np.clip(v[2], -1, 1))))


def _radec_to_local(ra_deg: float, dec_deg: float, mjd: float) -> tuple[float, float]:
    a, d = np.radians(ra_deg), np.radians(dec_deg)
    v = _rotation(mjd) @ np.array([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)])
    return float(np.degrees(np.arccos(np.clip(v[2], -1, 1)))), float(np.degrees(np.arctan2(v[1], v[0])) % 360.0)


class _Kind:
    """What the calibration needs of one kind of event."""

    def fitter(self, event: Any, model: ResimulationModel) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def start(self, event: Any, model: ResimulationModel) -> tuple[float, float, np.ndarray, float]:  # pragma: no cover
        """Free-direction fit: zenith, azimuth (deg), vertex and its −ln L (same likelihood as the fitter)."""
        raise NotImplementedError

    def local_fit(self, event: Any, model: ResimulationModel, zen: float, azi: float,
                  vertex: Any) -> tuple[float, float, np.ndarray, float]:
        """Free fit started at (zen, azi, vertex): as :meth:`start` (default: the fixed-direction fit)."""
        v = np.asarray(vertex, float)
        r = _fit(self.fitter(event, model), np.array([zen]), np.array([azi]), v)[0]
        return zen, azi, np.asarray(r["vertex"], float), float(r["neg_llh"])

    def mjd(self, event: Any) -> float:  # pragma: no cover
        raise NotImplementedError

    def simulate(self, rng: np.random.Generator, best: BestFit, model: ResimulationModel) -> Any:  # pragma: no cover
        raise NotImplementedError


class _PhotonKind(_Kind):
    """Photon-level :class:`icecore.likelihood.Event` with the Pandel MPE scan fitter."""

    def fitter(self, event: lk.Event, model: ResimulationModel) -> lk.TrackLikelihood:
        o = model.fitter_settings()
        mode = o.pop("mode", "mpe")
        return lk.TrackLikelihood(event, mode, **o)

    def start(self, event: lk.Event, model: ResimulationModel) -> tuple[float, float, np.ndarray, float]:
        o = model.fitter_settings()
        tr = lk.fit_track(event, threads=1, likelihood=str(o.get("likelihood", "fast")))
        # fit_track's last stage is the MPE likelihood with the fitter's defaults; its minimum counts
        # only when the scan fitter is that likelihood (mode mpe, default jitter and noise)
        same = o.get("mode", "mpe") == "mpe" and not ({"sigma_ns", "noise_rate_hz", "window_ns", "ice"} & set(o))
        return tr.zenith_deg, tr.azimuth_deg, np.asarray(tr.vertex, float), float(tr.neg_llh) if same else np.inf

    def local_fit(self, event: lk.Event, model: ResimulationModel, zen: float, azi: float,
                  vertex: Any) -> tuple[float, float, np.ndarray, float]:
        # the vertex at the start direction by the scan fitter (ring seeds), then vertex and direction together
        llh = self.fitter(event, model)
        r = _fit(llh, np.array([zen]), np.array([azi]), np.asarray(vertex, float))[0]
        v1 = np.asarray(r["vertex"], float) if np.all(np.isfinite(r["vertex"])) else np.asarray(vertex, float)
        out = _free_fit(llh, zen, azi, v1)
        if not out[3] <= float(r["neg_llh"]):
            return zen, azi, v1, float(r["neg_llh"]) if np.isfinite(r["neg_llh"]) else np.inf
        return out

    def mjd(self, event: lk.Event) -> float:
        if event.mjd is None:
            raise InputError("argument 'event': the event has no MJD", "event")
        return float(event.mjd)

    def simulate(self, rng: np.random.Generator, best: BestFit, model: ResimulationModel) -> lk.Event:
        assert best.energy_tev is not None
        q, t0 = closest_approach(best.vertex, best.zenith_deg, best.azimuth_deg)
        energy = best.energy_tev
        if model.energy_log_sigma > 0:
            energy = float(energy * np.exp(model.energy_log_sigma * rng.standard_normal()))
        # no MJD: the resimulation is fitted in local coordinates only (saves a sky conversion per fit)
        return lk.simulate_track(energy, best.zenith_deg, best.azimuth_deg, seed=rng, impact_m=q,
                                 time_ns=t0, mjd=None, mismatch=model.mismatch,
                                 **dict(model.simulate_options or {}))


class _SyntheticKind(_Kind):
    """The SYNTHETIC analytic toy: −ln L = kappa (1 - cos psi), 2Δ at the truth ~ chi2(2 dof)."""

    def fitter(self, event: SyntheticEvent, model: ResimulationModel) -> Any:
        return analytic_fitter_from_spec({"kind": "analytic", "params": event.fitter_params(_rotation(event.mjd))})

    def start(self, event: SyntheticEvent, model: ResimulationModel) -> tuple[float, float, np.ndarray, float]:
        zen, azi = _radec_to_local(event.ra_deg, event.dec_deg, event.mjd)
        v = np.asarray(event.vertex, float)
        r = _fit(self.fitter(event, model), np.array([float(zen)]), np.array([float(azi)]), v)[0]
        return float(zen), float(azi), v, float(r["neg_llh"])

    def mjd(self, event: SyntheticEvent) -> float:
        return float(event.mjd)

    def simulate(self, rng: np.random.Generator, best: BestFit, model: ResimulationModel) -> SyntheticEvent:
        ra, dec = _local_to_radec(best.zenith_deg, best.azimuth_deg, best.mjd)
        e = 200.0 if best.energy_tev is None else best.energy_tev
        return simulate_synthetic(rng=rng, ra_deg=ra, dec_deg=dec, energy_tev=e, mjd=best.mjd,
                                  mismatch=model.mismatch)


def _free_fit(llh: lk.TrackLikelihood, zen: float, azi: float, vertex: np.ndarray,
              max_iter: int = 200) -> tuple[float, float, np.ndarray, float]:
    """L-BFGS of −ln L over the vertex and the direction together, from (zen, azi) deg and ``vertex``.

    Parameters: the vertex moves in the plane transverse to the starting track (a, b in m) and in
    time (ns); the direction by (dz, da) with zenith = zen + 0.01 dz rad and azimuth = azi + 0.01 da
    / sin(zen) rad (an isotropic step of 0.01 rad per unit away from the poles). Analytic gradient
    from ``neg_llh``.
    """
    from scipy import optimize

    z0, a0 = np.radians(zen), np.radians(azi)
    s0 = max(np.sin(z0), 1e-3)
    e1 = np.array([np.cos(z0) * np.cos(a0), np.cos(z0) * np.sin(a0), -np.sin(z0)])
    e2 = np.array([-np.sin(a0), np.cos(a0), 0.0])
    q0 = np.asarray(vertex[:3], float)
    step = 0.01

    def unpack(x: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        return q0 + x[0] * e1 + x[1] * e2, float(x[2]), z0 + step * x[3], a0 + step * x[4] / s0

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        q, t, zz, aa = unpack(x)
        f, g = llh.neg_llh(q[0], q[1], q[2], t, zz, aa)
        if not np.isfinite(f):
            return 1e300, np.zeros(5)
        return float(f), np.array([g[:3] @ e1, g[:3] @ e2, g[3], step * g[4], step * g[5] / s0])

    res = optimize.minimize(fun, np.array([0.0, 0.0, float(vertex[3]), 0.0, 0.0]), jac=True, method="L-BFGS-B",
                            options={"maxiter": max_iter, "ftol": 1e-10, "gtol": 1e-5})
    q, t, zz, aa = unpack(res.x)
    zz_deg = float(np.degrees(zz))
    aa_deg = float(np.degrees(aa)) % 360.0
    if zz_deg < 0:  # crossed the pole: the same direction
        zz_deg, aa_deg = -zz_deg, (aa_deg + 180.0) % 360.0
    if zz_deg > 180:
        zz_deg, aa_deg = 360.0 - zz_deg, (aa_deg + 180.0) % 360.0
    return zz_deg, aa_deg, np.array([*q, t]), float(res.fun) if res.fun < 1e300 else np.inf


def _kind(event: Any) -> _Kind:
    if isinstance(event, lk.Event):
        return _PhotonKind()
    if isinstance(event, SyntheticEvent):
        return _SyntheticKind()
    raise InputError(f"argument 'event': cannot calibrate a {type(event).__name__}; pass an "
                     "icecore.likelihood.Event or a SyntheticEvent", "event")


def closest_approach(vertex: Sequence[float], zenith_deg: float, azimuth_deg: float) -> tuple[np.ndarray, float]:
    """Point of the track closest to the detector centre (m) and the time the muon passes it (ns)."""
    v = lk.direction_vector(zenith_deg, azimuth_deg)  # direction of travel
    p = np.asarray(vertex[:3], dtype=float)
    s = float(p @ v)
    return p - s * v, float(vertex[3]) - s / lk.DEFAULT_ICE.c_m_per_ns


# ---- the cheap statistic ----------------------------------------------------------------------
def _fit(fitter: Any, zen_deg: np.ndarray, azi_deg: np.ndarray, seed: np.ndarray) -> np.ndarray:
    seeds = np.ascontiguousarray(np.broadcast_to(np.asarray(seed, float), (zen_deg.size, 4)))
    return fitter.fit_batch(np.radians(zen_deg), np.radians(azi_deg), seeds, 1)


def two_dllh_at_truth(event: Any, truth_zen_deg: float, truth_azi_deg: float, *,
                      model: ResimulationModel | None = None, start: Sequence[Any] | None = None,
                      fitter: Any = None, truth_vertex: Any = None) -> dict[str, Any]:
    """2 (−ln L(truth) − min −ln L) of one event by the cheap minimum (see the module docstring).

    Parameters
    ----------
    event : icecore.likelihood.Event or SyntheticEvent
    truth_zen_deg, truth_azi_deg : float
        The direction tested (IceCube local zenith/azimuth, degrees).
    model : ResimulationModel, optional
        Fitter options and the grid (default ``ResimulationModel()``).
    start : (zenith_deg, azimuth_deg, vertex[, neg_llh]), optional
        Start of the grid descent (default: the free-direction reconstruction); ``neg_llh``, the
        −ln L of that free fit, enters the minimum.
    fitter : DirectionFitter, optional
        Reuse a fitter built for this event.
    truth_vertex : (x, y, z, t), optional
        A point of the true track (m, ns): with ``model.minimum == "truth"`` (and no ``start``)
        the free fit starts at the truth.

    Returns
    -------
    dict with ``two_dllh``, ``neg_llh_truth``, ``neg_llh_min``, the best grid direction
    (``zenith_deg``, ``azimuth_deg``) and ``vertex``, ``fits`` (vertex fits done) and ``steps``.
    NaN policy: non-finite −ln L (failed fits) are ignored in the minimum; ``two_dllh`` is NaN
    only when the fit at the truth fails.
    """
    model = model or ResimulationModel()
    kind = _kind(event)
    f = fitter if fitter is not None else kind.fitter(event, model)
    if start is not None:
        st = tuple(start)
    elif model.minimum == "truth":
        if truth_vertex is None:
            raise InputError("argument 'truth_vertex': needed with minimum='truth'", "truth_vertex")
        st = kind.local_fit(event, model, float(truth_zen_deg), float(truth_azi_deg), truth_vertex)
    else:
        st = kind.start(event, model)
    z0, a0, v0 = float(st[0]), float(st[1]), np.asarray(st[2], dtype=float)
    llh_free = float(st[3]) if len(st) > 3 and np.isfinite(st[3]) else np.inf
    nside = int(model.nside)
    pix = int(hp.ang2pix(nside, np.radians(z0), np.radians(a0), nest=True))
    done: dict[int, tuple[float, np.ndarray]] = {}
    seed_vertex = v0
    steps = 0
    while True:
        block = np.concatenate([[pix], hp.get_all_neighbours(nside, pix, nest=True)])
        block = np.unique(block[block >= 0])
        todo = np.array([p for p in block if p not in done], dtype=np.int64)
        if todo.size:
            th, ph = hp.pix2ang(nside, todo, nest=True)
            out = _fit(f, np.degrees(th), np.degrees(ph), seed_vertex)
            for p, r in zip(todo, out):
                done[int(p)] = (float(r["neg_llh"]) if np.isfinite(r["neg_llh"]) else np.inf,
                                np.asarray(r["vertex"], float))
        best = min(block, key=lambda p: done[int(p)][0])
        if int(best) == pix or steps >= model.max_steps:
            break
        pix = int(best)
        seed_vertex = done[pix][1]
        steps += 1
    llh_min, v_min = done[pix]
    th, ph = hp.pix2ang(nside, pix, nest=True)
    best_dir = (float(np.degrees(th)), float(np.degrees(ph)))
    seed_truth = v_min if np.all(np.isfinite(v_min)) else v0
    rt = _fit(f, np.array([float(truth_zen_deg)]), np.array([float(truth_azi_deg)]), seed_truth)[0]
    llh_t = float(rt["neg_llh"])
    llh_grid = llh_min
    best_v = v_min
    if llh_free < llh_grid:  # the free fit is deeper: it is the best fit
        best_dir, best_v = (z0, a0), v0
    llh_min = min(llh_min, llh_free)
    if not np.isfinite(llh_min):
        llh_min = llh_t
    stat = 2.0 * max(0.0, llh_t - min(llh_min, llh_t)) if np.isfinite(llh_t) else float("nan")
    return {"two_dllh": stat, "neg_llh_truth": llh_t, "neg_llh_min": float(min(llh_min, llh_t)),
            "neg_llh_grid": float(llh_grid), "neg_llh_free": float(llh_free),
            "zenith_deg": best_dir[0], "azimuth_deg": best_dir[1],
            "vertex": [float(x) for x in best_v], "fits": len(done) + 1, "steps": steps}


# ---- energy estimate --------------------------------------------------------------------------
def estimate_energy_tev(event: lk.Event, best: BestFit, *, mismatch: bool = True, seed: Any = 0,
                        energies_tev: Sequence[float] | None = None, n_per_energy: int = 3,
                        simulate_options: Mapping[str, Any] | None = None) -> float:
    """Muon energy (TeV) whose resimulated mean number of hit DOMs equals the event's.

    The simulator (:func:`icecore.likelihood.simulate_track`, same track as ``best``, noise
    included as in the event) is run ``n_per_energy`` times at each of ``energies_tev`` (default
    17 values log-spaced over 1 TeV - 10 PeV, common random numbers); the mean hit-DOM count is made
    monotone and inverted by log-linear interpolation (clipped to the grid). The estimate is what
    the resimulations need (events that look like this one), not a physics energy reconstruction.
    """
    grid = np.asarray(energies_tev if energies_tev is not None else np.logspace(0, 4, 17), dtype=float)
    observed = int(event.hit_doms()["charge_pe"].size)
    q, t0 = closest_approach(best.vertex, best.zenith_deg, best.azimuth_deg)
    ss = np.random.SeedSequence(int(seed) if not isinstance(seed, np.random.SeedSequence) else seed.entropy)
    children = ss.spawn(n_per_energy)
    mean_hits = np.empty(grid.size)
    for j, e in enumerate(grid):
        counts = []
        for c in children:
            try:
                ev = lk.simulate_track(float(e), best.zenith_deg, best.azimuth_deg, seed=np.random.default_rng(c),
                                       impact_m=q, time_ns=t0, mismatch=mismatch, **dict(simulate_options or {}))
                counts.append(ev.hit_doms()["charge_pe"].size)
            except InputError:
                counts.append(0)
        mean_hits[j] = float(np.mean(counts))
    mono = np.maximum.accumulate(mean_hits)
    if observed <= mono[0]:
        return float(grid[0])
    if observed >= mono[-1]:
        return float(grid[-1])
    # strictly increasing abscissa for interp: drop flat steps
    keep = np.concatenate([[True], np.diff(mono) > 0])
    return float(np.exp(np.interp(observed, mono[keep], np.log(grid[keep]))))


# ---- the calibration --------------------------------------------------------------------------
@dataclass
class EventCalibration:
    """Per-event critical values on 2Δ(−ln L) from ``n`` resimulations of the event's best fit.

    Usable wherever a contour convention is accepted (``ScanResult.areas_deg2(cal)``,
    ``contours``, ``summary``): :attr:`critical_values` is the ``per-event``
    :class:`~.contours.CriticalValues` with the levels' errors.

    Attributes
    ----------
    levels : dict label -> float
        Critical values on 2Δ(−ln L) (labels "50", "90": containment percent).
    errors : dict label -> float
        Half-width of the 68 % order-statistic interval of each level (:attr:`intervals`).
    intervals : dict label -> (lo, hi)
    n : int
        Resimulations used (finite statistic); ``n_failed`` were dropped (no pulses, failed fit).
    samples : (n,) ndarray
        The resimulated 2Δ(−ln L) at the injected direction.
    best_fit : BestFit
        The resimulation truth (with the energy used).
    model : ResimulationModel
    seed : int
    cost : dict
        ``wall_s``, ``cpu_s`` (this process), ``fits`` (vertex fits), ``resimulations``,
        ``threads``, ``executor``.
    second_samples : ndarray
        ``truth="iterated"``: the resimulated 2Δ at the first-level resimulations' own fits
        (empty otherwise).
    raw_levels : dict label -> float
        The levels before :attr:`level_factors` (the order statistics, or the iterated levels).
    level_factors : dict label -> float
        The factors applied (:attr:`ResimulationModel.level_factor`; 1 when none).
    """

    levels: dict[str, float]
    errors: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    n: int
    n_failed: int
    samples: np.ndarray
    best_fit: BestFit
    model: ResimulationModel
    seed: int
    cost: dict[str, Any] = field(default_factory=dict)
    second_samples: np.ndarray = field(default_factory=lambda: np.empty(0))
    raw_levels: dict[str, float] = field(default_factory=dict)
    level_factors: dict[str, float] = field(default_factory=dict)

    @property
    def critical_values(self) -> _c.CriticalValues:
        """The ``per-event`` convention of this event (a :class:`~.contours.CriticalValues`)."""
        fac = ", ".join(f"{v:.3g}" for v in self.level_factors.values())
        desc = (f"per-event Neyman calibration: {self.n} resimulations of the best fit "
                f"(E = {self.best_fit.energy_tev:.3g} TeV, mismatch {'on' if self.model.mismatch else 'off'}, "
                f"truth {self.model.truth}, seed {self.seed}); order statistics of 2 Delta(-lnL) at the "
                f"injected direction" + (f", times the global factors {fac}" if fac and set(
                    self.level_factors.values()) != {1.0} else ""))
        return _c.CriticalValues("per-event", dict(self.levels), "2dllh", desc, errors=dict(self.errors))

    def as_dict(self) -> dict[str, Any]:
        return {"convention": "per-event", "statistic": "2dllh", "levels": dict(self.levels),
                "errors": dict(self.errors), "intervals": {k: list(v) for k, v in self.intervals.items()},
                "n": self.n, "n_failed": self.n_failed, "seed": self.seed, "best_fit": self.best_fit.as_dict(),
                "model": self.model.as_dict(), "cost": dict(self.cost),
                "samples": [round(float(x), 5) for x in self.samples],
                "raw_levels": dict(self.raw_levels), "level_factors": dict(self.level_factors),
                "second_samples": [round(float(x), 5) for x in self.second_samples]}

    def __str__(self) -> str:
        parts = [f"{k} %: {v:.3g} +- {self.errors[k]:.2g}" for k, v in self.levels.items()]
        return f"per-event critical values on 2Delta(-lnL) ({self.n} resimulations): " + ", ".join(parts)


def best_fit_of(event: Any, result: Any = None, *, model: ResimulationModel | None = None) -> BestFit:
    """The resimulation truth of ``event``: its scan's best pixel (``result``, a ScanResult) or,
    without a scan, its free-direction reconstruction from LineFit (:func:`icecore.likelihood.fit_track`)
    refined by the grid descent of :func:`two_dllh_at_truth` (energy not yet set)."""
    model = model or ResimulationModel()
    kind = _kind(event)
    mjd = kind.mjd(event)
    if result is not None:
        b = result.best_fit
        zen, azi = equatorial_to_icecube(b["ra_deg"], b["dec_deg"], mjd)
        v = np.asarray(b["vertex"], dtype=float)
        if not np.all(np.isfinite(v)):
            v = np.asarray(kind.start(event, model)[2], float)
        return BestFit(float(zen), float(azi), (float(v[0]), float(v[1]), float(v[2]), float(v[3])), mjd)
    st = kind.start(event, model)  # the best fit of the event itself always comes from its reconstruction
    r = two_dllh_at_truth(event, st[0], st[1], model=model, start=st)
    v = np.asarray(r["vertex"], float)
    return BestFit(r["zenith_deg"], r["azimuth_deg"], (float(v[0]), float(v[1]), float(v[2]), float(v[3])), mjd)


def _one_resimulation(args: tuple[Any, BestFit, ResimulationModel, np.random.SeedSequence]
                      | tuple[Any, BestFit, ResimulationModel, np.random.SeedSequence, bool]) -> dict[str, Any]:
    """One job: simulate at ``best``, the statistic at its truth; with the 5th item True also the
    resimulation's own best fit (direction, vertex) and energy estimate (for the iterated bootstrap)."""
    kind, best, model, child = args[:4]
    refit = bool(args[4]) if len(args) > 4 else False
    try:
        ev = kind.simulate(np.random.default_rng(child), best, model)
        r = two_dllh_at_truth(ev, best.zenith_deg, best.azimuth_deg, model=model, truth_vertex=best.vertex)
    except InputError as exc:  # no pulses / LineFit impossible: drop this resimulation
        return {"two_dllh": float("nan"), "fits": 0, "error": str(exc)}
    out: dict[str, Any] = {"two_dllh": r["two_dllh"], "fits": r["fits"]}
    if refit and np.isfinite(r["two_dllh"]) and np.all(np.isfinite(r["vertex"])):
        v = [float(x) for x in r["vertex"]]
        fit = BestFit(float(r["zenith_deg"]), float(r["azimuth_deg"]), (v[0], v[1], v[2], v[3]), best.mjd)
        if model.energy_tev is not None or not isinstance(ev, lk.Event):
            energy = best.energy_tev
        else:  # the same estimator as for the event, on the resimulation at its own fit
            energy = estimate_energy_tev(ev, fit, mismatch=model.mismatch, seed=int(child.generate_state(1)[0]),
                                         simulate_options=model.simulate_options)
        out["fit"] = BestFit(fit.zenith_deg, fit.azimuth_deg, fit.vertex, fit.mjd, energy)
    return out


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _check_n_levels(n: Any, levels: Iterable[float]) -> list[float]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InputError(f"argument 'n': expected an int, got {n!r}", "n")
    if n < MIN_RESIMULATIONS:
        raise InputError(f"argument 'n': need at least {MIN_RESIMULATIONS} resimulations, got {n}", "n")
    qs = [_check_level(q) for q in levels]
    if not qs:
        raise InputError("argument 'levels': give at least one containment fraction", "levels")
    for q in qs:
        if math.ceil(q * (n + 1) - 1e-9) > n:
            raise InputError(f"argument 'n': {n} resimulations are too few for the {100 * q:g} % level", "n")
    return qs


def _with_energy(event: Any, best: BestFit, model: ResimulationModel, seed: int) -> BestFit:
    """``best`` with the resimulation energy: its own, the model's, or estimated from the hit count."""
    if best.energy_tev is not None:
        return best
    if model.energy_tev is not None:
        energy = float(model.energy_tev)
    elif isinstance(event, lk.Event):
        energy = estimate_energy_tev(event, best, mismatch=model.mismatch, seed=seed,
                                     simulate_options=model.simulate_options)
    else:  # the synthetic toy: its resolution follows synthetic_kappa(200 TeV) unless the model says
        energy = 200.0
    return BestFit(best.zenith_deg, best.azimuth_deg, best.vertex, best.mjd, energy)


def _one_blas_thread() -> Any:
    """Limit BLAS to one thread while the jobs run (threadpoolctl, when installed); ``.unregister()`` undoes it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - without threadpoolctl BLAS keeps its own threads
        return contextlib.nullcontext()
    return threadpool_limits(1)


def calibrate_event(event: Any, *, result: Any = None, n: int = 99, model: ResimulationModel | None = None,
                    seed: int = 0, levels: Iterable[float] = (0.5, 0.9), threads: int | None = None,
                    executor: Executor | None = None, progress: bool | None = None,
                    best_fit: BestFit | None = None) -> EventCalibration:
    """Per-event critical values of ``event`` from ``n`` resimulations of its best fit.

    Parameters
    ----------
    event : icecore.likelihood.Event or SyntheticEvent
        The event (its pulses are needed for the energy estimate and the fit's start).
    result : ScanResult, optional
        The event's scan: its best pixel is the resimulation truth (else the cheap minimum).
    n : int
        Resimulations (>= :data:`MIN_RESIMULATIONS`); 19, 39, 99, 199 make both 50 % and 90 %
        ranks exact (``k / (n + 1)`` equal to the level). The default model then multiplies the
        order statistics by :data:`TUNED_LEVEL_FACTORS` (validated with ``n = 19``).
    model : ResimulationModel, optional
        Mismatch switch, energy, fitter options and grid (default ``ResimulationModel()``).
    seed : int
        Seed of the resimulations (and of the energy estimate).
    levels : containment fractions in (0, 1), default (0.5, 0.9); labelled "50", "90".
    threads : int, optional
        Resimulations run at once in threads (default: all cores); each fits with one C++
        thread, which releases the GIL. Ignored when ``executor`` is given.
    executor : concurrent.futures.Executor, optional
        Where each resimulation runs as one job (e.g. a ``ProcessPoolExecutor``, or
        :class:`~.amqp_resim.AmqpResimulationExecutor` for the RabbitMQ scan workers); jobs are
        picklable. Results are identical to the threaded run.
    progress : bool, optional
        Progress of the resimulations (:func:`icecore._progress.progress_bar`).
    best_fit : BestFit, optional
        Use this resimulation truth instead of deriving it.

    Returns
    -------
    EventCalibration
    """
    qs = _check_n_levels(n, levels)
    model = model or ResimulationModel()
    if not isinstance(model, ResimulationModel):
        raise InputError(f"argument 'model': expected a ResimulationModel, got {type(model).__name__}", "model")
    kind = _kind(event)
    nthreads = check_threads(threads) or (os.cpu_count() or 1)  # 0 = all cores
    t0, c0 = time.perf_counter(), _cpu()
    best = _with_energy(event, best_fit or best_fit_of(event, result, model=model), model, seed)
    children = np.random.SeedSequence(int(seed)).spawn(int(n))
    iterated = model.truth == "iterated"
    total = int(n) * (2 if iterated else 1)
    out: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    own = executor is None
    pool: Executor = executor if executor is not None else ThreadPoolExecutor(max_workers=nthreads)
    blas = _one_blas_thread()
    try:
        with progress_bar(total=total, progress=progress, desc="calibration resimulations", unit="event") as bar:
            for r in pool.map(_one_resimulation, [(kind, best, model, c, iterated) for c in children]):
                out.append(r)
                bar.update(1)
            if iterated:  # one resimulation at each first-level resimulation's own best fit
                ss2 = np.random.SeedSequence([int(seed), 2]).spawn(int(n))
                jobs2 = [(kind, r["fit"], model, c) for r, c in zip(out, ss2) if "fit" in r]
                for r in pool.map(_one_resimulation, jobs2):
                    second.append(r)
                    bar.update(1)
    finally:
        if own:
            pool.shutdown()
        if hasattr(blas, "unregister"):
            blas.unregister()
    samples = np.array([r["two_dllh"] for r in out], dtype=float)
    ok = np.isfinite(samples)
    good = samples[ok]
    lv: dict[str, float] = {}
    err: dict[str, float] = {}
    iv: dict[str, tuple[float, float]] = {}
    raw: dict[str, float] = {}
    factors: dict[str, float] = {}
    s2 = np.array([r["two_dllh"] for r in second], dtype=float)
    s2 = s2[np.isfinite(s2)]
    for q in qs:
        label = f"{100 * q:g}"
        qq = order_statistic_quantile(good, q)
        lv[label], err[label], iv[label] = qq["value"], qq["error"], (qq["lo"], qq["hi"])
        if iterated:
            try:
                q2 = order_statistic_quantile(s2, q)
            except InputError:  # too few finite second-level resimulations: no correction
                log.warning("calibration: %d second-level resimulations are too few for the %s %% level; "
                            "level not bias-corrected", s2.size, label)
            else:
                lv[label], err[label], iv[label] = _iterated_level(qq, q2)
        raw[label] = lv[label]
        c = factors[label] = model.factor(q, photon=isinstance(event, lk.Event))
        lv[label], err[label], iv[label] = c * lv[label], c * err[label], (c * iv[label][0], c * iv[label][1])
    cost = {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(_cpu() - c0, 3),
            "fits": int(sum(r["fits"] for r in out + second)), "resimulations": total,
            "threads": nthreads if own else None,
            "executor": "threads" if own else type(executor).__name__}
    if (~ok).any():
        log.warning("calibration: %d of %d resimulations dropped (%s)", int((~ok).sum()), n,
                    next((r.get("error") for r in out if "error" in r), "non-finite statistic"))
    return EventCalibration(lv, err, iv, int(ok.sum()), int((~ok).sum()), good, best, model, int(seed), cost, s2,
                            raw, factors)


def _iterated_level(first: Mapping[str, float],
                    second: Mapping[str, float]) -> tuple[float, float, tuple[float, float]]:
    """Bias-corrected level ``Q1^2 / Q2`` (geometric extrapolation by one fit step) with its error.

    ``first``/``second``: :func:`order_statistic_quantile` of the resimulations at the best fit and
    at their own best fits. The relative errors of the two order statistics add in quadrature
    (``Q1`` twice); the interval is the level times / divided by ``exp`` of that relative error.
    """
    q1, q2 = float(first["value"]), float(second["value"])
    if not (q1 > 0 and q2 > 0):  # a zero level (degenerate statistic): no correction
        return q1, float(first["error"]), (float(first["lo"]), float(first["hi"]))
    level = q1 * q1 / q2
    rel = math.hypot(2.0 * float(first["error"]) / q1, float(second["error"]) / q2)
    return level, level * rel, (level * math.exp(-rel), level * math.exp(rel))


#: Signature of a calibration function (for type hints of callers).
Calibrator = Callable[..., EventCalibration]
