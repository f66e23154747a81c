"""The time-dependent (flare) point-source search for one source in one data sample.

Model (``cpp/include/icecore/ps_flare.hpp`` holds the likelihood, the search and the trials):

* per event, the time-independent ratio ``x_i(gamma) = S_spatial S_energy(gamma) / (B_spatial
  B_energy)`` on a gamma grid (step :data:`GAMMA_STEP`, linear in gamma between nodes), built here;
* signal time PDF: Gaussian (mean, width) or box (start, end), each restricted to and normalised
  over the good runs; background time PDF: uniform in live time (the uptime), so gaps are handled;
* TS with IceCube's marginalisation term for the flare length: ``TS = 2 log Lambda + 2 log(sqrt(2 pi)
  sigma / T_live)`` (Gaussian) or ``+ 2 log(L_box / T_live)`` (box), maximised over (ns, gamma, time
  PDF) by a scan in time then a refinement; fixed windows (e.g. +-500 s around an alert) and the
  time-integrated fit (``kind="none"``) use ``TS = 2 log Lambda``;
* background trials scramble every event time uniformly in live time (C++, threads, one seed per
  trial); p-values from :class:`icecore.stats.BackgroundTS`. ``scramble="time"`` keeps each event's
  direction; ``scramble="time+ra"`` (partial-sky releases) also draws a new right ascension
  uniformly on the part of the event's declination circle inside the cone -- the in-cone
  equivalent of IceCube's trials, whose times are drawn from the uptime and whose right
  ascensions follow from the fixed local coordinates. Time-only scrambling keeps a source's
  events at the source in every trial, so a time-integrated excess enters every background trial
  (and the p-value is conservative). ``scramble="resample"`` (partial-sky releases with a wider
  sample given as ``background_events``): every trial draws the season's number of events afresh --
  (log10 E, AngErr) pairs from the wider sample (dequantised by its rounding step), directions
  uniform in the cone, times uniform in live time -- the in-cone view of a full-sky scramble, in which
  a flare's own events would almost all leave the cone; the wider sample's energy density is then
  also the background energy PDF.

How ``x_i`` is built depends on the sample:

* **partial-sky release** (``Season.region`` set, the TXS 0506+056 release): all events within
  the 3-deg cone are used; ``B_spatial = 1 / Omega_cone`` (uniform over the cone: the release
  publishes no background model and the cone is small); ``B_energy`` a Gaussian kernel density
  estimate (Scott's bandwidth) of the season's own log10 E values, or of a wider sample given as
  ``background_log10_e`` (e.g. the IC86-2011 release's events in the source's declination band;
  its rounding step, ``background_rounding``, is added to the bandwidth in quadrature as
  step / sqrt(12)); ``S_spatial`` the 2-d Rayleigh
  density with sigma = each event's uncertainty; ``S_energy`` the marginal reco-energy density of the
  season's smearing table (:mod:`icecore.ps.proxy_irf` for that release), weighted by
  A_eff x E^-gamma (:func:`icecore.ps.model.true_energy_weights`), piecewise constant per proxy bin;
* **full-sky sample**: the background and signal PDFs of :class:`icecore.ps.model.SeasonModel`
  (the time-integrated likelihood's, with the same default background energy smoothing,
  :func:`icecore.ps.model.default_energy_smoothing`; ``energy_smoothing="all"`` for SkyLLH's), for
  the events whose largest S/B exceeds 1e-3.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import as_degrees, check_positive, check_threads, rng_from_seed
from ..errors import InputError
from ..stats import BackgroundTS
from .dataset import PublicData, Season
from .model import SeasonModel, true_energy_weights

__all__ = ["GAMMA_STEP", "SCRAMBLES", "FlareSample", "FlareResult", "FlareSearch", "background_energy_pdf",
           "flare_gammas", "cone_ra_scramble", "cone_spatial", "cone_uniform", "flare_sample", "inject_flare_events",
           "merge_samples"]

GAMMA_STEP = 0.05
"""Step of the gamma grid of the per-event S/B tables."""

X_MIN = 1e-3
"""Full-sky samples: events whose largest S/B over the gamma grid is below this are not stored."""

KINDS = ("gauss", "box", "none")
SCRAMBLES = ("time", "time+ra", "resample")


@dataclass
class FlareSample:
    """The kernel input of one source in one season.

    Attributes
    ----------
    season : str
    t_mjd : (n,) array
        Event times [MJD].
    x : (n_gamma, n) array
        Time-independent S/B ratio of each stored event on ``gamma_grid``.
    gamma_grid : (n_gamma,) array
    n_total : int
        All events of the sample (stored or not).
    runs : (n_runs, 2) array
        Sorted, disjoint good runs [MJD].
    x_energy : (n_gamma, n) array or None
        Partial-sky samples: ``x`` without the spatial signal PDF, ``x = x_energy * S_spatial``
        (used by the RA-scrambled trials).
    """

    season: str
    t_mjd: np.ndarray
    x: np.ndarray
    gamma_grid: np.ndarray
    n_total: int
    runs: np.ndarray
    x_energy: np.ndarray | None = None


@dataclass
class FlareResult:
    """Best-fit flare (or fixed-window fit).

    ``mean_mjd``/``sigma_days`` for a Gaussian, ``start_mjd``/``stop_mjd`` for a box (the other pair
    NaN); ``ts`` includes the flare-length term, ``two_log_lambda`` does not.
    """

    kind: str
    season: str
    ts: float
    ns: float
    gamma: float
    mean_mjd: float
    sigma_days: float
    start_mjd: float
    stop_mjd: float
    two_log_lambda: float
    status: int
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _merge_runs(runs: np.ndarray) -> np.ndarray:
    r = np.asarray(runs, dtype=np.float64)
    r = r[np.argsort(r[:, 0], kind="stable")]
    out: list[list[float]] = []
    for a, b in r:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([float(a), float(b)])
    return np.array(out)


def _angular_distance(ra1: np.ndarray, dec1: np.ndarray, ra0: float, dec0: float) -> np.ndarray:
    c = np.sin(dec1) * math.sin(dec0) + np.cos(dec1) * math.cos(dec0) * np.cos(ra1 - ra0)
    return np.arccos(np.clip(c, -1.0, 1.0))


def _rayleigh(psi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    fac = np.where(psi > 1e-8, psi / np.sin(np.maximum(psi, 1e-8)), 1.0)
    return np.exp(-0.5 * (psi / sigma) ** 2) / (2.0 * np.pi * sigma**2) * fac


def background_energy_pdf(log10_e: np.ndarray, rounding: float = 0.0) -> Any:
    """Gaussian KDE of log10 E values (Scott's bandwidth, widened in quadrature by rounding / sqrt(12))."""
    from scipy.stats import gaussian_kde

    v = np.asarray(log10_e, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 10:
        raise InputError(f"argument 'background_log10_e': need >= 10 finite values, got {v.size}",
                         "background_log10_e")
    kde = gaussian_kde(v)
    if rounding > 0:
        sd = float(np.std(v, ddof=1))
        bw = math.sqrt(float(kde.factor) ** 2 + (rounding / math.sqrt(12.0) / sd) ** 2)
        kde = gaussian_kde(v, bw_method=bw)
    return kde


def cone_spatial(season: Season, ra_rad: np.ndarray, ra_deg: float, dec_deg: float) -> np.ndarray:
    """S_spatial x Omega_cone of the season's events with right ascensions ``ra_rad`` [rad] (partial sky)."""
    assert season.region is not None
    omega = 2.0 * math.pi * (1.0 - math.cos(math.radians(season.region[2])))
    psi = _angular_distance(ra_rad, np.radians(season.dec_deg), math.radians(ra_deg), math.radians(dec_deg))
    return np.asarray(_rayleigh(psi, np.radians(season.angerr_deg)) * omega)


def cone_ra_scramble(season: Season, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` sets of right ascensions [rad], each event's drawn uniformly on its declination circle in the cone."""
    assert season.region is not None
    ra0, dec0, r = (math.radians(v) for v in season.region)
    dec = np.radians(season.dec_deg)
    c = (math.cos(r) - np.sin(dec) * math.sin(dec0)) / np.maximum(np.cos(dec) * math.cos(dec0), 1e-300)
    half = np.arccos(np.clip(c, -1.0, 1.0))  # half-width of the chord in RA
    return np.asarray(ra0 + half[None, :] * rng.uniform(-1.0, 1.0, size=(size, len(dec))))


class _ConeRatio:
    """S/B of events in a partial-sky release's cone (see the module notes), for any event columns."""

    def __init__(self, season: Season, ra_deg: float, dec_deg: float, gammas: np.ndarray,
                 background_log10_e: np.ndarray | None, background_rounding: float) -> None:
        assert season.region is not None
        self.season, self.ra, self.dec = season, ra_deg, dec_deg
        self.omega = 2.0 * math.pi * (1.0 - math.cos(math.radians(season.region[2])))
        src = season.log10_e if background_log10_e is None else background_log10_e
        self.kde = background_energy_pdf(src, background_rounding)
        sm = season.smearing
        dens, lo, hi = sm.reco_energy_pdf(sm.dec_index(dec_deg))  # (n_t, n_r) per unit log10 E
        p = true_energy_weights(season.aeff, sm, dec_deg, gammas)  # (G, n_t)
        self.s_e_bins = p @ dens  # (G, n_r)
        self.edges = np.append(lo[0], hi[0, -1])

    def x_energy(self, log10_e: np.ndarray) -> np.ndarray:
        b_e = self.kde(log10_e)
        k = np.searchsorted(self.edges, log10_e, side="right") - 1
        inside = (k >= 0) & (k < len(self.edges) - 1)
        s_e = np.zeros((self.s_e_bins.shape[0], len(log10_e)))
        s_e[:, inside] = self.s_e_bins[:, k[inside]]
        return np.ascontiguousarray(s_e / np.maximum(b_e, 1e-300)[None, :])

    def spatial(self, ra_rad: np.ndarray, dec_rad: np.ndarray, angerr_deg: np.ndarray) -> np.ndarray:
        psi = _angular_distance(ra_rad, dec_rad, math.radians(self.ra), math.radians(self.dec))
        return np.asarray(_rayleigh(psi, np.radians(angerr_deg)) * self.omega)


def _region_x(season: Season, ra_deg: float, dec_deg: float, gammas: np.ndarray,
              background_log10_e: np.ndarray | None = None,
              background_rounding: float = 0.0) -> tuple[np.ndarray, np.ndarray, _ConeRatio]:
    c = _ConeRatio(season, ra_deg, dec_deg, gammas, background_log10_e, background_rounding)
    x_e = c.x_energy(season.log10_e)
    s_sp = c.spatial(np.radians(season.ra_deg), np.radians(season.dec_deg), season.angerr_deg)
    return np.asarray(s_sp[None, :] * x_e), x_e, c


def cone_uniform(region: tuple[float, float, float], rng: np.random.Generator, n: int) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """``n`` directions uniform in the cone ``region`` = (ra, dec, radius) [deg]; returns (ra, dec) [rad]."""
    ra0, dec0, r = (math.radians(v) for v in region)
    cpsi = rng.uniform(math.cos(r), 1.0, n)
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    spsi = np.sqrt(1.0 - cpsi**2)
    sd = math.sin(dec0) * cpsi + math.cos(dec0) * spsi * np.cos(phi)
    dec = np.arcsin(np.clip(sd, -1.0, 1.0))
    ra = ra0 + np.arctan2(spsi * np.sin(phi), math.cos(dec0) * cpsi - math.sin(dec0) * spsi * np.cos(phi))
    return ra, dec


def _fullsky_x(season: Season, ra_deg: float, dec_deg: float, gammas: np.ndarray, m: SeasonModel,
               event_ra_deg: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sin(np.radians(season.dec_deg))
    era = season.ra_deg if event_ra_deg is None else event_ra_deg
    psi = _angular_distance(np.radians(era), np.radians(season.dec_deg), math.radians(ra_deg),
                            math.radians(dec_deg))
    sig = np.radians(season.angerr_deg)
    near = psi < 8.0 * sig
    idx = np.flatnonzero(near)
    s_sp = _rayleigh(psi[idx], sig[idx])
    inv_b = m.inv_bkg(season.log10_e[idx], sd[idx])
    table = m.signal_energy_table(dec_deg)  # (G, n_e) on the padded fine grid
    ebin, efrac = m.energy_index(season.log10_e[idx])
    s_e = table[:, ebin] * (1.0 - efrac) + table[:, np.minimum(ebin + 1, table.shape[1] - 1)] * efrac
    s_e[:, ebin == 0] = 0.0
    x = s_sp[None, :] * s_e * inv_b[None, :]
    keep = x.max(axis=0) > X_MIN
    return x[:, keep], idx[keep]


def flare_gammas(gamma_range: tuple[float, float]) -> np.ndarray:
    """The gamma grid of the S/B tables for a fit range: step :data:`GAMMA_STEP` from its low end.

    Raises
    ------
    InputError
        Unless ``gamma_range`` is (low, high) with low < high.
    """
    g0, g1 = float(gamma_range[0]), float(gamma_range[1])
    if not (g1 > g0):
        raise InputError(f"argument 'gamma_range': expected (low, high) with low < high, got {gamma_range}",
                         "gamma_range")
    n_g = int(math.ceil(round((g1 - g0) / GAMMA_STEP, 9))) + 1
    return g0 + GAMMA_STEP * np.arange(n_g)


def flare_sample(season: Season, ra_deg: float, dec_deg: float, gamma_range: tuple[float, float] = (1.0, 4.0), *,
                 background_log10_e: np.ndarray | None = None, background_rounding: float = 0.0,
                 energy_smoothing: str | None = None, model: SeasonModel | None = None) -> FlareSample:
    """Build the kernel input of one season for a source at (ra_deg, dec_deg) [deg] (see the module notes).

    ``background_log10_e`` (partial-sky samples only): the log10(E/GeV) values whose density is the
    background energy PDF (default: the season's own events); ``background_rounding``: their
    rounding step (0.1 for the IC86-2011 release). ``energy_smoothing`` (full-sky samples): the
    background energy smoothing of :class:`icecore.ps.model.SeasonModel` (None: its default,
    "sparse"); ``model``: a season model already built for this season on :func:`flare_gammas`
    of ``gamma_range`` (then ``energy_smoothing`` is the model's).
    """
    gammas = flare_gammas(gamma_range)
    x_e = None
    if season.region is not None:
        x, x_e, _ = _region_x(season, ra_deg, dec_deg, gammas, background_log10_e, background_rounding)
        t = season.mjd
    else:
        if background_log10_e is not None:
            raise InputError("argument 'background_log10_e': only for partial-sky samples (full-sky samples "
                             "use their own background PDFs)", "background_log10_e")
        if model is None:
            model = SeasonModel(season, gammas, energy_smoothing=energy_smoothing)
        elif model.season is not season or not np.array_equal(model.gamma_grid, gammas):
            raise InputError("argument 'model': built for another season or gamma grid", "model")
        x, idx = _fullsky_x(season, ra_deg, dec_deg, gammas, model)
        t = season.mjd[idx]
    return FlareSample(season.name, np.ascontiguousarray(t, dtype=np.float64), np.ascontiguousarray(x), gammas,
                       len(season), _merge_runs(season.uptime_mjd), x_e)


def merge_samples(samples: list[FlareSample], *, rate_tolerance: float = 0.1) -> FlareSample:
    """One flare sample from several seasons' (full-sky) samples at the same source: a flare search over all.

    The kernel's background time PDF is uniform in live time, which is right for the union only when
    every season has the same background rate (events per live day): checked, within
    ``rate_tolerance`` of the mean, else :class:`InputError`. The signal time PDF treats the
    acceptance per live day as equal in every season (an approximation where they differ).
    """
    if not samples:
        raise InputError("argument 'samples': need at least one sample", "samples")
    g = samples[0].gamma_grid
    rates = []
    for sm in samples:
        if sm.x_energy is not None:
            raise InputError("argument 'samples': partial-sky samples cannot be merged", "samples")
        if len(sm.gamma_grid) != len(g) or not np.allclose(sm.gamma_grid, g):
            raise InputError("argument 'samples': different gamma grids", "samples")
        rates.append(sm.n_total / float(np.sum(sm.runs[:, 1] - sm.runs[:, 0])))
    r = np.array(rates)
    if np.any(np.abs(r / r.mean() - 1.0) > rate_tolerance):
        raise InputError(f"argument 'samples': background rates differ by more than {rate_tolerance:.0%} "
                         f"({np.round(r, 2).tolist()} events/day); search the seasons one at a time", "samples")
    return FlareSample("+".join(sm.season for sm in samples),
                       np.ascontiguousarray(np.concatenate([sm.t_mjd for sm in samples])),
                       np.ascontiguousarray(np.concatenate([sm.x for sm in samples], axis=1)), g,
                       int(sum(sm.n_total for sm in samples)), _merge_runs(np.vstack([sm.runs for sm in samples])))


def inject_flare_events(path: Any, season: str, ra_deg: float, dec_deg: float, n: int, *, gamma: float = 2.0,
                        mean_mjd: float, sigma_days: float, seed: Any = None) -> int:
    """Add ``n`` **simulated** signal events of a Gaussian flare to a 10-year-layout release folder.

    For simulated datasets (e.g. :func:`icecore.ps.simulate_public_data`): directions, AngErr and
    energies drawn from the season's own IRFs (:meth:`icecore.ps.model.SeasonModel.sample_signal`),
    times from N(mean_mjd, sigma_days) restricted to the good runs, azimuth from the sidereal
    time (zenith = 90 deg + dec, the detector at the pole). The season's events file is rewritten
    (atomically), sorted by time. Returns the number of events added.
    """
    from .io import EVENT_COLUMNS, load_public_data, read_table, write_table

    n = int(check_positive(n, "n", integer=True))
    check_positive(sigma_days, "sigma_days")
    rng = rng_from_seed(seed)
    s = load_public_data(path, seasons=[season])[season]
    runs = _merge_runs(s.uptime_mjd)
    lo, hi = mean_mjd - 3 * sigma_days, mean_mjd + 3 * sigma_days
    live = np.clip(np.minimum(runs[:, 1], hi) - np.maximum(runs[:, 0], lo), 0, None)
    if live.sum() < 1e-3 * sigma_days:
        raise InputError("argument 'mean_mjd': the flare (+-3 sigma) holds almost no live time of the season",
                         "mean_mjd")
    t: list[float] = []
    while len(t) < n:  # rejection: keep the times inside a good run
        c = rng.normal(mean_mjd, sigma_days, size=4 * n)
        k = np.searchsorted(runs[:, 0], c, side="right") - 1
        t.extend(c[(k >= 0) & (c <= runs[np.maximum(k, 0), 1])].tolist())
    ev = SeasonModel(s, np.array([gamma - 0.5, gamma, gamma + 0.5])).sample_signal(rng, n, ra_deg, dec_deg, gamma)
    mjd = np.array(t[:n])
    gmst = 280.46061837 + 360.98564736629 * (mjd - 51544.5)
    az = np.mod(gmst - 63.453056 - ev["ra_deg"] + 90.0, 360.0)
    f = Path(path) / "events" / f"{season}_exp.csv"
    old = read_table(f, EVENT_COLUMNS)
    new = np.column_stack([mjd, ev["log10_e"], ev["angerr_deg"], ev["ra_deg"], ev["dec_deg"], az,
                           90.0 + ev["dec_deg"]])
    table = np.vstack([old, new])
    write_table(f, EVENT_COLUMNS, table[np.argsort(table[:, 0], kind="stable")],
                ["%.8f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f"])
    return n


class FlareSearch:
    """Time-dependent point-source search at one position in one season.

    Parameters
    ----------
    data : PublicData or Season
        Loaded data (e.g. :func:`icecore.ps.releases.load_release`).
    ra, dec : float or astropy Quantity
        Source position [deg].
    season : str, optional
        Which season of ``data`` (required when it holds several): as the published analyses, the
        search runs on one sample at a time; ``"all"``: one search over every (full-sky) season
        together (:func:`merge_samples`: equal background rates required).
    gamma_range : (float, float)
        Fit range of the spectral index.
    sigma_range_days : (float, float or None)
        Range of the Gaussian width [days]; None: a quarter of the season's span.
    box_min_days : float
        Shortest box [days].
    n_seed : int
        Candidate flare times: the times of the ``n_seed`` most signal-like events (S/B at gamma 2 > 1).
    threads : int or None
        Worker threads for trials (None = all cores).
    background_log10_e : array, optional
        Partial-sky releases: log10(E/GeV) of a wider sample whose density is the background energy
        PDF (default: the season's own events); ``background_rounding`` their rounding step.
    background_events : (log10_e, angerr_deg) arrays, optional
        Partial-sky releases: the wider sample's events for ``scramble="resample"`` trials (sets
        ``background_log10_e`` to its log10 E when that is not given).
    energy_smoothing : {"sparse", "all"} or None
        Full-sky samples: smoothing of the data-built background energy PDF, as for
        :class:`icecore.ps.PointSourceAnalysis` (None: the shared default "sparse",
        :func:`icecore.ps.model.default_energy_smoothing`; "all": SkyLLH's).
    """

    def __init__(self, data: PublicData | Season, ra: Any, dec: Any, *, season: str | None = None,
                 gamma_range: tuple[float, float] = (1.0, 4.0), ns_max: float = 1000.0,
                 sigma_range_days: tuple[float, float | None] = (1.0, None), box_min_days: float = 0.0,
                 n_seed: int = 60, n_sigma: int = 30, threads: int | None = None,
                 background_log10_e: Any = None, background_rounding: float = 0.0,
                 background_events: tuple[Any, Any] | None = None, energy_smoothing: str | None = None) -> None:
        from .. import _core

        self._pool: tuple[np.ndarray, np.ndarray] | None = None
        self._time_only = False  # True for a search from on_events()
        if background_events is not None:
            le, ae = (np.asarray(v, dtype=np.float64) for v in background_events)
            if le.shape != ae.shape or le.ndim != 1 or le.size < 10:
                raise InputError("argument 'background_events': need two 1-d arrays of one length >= 10",
                                 "background_events")
            self._pool = (le, ae)
            if background_log10_e is None:
                background_log10_e = le
        self._rounding = float(background_rounding)

        self.ra = float(as_degrees(ra, "ra", ndim=0)) % 360.0
        self.dec = float(as_degrees(dec, "dec", ndim=0))
        if not -90.0 <= self.dec <= 90.0:
            raise InputError(f"argument 'dec': must be in [-90, 90] deg, got {self.dec}", "dec")
        merged = season == "all" and not isinstance(data, Season)
        if isinstance(data, Season):
            s = data
        elif merged:
            s = data.seasons[0]
        else:
            if season is None:
                if len(data) != 1:
                    raise InputError(f"argument 'season': data holds {data.names}; choose one", "season")
                s = data.seasons[0]
            else:
                s = data[season]
        check_positive(ns_max, "ns_max")
        check_positive(sigma_range_days[0], "sigma_range_days")
        check_positive(n_seed, "n_seed", integer=True)
        self.season = s
        self.threads = check_threads(threads)
        bkg_e = None if background_log10_e is None else np.asarray(background_log10_e, dtype=np.float64)
        if energy_smoothing is not None and s.region is not None:
            raise InputError("argument 'energy_smoothing': only for full-sky samples (partial-sky samples use a "
                             "kernel density estimate)", "energy_smoothing")
        self._model: SeasonModel | None = None
        if merged:
            assert isinstance(data, PublicData)
            self.sample = merge_samples([flare_sample(x, self.ra, self.dec, gamma_range,
                                                      energy_smoothing=energy_smoothing) for x in data.seasons])
        else:
            if s.region is None:
                self._model = SeasonModel(s, flare_gammas(gamma_range), energy_smoothing=energy_smoothing)
            self.sample = flare_sample(s, self.ra, self.dec, gamma_range, background_log10_e=bkg_e,
                                       background_rounding=float(background_rounding), model=self._model)
        self.name = self.sample.season
        self._merged = merged
        self._cone = None if merged or s.region is None else _ConeRatio(s, self.ra, self.dec, self.sample.gamma_grid,
                                                                       bkg_e, float(background_rounding))
        smax = sigma_range_days[1]
        st = _core.ps.FlareSettings(gamma_min=float(gamma_range[0]), gamma_max=float(gamma_range[1]),
                                    ns_max=float(ns_max), sigma_min=float(sigma_range_days[0]),
                                    sigma_max=0.0 if smax is None else float(smax), n_sigma=int(n_sigma),
                                    n_seed=int(n_seed), n_refine=3, box_min=float(box_min_days))
        self._settings = st
        self._kernel = self._make_kernel(self.sample.x)
        self._kernel_e: Any = None  # the energy-only table, for RA-scrambled trials (built when first used)

    @property
    def season_model(self) -> SeasonModel | None:
        """The likelihood model (background and signal PDFs) of a full-sky single-season search, else None."""
        return self._model

    def _make_kernel(self, x: np.ndarray, t: np.ndarray | None = None) -> Any:
        from .. import _core

        sm = self.sample
        return _core.ps.FlareModel(t=sm.t_mjd if t is None else t, x=x, gamma0=float(sm.gamma_grid[0]),
                                   dgamma=GAMMA_STEP,
                                   n_total=float(sm.n_total), run_start=np.ascontiguousarray(sm.runs[:, 0]),
                                   run_stop=np.ascontiguousarray(sm.runs[:, 1]), settings=self._settings)

    @property
    def livetime_days(self) -> float:
        """Sum of the season's (merged) good runs [days]."""
        return float(self._kernel.livetime)

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise InputError(f"argument 'kind': must be one of {KINDS}, got {kind!r}", "kind")

    def _result(self, kind: str, r: np.ndarray) -> FlareResult:
        a, b = float(r["t_a"]), float(r["t_b"])
        nan = float("nan")
        g = (a, b, nan, nan) if kind == "gauss" else (nan, nan, a, b) if kind == "box" else (nan,) * 4
        return FlareResult(kind, self.name, float(r["ts"]), float(r["ns"]), float(r["gamma"]), *g,
                           float(r["log_lambda"]), int(r["status"]))

    def fit(self, kind: str = "gauss") -> FlareResult:
        """The global best flare of ``kind`` ("gauss", "box"; "none" = time-integrated)."""
        self._check_kind(kind)
        return self._result(kind, self._kernel.fit(kind)[0])

    def fit_time_integrated(self) -> FlareResult:
        """ns and gamma without a time PDF (the time-integrated fit on this sample)."""
        return self.fit("none")

    def fit_window(self, start_mjd: float, stop_mjd: float) -> FlareResult:
        """ns and gamma with a fixed box window [start, stop] [MJD] (e.g. +-500 s around an alert)."""
        if not stop_mjd > start_mjd:
            raise InputError("argument 'stop_mjd': must be after start_mjd", "stop_mjd")
        if self._kernel.live_between(start_mjd, stop_mjd) <= 0:
            raise InputError("the window holds no live time", "start_mjd")
        return self._result("box", self._kernel.fit_fixed("box", float(start_mjd), float(stop_mjd))[0])

    def fit_gaussian(self, mean_mjd: float, sigma_days: float) -> FlareResult:
        """ns and gamma with a fixed Gaussian time PDF."""
        check_positive(sigma_days, "sigma_days")
        return self._result("gauss", self._kernel.fit_fixed("gauss", float(mean_mjd), float(sigma_days))[0])

    def log_lambda(self, kind: str, a: float, b: float, ns: float, gamma: float) -> float:
        """log Lambda at fixed (ns, gamma) and time-PDF parameters (a, b) with the recorded times."""
        self._check_kind(kind)
        return float(self._kernel.log_lambda(kind, float(a), float(b), float(ns), float(gamma)))

    def trials(self, n: int, kind: str = "gauss", *, seed: Any = None, threads: int | None = None,
               window: tuple[float, float] | None = None, scramble: str = "time") -> np.ndarray:
        """``n`` background trials: the kernel's structured results.

        ``scramble="time"``: times drawn uniformly in live time, directions kept;
        ``scramble="time+ra"``: also a new right ascension per event -- partial-sky releases:
        uniform on its declination circle inside the cone (see the module notes); full-sky seasons:
        uniform in [0, 360) deg, the S/B near the source rebuilt per trial (the usual scramble);
        ``scramble="resample"``: see the module notes. With ``window``
        the time PDF is fixed (box start/stop, or Gaussian mean/width for ``kind="gauss"``) instead
        of searched. Same seed, same results, whatever the thread count.
        """
        self._check_kind(kind)
        if scramble not in SCRAMBLES:
            raise InputError(f"argument 'scramble': must be one of {SCRAMBLES}, got {scramble!r}", "scramble")
        n = int(check_positive(n, "n", integer=True))
        thr = self.threads if threads is None else check_threads(threads)
        rng = rng_from_seed(seed)
        seeds = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
        w = None if window is None else (float(window[0]), float(window[1]))
        if scramble == "time":
            return np.asarray(self._kernel.trials(kind, seeds, thr, w))
        if self._time_only:
            raise InputError(f"argument 'scramble': a search from on_events() has only 'time' trials, got {scramble!r}",
                             "scramble")
        if scramble == "resample":
            return self._resampled_trials(kind, seeds, rng, thr, w)
        if self._merged:
            raise InputError("argument 'scramble': 'time+ra' is not available for merged seasons", "scramble")
        if self.season.region is None:
            return self._fullsky_ra_trials(kind, seeds, rng, thr, w)
        if self._kernel_e is None:
            assert self.sample.x_energy is not None  # partial-sky samples carry it
            self._kernel_e = self._make_kernel(self.sample.x_energy)
        ra = cone_ra_scramble(self.season, rng, n)
        sp = np.ascontiguousarray(cone_spatial(self.season, ra, self.ra, self.dec))
        return np.asarray(self._kernel_e.trials_spatial(kind, seeds, sp, thr, w))

    def _fullsky_ra_trials(self, kind: str, seeds: np.ndarray, rng: np.random.Generator, threads: int,
                           window: tuple[float, float] | None) -> np.ndarray:
        """Full-sky sample: every event's right ascension drawn uniformly, S/B rebuilt near the source."""
        from concurrent.futures import ThreadPoolExecutor

        s = self.season
        model = self._model
        assert model is not None  # built in __init__ for every full-sky single-season search
        ras = [rng.uniform(0.0, 360.0, len(s)) for _ in range(len(seeds))]

        def one(k: int) -> np.ndarray:
            x, idx = _fullsky_x(s, self.ra, self.dec, self.sample.gamma_grid, model, ras[k])
            m = self._make_kernel(np.ascontiguousarray(x), np.ascontiguousarray(s.mjd[idx]))
            return np.asarray(m.trials(kind, seeds[k:k + 1], 1, window))

        n_thr = max(1, min(len(seeds), threads if threads > 0 else (os.cpu_count() or 1)))
        with ThreadPoolExecutor(max_workers=n_thr) as ex:
            return np.concatenate(list(ex.map(one, range(len(seeds)))))

    def _resampled_trials(self, kind: str, seeds: np.ndarray, rng: np.random.Generator, threads: int,
                          window: tuple[float, float] | None) -> np.ndarray:
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None or self._cone is None or self.season.region is None:
            raise InputError("argument 'scramble': 'resample' needs a partial-sky release and background_events",
                             "scramble")
        pool_e, pool_a = self._pool
        region = self.season.region
        cone = self._cone
        m = len(self.season)
        children = np.random.SeedSequence(int(rng.integers(0, 2**63))).spawn(len(seeds))
        step = self._rounding

        def one(k: int) -> np.ndarray:
            r = np.random.default_rng(children[k])
            j = r.integers(0, len(pool_e), m)
            le = pool_e[j] + step * (r.random(m) - 0.5)
            ae = np.maximum(pool_a[j] + step * (r.random(m) - 0.5), 0.03)
            ra, dec = cone_uniform(region, r, m)
            x = np.ascontiguousarray(cone.x_energy(le) * cone.spatial(ra, dec, ae)[None, :])
            return np.asarray(self._make_kernel(x).trials(kind, seeds[k:k + 1], 1, window))

        n_thr = max(1, min(len(seeds), threads if threads > 0 else (os.cpu_count() or 1)))
        with ThreadPoolExecutor(max_workers=n_thr) as ex:
            parts = list(ex.map(one, range(len(seeds))))
        return np.concatenate(parts)

    def background(self, n: int = 1000, kind: str = "gauss", *, seed: Any = None, threads: int | None = None,
                   batch: int = 500, window: tuple[float, float] | None = None,
                   scramble: str = "time") -> BackgroundTS:
        """Background TS distribution from ``n`` scrambled trials (see :meth:`trials`), in bounded memory."""
        bg = BackgroundTS()
        rng = rng_from_seed(seed)
        done = 0
        while done < n:
            k = min(batch, n - done)
            bg.add(self.trials(k, kind, seed=rng, threads=threads, window=window, scramble=scramble)["ts"])
            done += k
        return bg

    def on_events(self, t_mjd: Any, x: Any) -> FlareSearch:
        """This search (season, position, settings) with other stored events of its sample.

        ``t_mjd`` (n,) [MJD] and ``x`` (n_gamma, n) on :attr:`sample` ``.gamma_grid`` replace the
        stored events. Events of the sample left out count with x = 0 -- as the kernel counts every
        event it does not store -- so adding x = 0 events changes no fit and no trial's TS
        distribution. The use: several searches of one season (a grid of positions) on one event
        list, so that one trial seed scrambles the same events identically in all of them (time
        scrambles; the returned search has no ``time+ra``/``resample`` trials).
        """
        import copy

        t = np.ascontiguousarray(np.asarray(t_mjd, dtype=np.float64))
        xx = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
        n_g = self.sample.gamma_grid.size
        if t.ndim != 1 or xx.shape != (n_g, t.size):
            raise InputError(f"argument 'x': expected shape ({n_g}, {t.size}) for {t.size} times, got {xx.shape}", "x")
        if t.size > self.sample.n_total:
            raise InputError(f"argument 't_mjd': {t.size} events > the sample's {self.sample.n_total}", "t_mjd")
        if not np.all(np.isfinite(t)):
            raise InputError("argument 't_mjd': must be finite (MJD)", "t_mjd")
        if not np.all(np.isfinite(xx)) or np.any(xx < 0):
            raise InputError("argument 'x': must be finite and >= 0 (signal over background ratios)", "x")
        new = copy.copy(self)
        new.sample = FlareSample(self.sample.season, t, xx, self.sample.gamma_grid, self.sample.n_total,
                                 self.sample.runs, None)
        new._kernel = new._make_kernel(xx, t)
        new._kernel_e = None
        new._pool = None
        new._cone = None
        new._time_only = True
        return new

    def unblind(self, kind: str = "gauss", background: BackgroundTS | None = None) -> FlareResult:
        """:meth:`fit`, with the p-value from ``background`` when given."""
        r = self.fit(kind)
        if background is not None:
            r.p_value = float(background.pvalue(r.ts))
        return r
