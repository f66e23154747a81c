"""A documented toy detector that writes synthetic data in the public-release layout.

The real releases cannot be downloaded here, so tests, benchmarks and examples run on data made
by :func:`simulate_public_data`. The toy detector is *not* IceCube; it only has the same
structure and plausible magnitudes.

Toy detector (per season, x = log10(E_nu / GeV), delta = true declination):

* **Event selection**: a smooth reconstructed-energy threshold, the efficiency
  ``eps(x_reco) = 3 t^2 - 2 t^3``, ``t = clip((x_reco - 2) / 0.6, 0, 1)``, applied alike to signal
  (through the IRFs below) and background. Without it the toy had a hard edge at log10 E = 2 in
  both: the soft-signal energy PDF peaked on the edge where the data-driven background PDF
  (3-bin running mean and cubic spline, as in SkyLLH) underestimates the background by up to
  1.7x, and background trials fitted ns ~ 17 at gamma ~ 3.8 with TS = 0 in only 15 % of
  trials (with the true background law in the likelihood: 64 %). Now (+5.7 deg, 2000 trials,
  gamma free in [1, 4]): median ns 2.2, TS = 0 in 35.8 +- 1.1 % with the default background
  energy PDF (smoothed only in sparse bins; smoothing every bin, as SkyLLH: 30.5 %; the PDFs built
  from 10^6 events of this background law: 38.7 %); -30 deg: TS = 0 in 62 %. The remaining
  distance from the 61-71 % seen on files of another generator is not a misdescription of the
  data (the background law itself gives 38.7 %) but this toy's physics: the likelihood's scores at
  hard and soft gamma are nearly independent here (TS = 0 in 72 % of trials with gamma fixed at 2,
  56 % at 4, and TS = 0 with gamma free needs both), so the fit finds an excess at some gamma
  more often.
* **Effective area** [cm^2], bins of 0.25 in x over [2, 9] and 2 deg in delta::

      A(x, delta) = c_season * 1e3 * 10^(x - 3) / (1 + 10^(0.8 (x - 4.5))) * t(x, delta) * P_sel(x)

  with an Earth-absorption factor ``exp(-10^(x - 6.5) * max(sin delta, 0))`` and, in the
  southern sky (delta < -5 deg), a muon-veto threshold ``1 / (1 + 10^(-2 (x - 4 - 1.5 sin|delta|)))``.
  ``c_season`` = 0.5 (IC40), 0.7 (IC59), 0.85 (IC79), 1 (IC86). All seasons share the same
  declination and energy shape. ``P_sel`` is the selected fraction of the reco-energy
  distribution of the smearing true-energy bin that contains x (``integral N(x_reco)
  eps(x_reco)`` over +-3 sigma), computed with the IC86 resolution for every season so that the
  seasons keep differing only by ``c_season``.
* **Smearing matrix**, true-energy bins of 0.5 in x over [2, 9], true-declination bins
  [-90, -10, 10, 90] deg. Reconstructed log energy ~ Normal(x_c - 0.3, sigma_E) x eps(x_reco),
  sigma_E^2 = s_season^2 + 0.5^2/12 (s_season = 0.45, 0.4, 0.35, 0.3 for IC40, IC59, IC79, IC86),
  10 bins over +-3 sigma clipped to [2, 9] (cell probabilities: the normal density times eps,
  integrated over the cell, renormalised). PSF (angle between true and reconstructed direction) 2-d Rayleigh
  with sigma_psf(E_reco) = max(0.2 deg, 1.2 deg * 10^(-0.5 (log E_reco - 3))) * k_season
  (k = 1.3, 1.15, 1.05, 1), 5 bins with edges sigma_psf * [0, 0.5, 1, 1.6, 2.5, 5]. AngErr
  log-normal with median sigma_psf and width 0.25 (natural log), 5 bins with edges
  sigma_psf * exp(0.25 * [-3, -1.5, -0.5, 0.5, 1.5, 3]). Fractional counts are the exact products
  of these (truncated) distributions; every parent bin's fractions sum to 1.
* **Background** (atmospheric-like, uniform in RA): sin(dec) density ∝ 0.8 + 0.4 tanh(5 (s + 0.1));
  log10(E_reco/GeV) = 1.8 + Gamma(2, 0.45) in the north, shifted up by 1.3 (-s - 0.1) in the south,
  kept with probability eps (the selection above), capped below 9; AngErr log-normal with median
  1.2 sigma_psf(E) and width 0.4, at least 0.2 deg.
* **Signal** (optional point sources): drawn from the tables above exactly as the analysis
  injects signal (:meth:`icecore.ps.model.SeasonModel.sample_signal`), so the events are consistent
  with the IRFs written beside them.
* **Uptime**: runs of 8 h with a 5 % gap, one year per season from the real season start dates;
  event times uniform within the runs. Azimuth/zenith are computed with an approximate sidereal
  time at the South Pole (zenith = 90 deg + dec); the analysis does not use them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from scipy import stats

from .._io import atomic_write
from .._validation import check_positive, rng_from_seed
from ..errors import InputError
from .flux import flux_to_mu
from .io import EVENT_COLUMNS, UPTIME_COLUMNS, irf_names, write_table
from .irf import EffectiveArea, SmearingMatrix
from .model import sample_signal

__all__ = ["simulate_public_data", "toy_effective_area", "toy_smearing", "selection_efficiency", "TOY_SEASONS_10Y",
           "TOY_SEASONS_14Y"]

log = logging.getLogger(__name__)

TOY_SEASONS_10Y = ("IC40", "IC59", "IC79", "IC86_I", "IC86_II", "IC86_III", "IC86_IV", "IC86_V", "IC86_VI",
                   "IC86_VII")
TOY_SEASONS_14Y = ("IC40", "IC59", "IC79") + tuple(f"IC86_{r}" for r in
                                                   ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"))
_START_MJD = {"IC40": 54562.0, "IC59": 54971.0, "IC79": 55347.0, "IC86_I": 55694.0}


def _config(season: str) -> str:
    return "IC86" if season.startswith("IC86") else season


_SCALE = {"IC40": 0.5, "IC59": 0.7, "IC79": 0.85, "IC86": 1.0}
_ERES = {"IC40": 0.45, "IC59": 0.4, "IC79": 0.35, "IC86": 0.3}
_PSF_K = {"IC40": 1.3, "IC59": 1.15, "IC79": 1.05, "IC86": 1.0}


def _start_mjd(season: str) -> float:
    if season in _START_MJD:
        return _START_MJD[season]
    roman = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
    try:
        k = roman.index(season.split("_", 1)[1])
    except (IndexError, ValueError):
        k = 0
    return 55694.0 + 365.25 * k


_SEL_LO, _SEL_WIDTH = 2.0, 0.6
"""Reco-energy selection threshold of the toy: efficiency rises smoothly from 0 at 2.0 to 1 at 2.6."""


def selection_efficiency(log_e_reco: np.ndarray) -> np.ndarray:
    """Toy event-selection efficiency at reconstructed log10(E/GeV) (smoothstep from 2.0 to 2.6)."""
    t = np.clip((np.asarray(log_e_reco, dtype=np.float64) - _SEL_LO) / _SEL_WIDTH, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _reco_cells(m: float, s_e: float, nr: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Reco-energy cell edges, normalised cell probabilities and selected fraction of one true bin.

    The density is Normal(m, s_e) x eps on [m - 3 s_e, m + 3 s_e] clipped to [2, 9], integrated
    per cell by a 64-point Gauss-Legendre rule; the selected fraction is relative to the
    untruncated +-3 sigma normal.
    """
    lo = max(2.0, m - 3 * s_e)
    hi = min(9.0, m + 3 * s_e)
    edges = np.round(np.linspace(lo, hi, nr + 1), 6)
    gx, gw = np.polynomial.legendre.leggauss(64)
    half = 0.5 * np.diff(edges)
    x = (edges[:-1] + half)[:, None] + half[:, None] * gx[None, :]
    p_r = (half[:, None] * gw[None, :] * stats.norm.pdf(x, m, s_e) * selection_efficiency(x)).sum(axis=1)
    full = stats.norm.cdf(3.0) - stats.norm.cdf(-3.0)
    passed = float(p_r.sum() / full)
    return edges, p_r / p_r.sum(), passed


def _pass_fraction(x: np.ndarray, cfg: str) -> np.ndarray:
    """Selected fraction P_sel of the smearing true-energy bin (0.5 wide from 2) containing x."""
    s_e = np.hypot(_ERES[cfg], 0.5 / np.sqrt(12.0))
    j = np.clip(np.floor((np.asarray(x) - 2.0) / 0.5), 0, 13).astype(int)
    table = np.array([_reco_cells(2.25 + 0.5 * k - 0.3, s_e, 10)[2] for k in range(14)])
    return table[j]


def _aeff_value(x: np.ndarray, dec_deg: np.ndarray, scale: float) -> np.ndarray:
    base = 1e3 * 10.0 ** (x - 3.0) / (1.0 + 10.0 ** (0.8 * (x - 4.5))) * _pass_fraction(x, "IC86")
    s = np.sin(np.radians(dec_deg))
    absorb = np.exp(-(10.0 ** (x - 6.5)) * np.maximum(s, 0.0))
    veto = np.where(dec_deg < -5.0, 1.0 / (1.0 + 10.0 ** (-2.0 * (x - 4.0 - 1.5 * np.abs(s)))), 1.0)
    return scale * base * absorb * veto


def toy_effective_area(season: str) -> EffectiveArea:
    """The toy effective area of a season (see module docstring)."""
    le = np.round(np.arange(2.0, 9.0 + 1e-9, 0.25), 2)
    de = np.arange(-90.0, 90.0 + 1e-9, 2.0)
    xc = 0.5 * (le[1:] + le[:-1])
    dc = 0.5 * (de[1:] + de[:-1])
    a = _aeff_value(xc[None, :], dc[:, None], _SCALE[_config(season)])
    return EffectiveArea(le, de, a)


def _sigma_psf(log_e: np.ndarray, k: float) -> np.ndarray:
    return np.maximum(0.2, 1.2 * 10.0 ** (-0.5 * (np.asarray(log_e) - 3.0))) * k


_PSI_EDGES = np.array([0.0, 0.5, 1.0, 1.6, 2.5, 5.0])
_ANG_EDGES = np.exp(0.25 * np.array([-3.0, -1.5, -0.5, 0.5, 1.5, 3.0]))


def toy_smearing(season: str) -> SmearingMatrix:
    """The toy smearing matrix of a season (see module docstring)."""
    cfg = _config(season)
    te = np.round(np.arange(2.0, 9.0 + 1e-9, 0.5), 2)
    td = np.array([-90.0, -10.0, 10.0, 90.0])
    nt, nd, nr, npsi, na = len(te) - 1, len(td) - 1, 10, 5, 5
    reco_lo = np.zeros((nt, nd, nr))
    reco_hi = np.zeros((nt, nd, nr))
    psi_lo = np.zeros((nt, nd, nr, npsi))
    psi_hi = np.zeros((nt, nd, nr, npsi))
    ang_lo = np.zeros((nt, nd, nr, npsi, na))
    ang_hi = np.zeros((nt, nd, nr, npsi, na))
    frac = np.zeros((nt, nd, nr, npsi, na))
    s_e = np.hypot(_ERES[cfg], 0.5 / np.sqrt(12.0))
    # Rayleigh and log-normal cell probabilities (truncated and renormalised)
    p_psi = np.diff(1.0 - np.exp(-0.5 * _PSI_EDGES**2))
    p_psi /= p_psi.sum()
    p_ang = np.diff(stats.norm.cdf(np.log(_ANG_EDGES) / 0.25))
    p_ang /= p_ang.sum()
    for j in range(nt):
        m = 0.5 * (te[j] + te[j + 1]) - 0.3
        edges, p_r, _ = _reco_cells(m, s_e, nr)
        centres = 0.5 * (edges[1:] + edges[:-1])
        sig = _sigma_psf(centres, _PSF_K[cfg])
        for d in range(nd):
            reco_lo[j, d] = edges[:-1]
            reco_hi[j, d] = edges[1:]
            pe = np.round(sig[:, None] * _PSI_EDGES[None, :], 6)
            psi_lo[j, d] = pe[:, :-1]
            psi_hi[j, d] = pe[:, 1:]
            ae = np.round(sig[:, None] * _ANG_EDGES[None, :], 6)
            ang_lo[j, d] = np.broadcast_to(ae[:, None, :-1], (nr, npsi, na))
            ang_hi[j, d] = np.broadcast_to(ae[:, None, 1:], (nr, npsi, na))
            frac[j, d] = p_r[:, None, None] * p_psi[None, :, None] * p_ang[None, None, :]
    return SmearingMatrix(te, td, reco_lo, reco_hi, psi_lo, psi_hi, ang_lo, ang_hi, frac)


def _uptime(season: str, days: float = 365.0) -> np.ndarray:
    start = _start_mjd(season)
    run = 8.0 / 24.0
    n = int(days / run)
    t0 = start + run * np.arange(n)
    return np.column_stack([t0, t0 + 0.95 * run])


def _background(rng: np.random.Generator, n: int, uptime: np.ndarray, cfg: str) -> np.ndarray:
    # sin(dec) by rejection from uniform
    out = np.empty(0)
    while len(out) < n:
        s = rng.uniform(-1.0, 1.0, size=2 * n)
        keep = rng.uniform(0.0, 1.2, size=2 * n) < 0.8 + 0.4 * np.tanh(5.0 * (s + 0.1))
        out = np.concatenate([out, s[keep]])
    s = out[:n]

    def draw(sd: np.ndarray) -> np.ndarray:
        return 1.8 + rng.gamma(2.0, 0.45, size=len(sd)) + 1.3 * np.maximum(-sd - 0.1, 0.0)

    log_e = draw(s)
    # the selection (kept with probability eps) and the cap, by redrawing the rejected events
    bad = (log_e >= 8.99) | (rng.random(n) >= selection_efficiency(log_e))
    while bad.any():
        log_e[bad] = draw(s[bad])
        bad[bad] = (log_e[bad] >= 8.99) | (rng.random(int(bad.sum())) >= selection_efficiency(log_e[bad]))
    ang = np.maximum(0.2, 1.2 * _sigma_psf(log_e, _PSF_K[cfg]) * np.exp(0.4 * rng.standard_normal(n)))
    ang = np.minimum(ang, 30.0)
    ra = rng.uniform(0.0, 360.0, size=n)
    dec = np.degrees(np.arcsin(s))
    t = _times(rng, n, uptime)
    return np.column_stack([t, log_e, ang, ra, dec])


def _times(rng: np.random.Generator, n: int, uptime: np.ndarray) -> np.ndarray:
    length = uptime[:, 1] - uptime[:, 0]
    k = rng.choice(len(uptime), size=n, p=length / length.sum())
    return uptime[k, 0] + rng.uniform(0.0, 1.0, size=n) * length[k]


def _local_coords(mjd: np.ndarray, ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approximate IceCube azimuth/zenith (deg): zenith = 90 + dec at the pole, azimuth from GMST."""
    gmst = 280.46061837 + 360.98564736629 * (mjd - 51544.5)
    lon = -63.453056  # IceCube longitude [deg]
    az = np.mod(gmst + lon - ra_deg + 90.0, 360.0)
    zen = 90.0 + dec_deg
    return az, zen


def simulate_public_data(
    out: str | os.PathLike[str],
    *,
    seasons: Sequence[str] = ("IC79", "IC86_I", "IC86_II"),
    n_events: int | Sequence[int] = 50_000,
    sources: Iterable[dict[str, Any]] = (),
    release: str = "10y",
    seed: Any = None,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic dataset in the public-release layout from the toy detector.

    Parameters
    ----------
    out : path-like
        Folder to create; ``events/``, ``uptime/`` and ``irfs/`` are written inside.
    seasons : sequence of str
        Season names (release naming: IC40, IC59, IC79, IC86_I, IC86_II ...).
    n_events : int or sequence of int
        Background events per season.
    sources : iterable of dict
        Point sources to inject, each ``{"ra": deg, "dec": deg, "n": mean events over all seasons,
        "gamma": index}``; the mean is shared among seasons by their acceptance, the count per
        season is Poisson. With ``"exact": True`` exactly ``n`` (an integer) events are written,
        shared among seasons multinomially by acceptance. The counts written per source and
        season are recorded in ``truth.json`` beside ``events/``.
    release : {"10y", "14y"}
        File naming: 10-year (IC86_II..VII share ``IC86_II_*`` IRFs) or 14-year (all IC86
        seasons share ``IC86_*`` IRFs).
    seed : int, Generator or None
        Random seed; the same seed writes the same files.
    overwrite : bool
        Allow writing into a folder that already holds ``events/``.

    Returns
    -------
    Path of ``out``.

    Notes
    -----
    Files are written atomically one by one. The toy detector is described in the module
    docstring of :mod:`icecore.ps.toy`.
    """
    names = _check_seasons(seasons, release)
    counts = _check_counts(n_events, len(names))
    srcs = _check_sources(sources)
    root = Path(out)
    if (root / "events").exists() and not overwrite:
        raise InputError(f"argument 'out': {root} already holds data (pass overwrite=True)", "out")
    rng = rng_from_seed(seed)

    irfs: dict[str, tuple[EffectiveArea, SmearingMatrix]] = {}
    ups: dict[str, np.ndarray] = {}
    for name in names:
        stem = irf_names(name, release)
        if stem not in irfs:
            irfs[stem] = (toy_effective_area(stem), toy_smearing(stem))
        ups[name] = _uptime(name)
    per_season_events: dict[str, list[np.ndarray]] = {s: [] for s in names}
    for name, nb in zip(names, counts):
        per_season_events[name].append(_background(rng, int(nb), ups[name], _config(name)))
    truth = []
    for src in srcs:
        season_irfs = [irfs[irf_names(name, release)] for name in names]
        written = {}
        for name, ev in zip(names, _source_events(rng, src, season_irfs, [ups[s] for s in names])):
            written[name] = 0 if ev is None else len(ev)
            if ev is not None:
                per_season_events[name].append(ev)
        truth.append({"ra": src[0], "dec": src[1], "n_mean": src[2], "gamma": src[3], "exact": src[4],
                      "n_written": int(sum(written.values())), "n_written_per_season": written})
    _write_release(root, irfs, ups, per_season_events)
    atomic_write(root / "truth.json", json.dumps({"generator": "icecore.ps.toy.simulate_public_data", "sources": truth,
                                                  "n_background_per_season": dict(zip(names, counts))},
                                                 indent=1))
    log.info("simulated %s seasons into %s", names, root)
    return root


def _check_seasons(seasons: Sequence[str] | str, release: str) -> list[str]:
    if release not in ("10y", "14y"):
        raise InputError(f"argument 'release': must be '10y' or '14y', got {release!r}", "release")
    names = [seasons] if isinstance(seasons, str) else list(seasons)
    if not names:
        raise InputError("argument 'seasons': is empty", "seasons")
    allowed = TOY_SEASONS_14Y if release == "14y" else TOY_SEASONS_10Y
    bad = [s for s in names if s not in allowed]
    if bad:
        raise InputError(f"argument 'seasons': {bad} are not seasons of the {release} release {allowed}", "seasons")
    return names


def _check_counts(n_events: int | Sequence[int], n_seasons: int) -> list[int]:
    if np.isscalar(n_events):
        counts = [cast(int, n_events)] * n_seasons
    else:
        counts = list(cast(Sequence[int], n_events))
    if len(counts) != n_seasons:
        raise InputError("argument 'n_events': needs one count per season", "n_events")
    for c in counts:
        check_positive(c, "n_events", integer=True)
    return [int(c) for c in counts]


def _check_sources(sources: Iterable[dict[str, Any]]) -> list[tuple[float, float, float, float, bool]]:
    """(ra mod 360, dec, n, gamma, exact) of each source, checked."""
    srcs = []
    for k, s in enumerate(sources):
        try:
            ra, dec, n, g = float(s["ra"]), float(s["dec"]), float(s["n"]), float(s.get("gamma", 2.0))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"argument 'sources': entry {k} needs numeric 'ra', 'dec', 'n' (and 'gamma')",
                             "sources") from None
        if not (-90 <= dec <= 90) or n < 0 or not np.isfinite(ra + dec + n + g):
            raise InputError(f"argument 'sources': entry {k} out of range ({s})", "sources")
        exact = bool(s.get("exact", False))
        if exact and n != int(n):
            raise InputError(f"argument 'sources': entry {k} has 'exact' with a non-integer n ({n})", "sources")
        srcs.append((ra % 360.0, dec, n, g, exact))
    return srcs


def _source_events(rng: np.random.Generator, src: tuple[float, float, float, float, bool],
                   irfs: list[tuple[EffectiveArea, SmearingMatrix]],
                   uptimes: list[np.ndarray]) -> list[np.ndarray | None]:
    """Per season: the events (t, log10 E, AngErr, RA, Dec) of one source, or None when it has none.

    The mean ``n`` is shared among seasons by their expected events for a unit flux; the count per
    season is Poisson, or (``exact``) the multinomial share of exactly ``n`` events.
    """
    ra, dec, n, g, exact = src
    mus = np.array([flux_to_mu(aeff, float(np.sum(np.diff(up, axis=1))) * 86400.0, dec, 1.0, g)
                    for (aeff, _), up in zip(irfs, uptimes)])
    shares = mus / mus.sum() if mus.sum() > 0 else np.full(len(irfs), 1.0 / len(irfs))
    out: list[np.ndarray | None] = []
    ks = rng.multinomial(int(n), shares) if exact else None
    for j, ((aeff, sm), up, share) in enumerate(zip(irfs, uptimes, shares)):
        k = int(ks[j]) if ks is not None else int(rng.poisson(n * share))
        if k == 0:
            out.append(None)
            continue
        ev = sample_signal(aeff, sm, rng, k, ra, dec, g)
        t = _times(rng, k, up)
        out.append(np.column_stack([t, ev["log10_e"], ev["angerr_deg"], ev["ra_deg"], ev["dec_deg"]]))
    return out


def _write_release(root: Path, irfs: dict[str, tuple[EffectiveArea, SmearingMatrix]], ups: dict[str, np.ndarray],
                   events: dict[str, list[np.ndarray]]) -> None:
    """Write the IRFs, events (sorted by time, with azimuth/zenith) and uptime files, each atomically."""
    root.mkdir(parents=True, exist_ok=True)
    for stem, (aeff, sm) in irfs.items():
        aeff.to_file(root / "irfs" / f"{stem}_effectiveArea.csv")
        sm.to_file(root / "irfs" / f"{stem}_smearing.csv")
    for name, parts in events.items():
        ev = np.concatenate(parts)
        ev = ev[np.argsort(ev[:, 0], kind="stable")]
        az, zen = _local_coords(ev[:, 0], ev[:, 3], ev[:, 4])
        table = np.column_stack([ev, az, zen])
        write_table(root / "events" / f"{name}_exp.csv", EVENT_COLUMNS, table,
                    ["%.8f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f", "%.4f"])
        write_table(root / "uptime" / f"{name}_exp.csv", UPTIME_COLUMNS, ups[name], ["%.8f", "%.8f"])
