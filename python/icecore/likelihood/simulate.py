"""A simple through-going muon simulator for testing the likelihood and the sky scan.

What it models
--------------
- An infinite straight muon track of energy ``energy_tev`` crossing IC86 from (zenith, azimuth),
  passing at ``impact_m`` from the detector centre (random in a disk if not given).
- Light yield per DOM: mean photoelectrons
  ``mu = Y * (dE/dx / 0.25 GeV/m) * A(cos eta) * exp(-L / lambda_e) / (L / 1 m)`` with L the
  Cherenkov photon path, ``dE/dx = a + b E`` (a = 0.25 GeV/m, b = 3.3e-4 /m, continuous losses),
  an angular acceptance A of the down-facing PMT and an effective attenuation lambda_e (m). The
  detected count is Poisson; charge is the sum of single-photoelectron charges (Gaussian 1 +- 0.3).
- First-photon time: the earliest of the n photons, each delayed after direct Cherenkov light by
  the Pandel distribution of the same ice model the likelihood uses (sampled exactly via the
  inverse of the gamma CDF of the minimum), plus Gaussian PMT jitter (``jitter_ns``).
- Noise: Poisson dark-rate pulses uniformly in the readout window at every DOM of the detector.
- ``mismatch=True`` adds effects the likelihood does not model: depth-dependent scattering and
  absorption (+-30 % with depth) with a dust layer (z in [-150, -50] m: scattering and
  absorption lengths x 0.4), and stochastic energy losses along the track (20 m segments whose
  light yield is multiplied by a log-normal factor plus occasional large showers).

What it does not model
----------------------
Photon propagation tables, the real depth profile of the ice, hole ice, DOM efficiencies,
saturation, the waveform/pulse-extraction chain (one pulse per photon cluster), the light and
timing geometry of showers (losses only scale the yield), muon energy loss along the track, the
event trigger and hit cleaning. It is a test bench for reconstructions, not a detector model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .._validation import as_degrees, check_positive, rng_from_seed
from ..errors import InputError
from .event import Event
from .geometry import DetectorGeometry, direction_vector, load_geometry
from .ice import DEFAULT_ICE, IceModel

__all__ = ["simulate_track"]

_YIELD = 60.0  # mean PE at a 1 m Cherenkov path for a 0.25 GeV/m muon (sets the hit multiplicity)
_LAMBDA_E = 33.0  # effective light attenuation (m)
_DUST = (-150.0, -50.0)


def _acceptance(cos_eta: np.ndarray) -> np.ndarray:
    return 0.35 + 0.65 * (1.0 + cos_eta) / 2.0


def simulate_track(
    energy_tev: float,
    zenith_deg: float,
    azimuth_deg: float,
    *,
    seed: Any = None,
    impact_m: Any = None,
    max_impact_m: float = 300.0,
    time_ns: float = 10_000.0,
    mjd: float | None = None,
    mismatch: bool = False,
    noise_rate_hz: float = 500.0,
    window_ns: float = 10_000.0,
    jitter_ns: float = 2.0,
    ice: IceModel | None = None,
    run_id: int = 0,
    event_id: int = 0,
    geometry: DetectorGeometry | None = None,
) -> Event:
    """Simulate the pulses of one through-going muon (see the module docstring for the model).

    Parameters
    ----------
    energy_tev : float
        Muon energy (TeV) inside the detector.
    zenith_deg, azimuth_deg : float
        Direction the muon comes from (IceCube convention), degrees.
    seed : int, Generator or None
        Random seed; same seed, same event.
    impact_m : (3,) array, optional
        Point of closest approach to the detector centre (m); drawn uniformly in a disk of
        radius ``max_impact_m`` transverse to the track when not given.
    time_ns : float
        Time the muon passes that point.
    mjd : float, optional
        Event time stored in the event.
    mismatch : bool
        Add depth-dependent ice with a dust layer and stochastic losses (not in the likelihood).
    noise_rate_hz, window_ns, jitter_ns : float
        Dark rate, readout window (starting 2 us before the muon passes ``impact``), PMT jitter.

    Returns
    -------
    Event with ``meta["truth"]`` = {zenith_deg, azimuth_deg, vertex [x, y, z, t], energy_tev,
    mismatch, n_hit_doms}.
    """
    e = check_positive(energy_tev, "energy_tev")
    zen = float(as_degrees(zenith_deg, "zenith_deg", ndim=0))
    azi = float(as_degrees(azimuth_deg, "azimuth_deg", ndim=0))
    if not 0 <= zen <= 180:
        raise InputError("argument 'zenith_deg': must be in [0, 180]", "zenith_deg")
    check_positive(max_impact_m, "max_impact_m", allow_zero=True)
    check_positive(noise_rate_hz, "noise_rate_hz", allow_zero=True)
    check_positive(window_ns, "window_ns")
    check_positive(jitter_ns, "jitter_ns", allow_zero=True)
    rng = rng_from_seed(seed)
    ice = DEFAULT_ICE if ice is None else ice
    geo = geometry or load_geometry()
    v = direction_vector(zen, azi)
    # transverse basis
    a = np.radians(azi)
    z = np.radians(zen)
    e1 = np.array([np.cos(z) * np.cos(a), np.cos(z) * np.sin(a), -np.sin(z)])
    e2 = np.array([-np.sin(a), np.cos(a), 0.0])
    if impact_m is None:
        r = max_impact_m * np.sqrt(rng.random())
        phi = 2 * np.pi * rng.random()
        q = r * (np.cos(phi) * e1 + np.sin(phi) * e2)
    else:
        q = np.asarray(impact_m, dtype=float)
        if q.shape != (3,) or not np.all(np.isfinite(q)):
            raise InputError("argument 'impact_m': expected 3 finite coordinates (m)", "impact_m")
    t0 = float(time_ns)

    pos = geo.positions
    p = pos - q
    along = p @ v
    perp = p - np.outer(along, v)
    d = np.sqrt(np.sum(perp * perp, axis=1) + 0.01)
    cos_c = 1.0 / ice.n_phase
    sin_c = np.sqrt(1 - cos_c * cos_c)
    k_perp = (ice.n_group / sin_c - cos_c / sin_c) / ice.c_m_per_ns
    t_geo = t0 + along / ice.c_m_per_ns + k_perp * d
    cos_eta = sin_c * perp[:, 2] / d + cos_c * v[2]
    path = d / sin_c
    emit_along = along - d * cos_c / sin_c  # emission point along the track

    dedx = 0.25 + 3.3e-4 * e * 1e3  # GeV/m
    yield_factor = np.full(pos.shape[0], dedx / 0.25)
    lam_e = np.full(pos.shape[0], _LAMBDA_E)
    lam_s = np.full(pos.shape[0], ice.scattering_m)
    if mismatch:
        zmid = 0.5 * (pos[:, 2] + (q[2] + emit_along * v[2]))
        depth_mod = 1.0 + 0.3 * np.sin(2 * np.pi * zmid / 350.0)
        dust = (zmid > _DUST[0]) & (zmid < _DUST[1])
        depth_mod = np.where(dust, 0.4, depth_mod)
        lam_e = lam_e * depth_mod
        lam_s = lam_s * depth_mod
        # stochastic losses: 20 m segments along the track
        seg = np.floor(emit_along / 20.0).astype(np.int64)
        lo = seg.min()
        nseg = int(seg.max() - lo + 1)
        fac = rng.lognormal(mean=-0.5 * 0.8**2, sigma=0.8, size=nseg)
        big = rng.random(nseg) < 0.05
        fac = fac + big * (rng.pareto(1.5, nseg) * 3.0)
        yield_factor = yield_factor * fac[seg - lo]
    mu = _YIELD * yield_factor * _acceptance(cos_eta) * np.exp(-path / lam_e) / np.maximum(path, 1.0)
    nphot = rng.poisson(mu)
    hit = nphot > 0
    idx = np.flatnonzero(hit)
    n = nphot[idx]
    deff = ice.effective_distance(path[idx], cos_eta[idx])
    shape = deff / lam_s[idx]
    rho: float | np.ndarray
    if mismatch:  # the absorption length scales with the local attenuation
        rho = 1.0 / ice.tau_ns + ice.c_m_per_ns / (ice.n_group * ice.absorption_m * (lam_e[idx] / _LAMBDA_E))
    else:
        rho = ice.rho
    u = rng.random(idx.size)
    p_min = -np.expm1(np.log1p(-u) / n)  # CDF value of the earliest of n photons
    p_min = np.clip(p_min, 1e-300, 1 - 1e-16)
    delay = special.gammaincinv(shape, p_min) / rho
    t_first = t_geo[idx] + delay + rng.normal(0.0, jitter_ns, idx.size) if jitter_ns > 0 else t_geo[idx] + delay
    charge = np.maximum(n + 0.3 * np.sqrt(n) * rng.standard_normal(idx.size), 0.25)

    # noise pulses everywhere in the window
    start = t0 - 2000.0
    nnoise = rng.poisson(noise_rate_hz * 1e-9 * window_ns, pos.shape[0])
    nidx = np.repeat(np.arange(pos.shape[0]), nnoise)
    ntime = start + window_ns * rng.random(nidx.size)
    ncharge = np.maximum(1.0 + 0.3 * rng.standard_normal(nidx.size), 0.25)

    rows = np.concatenate([idx, nidx])
    times = np.concatenate([t_first, ntime])
    charges = np.concatenate([charge, ncharge])
    order = np.lexsort((times, rows))
    rows, times, charges = rows[order], times[order], charges[order]
    truth = {
        "zenith_deg": zen,
        "azimuth_deg": azi,
        "vertex": [float(q[0]), float(q[1]), float(q[2]), t0],
        "energy_tev": float(e),
        "mismatch": bool(mismatch),
        "n_hit_doms": int(idx.size),
    }
    if rows.size == 0:
        raise InputError("the simulated muon produced no pulses (too far from the detector?)", "impact_m")
    return Event.from_arrays(
        geo.string[rows], geo.dom[rows], times, charges, run_id=run_id, event_id=event_id, mjd=mjd,
        meta={"truth": truth}, geometry=geo,
    )
