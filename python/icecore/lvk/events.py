"""Neutrino events for the LVK follow-up: the +-500 s window, background PDFs and a simulator.

Events are a numpy structured array of dtype :data:`EVENT_DTYPE` (degrees, MJD, log10 of the
reconstructed energy proxy in GeV). The background model is built from data *outside* the
window (here: the whole IC86-2011 point-source release, whose 138 322 events stand in for the
months of realtime data IceCube uses): the event rate, the spatial density in sin(dec) and the
energy-proxy distribution per sin(dec) band. The signal energy PDF comes from the release's
tabulated effective area A_eff(E_nu, cos zenith) times E^-gamma, smeared in log10 E by a
Gaussian of ``energy_resolution_dex`` (the public release gives no energy-response matrix; 0.5
dex is typical of muon-track energy proxies, a documented approximation).

:func:`simulate_window` draws a 1000 s window: N ~ Poisson(rate x 1000 s) real events with
scrambled RA and uniform times, plus injected signal events around a source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import rng_from_seed
from ..errors import DataFormatError, InputError

__all__ = [
    "EVENT_DTYPE",
    "EffectiveAreaTable",
    "EventSample",
    "BackgroundModel",
    "load_ic86_2011",
    "select_window",
    "simulate_window",
]

SECONDS_PER_DAY = 86400.0
INJECTED_RUN_ID = 999999  # run_id of injected (simulated) signal events

EVENT_DTYPE = np.dtype([
    ("time_mjd", "f8"), ("ra_deg", "f8"), ("dec_deg", "f8"), ("sigma_deg", "f8"), ("log10_e", "f8"),
    ("run_id", "i8"), ("event_id", "i8"),
])


def make_events(time_mjd: Any, ra_deg: Any, dec_deg: Any, sigma_deg: Any, log10_e: Any,
                run_id: Any = None, event_id: Any = None) -> np.ndarray:
    """Build an :data:`EVENT_DTYPE` array from columns (degrees, MJD, log10 GeV)."""
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=float))
    out = np.zeros(dec.size, dtype=EVENT_DTYPE)
    out["time_mjd"], out["ra_deg"], out["dec_deg"] = time_mjd, np.mod(ra_deg, 360.0), dec
    out["sigma_deg"], out["log10_e"] = sigma_deg, log10_e
    out["run_id"] = 0 if run_id is None else run_id
    out["event_id"] = np.arange(dec.size) if event_id is None else event_id
    if np.any(np.abs(out["dec_deg"]) > 90) or np.any(~(out["sigma_deg"] > 0)):
        raise InputError("events: dec must be in [-90, 90] deg and sigma > 0", "events")
    return out


@dataclass(frozen=True)
class EffectiveAreaTable:
    """A_eff(E_nu, cos zenith) [m^2] on energy bins [GeV] x cos-zenith bins (South Pole)."""

    e_lo: np.ndarray
    e_hi: np.ndarray
    cosz_lo: np.ndarray
    cosz_hi: np.ndarray
    aeff_m2: np.ndarray  # (n_e, n_cosz)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> EffectiveAreaTable:
        """Read the release's TabulatedAeff.txt (E_min, E_max, cosz_min, cosz_max, Aeff[m^2])."""
        t = np.loadtxt(path, comments="#")
        if t.ndim != 2 or t.shape[1] != 5:
            raise DataFormatError(f"{path}: expected 5 columns (E_min E_max cosz_min cosz_max Aeff)")
        e_lo, ie = np.unique(t[:, 0], return_inverse=True)
        c_lo, ic = np.unique(t[:, 2], return_inverse=True)
        a = np.zeros((e_lo.size, c_lo.size))
        a[ie, ic] = t[:, 4]
        e_hi = np.unique(t[:, 1])
        c_hi = np.unique(t[:, 3])
        return cls(e_lo, e_hi, c_lo, c_hi, a)

    def cosz_bin(self, dec_rad: Any) -> np.ndarray:
        """Index of the cos-zenith bin of declination(s) (cos zenith = -sin dec at the South Pole)."""
        cosz = -np.sin(np.asarray(dec_rad, dtype=float))
        return np.clip(np.searchsorted(self.cosz_lo, cosz, side="right") - 1, 0, self.cosz_lo.size - 1)

    def row_cm2(self, dec_rad: Any) -> np.ndarray:
        """A_eff [cm^2] per energy bin at declination(s): shape (..., n_e). cos zenith = -sin(dec)."""
        return self.aeff_m2[:, self.cosz_bin(dec_rad)].T * 1e4

    def band_integral(self, dec_rad: Any, gamma: float, e_range_gev: tuple[float, float] | None = None) -> np.ndarray:
        """Integral of A_eff(E) E^-gamma dE over the energy bins [cm^2 GeV^(1-gamma)], per declination.

        Computed once per cos-zenith bin of the table and looked up (memory O(n_bins), not O(n_dec x n_e)).
        """
        w = _powerlaw_bin_integrals(self.e_lo, self.e_hi, gamma, e_range_gev)
        per_bin = (self.aeff_m2.T * 1e4) @ w
        return per_bin[self.cosz_bin(dec_rad)]

    def energy_quantiles(self, dec_rad: Any, gamma: float, q: tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
        """Neutrino energies [GeV] bounding the central range of detected E^-gamma signal, per dec."""
        w = self.row_cm2(dec_rad) * _powerlaw_bin_integrals(self.e_lo, self.e_hi, gamma, None)
        w = np.atleast_2d(w)
        cum = np.cumsum(w, axis=1)
        cum /= cum[:, -1:]
        loge = np.concatenate([np.log10(self.e_lo[:1]), np.log10(self.e_hi)])
        out = np.empty((w.shape[0], len(q)))
        for j, qq in enumerate(q):
            for i in range(w.shape[0]):
                c = np.concatenate([[0.0], cum[i]])
                out[i, j] = 10 ** np.interp(qq, c, loge)
        return out


def _powerlaw_bin_integrals(e_lo: np.ndarray, e_hi: np.ndarray, gamma: float,
                            e_range: tuple[float, float] | None) -> np.ndarray:
    lo, hi = e_lo.astype(float), e_hi.astype(float)
    if e_range is not None:
        lo, hi = np.clip(lo, *e_range), np.clip(hi, *e_range)
    if abs(gamma - 1.0) < 1e-12:
        return np.log(hi / lo)
    return (hi ** (1 - gamma) - lo ** (1 - gamma)) / (1 - gamma)


@dataclass(frozen=True)
class EventSample:
    """Events of a public release plus its effective area and livetime [days]."""

    events: np.ndarray
    aeff: EffectiveAreaTable
    livetime_days: float
    name: str = ""

    @property
    def rate_hz(self) -> float:
        return self.events.size / (self.livetime_days * SECONDS_PER_DAY)


def load_ic86_2011(path: str | os.PathLike[str]) -> EventSample:
    """Load the IC86-2011 point-source release (up- and down-going events, TabulatedAeff.txt).

    The release rounds times to whole MJD; its livetime is estimated as the number of distinct
    MJD days with events (an approximation of the uptime, accurate to a few per cent).
    """
    root = Path(path)
    parts = []
    for name in ("upgoing_events.txt", "downgoing_events.txt"):
        f = root / name
        if not f.exists():
            raise DataFormatError(f"{root}: missing {name} (IC86-2011 point-source release)")
        t = np.loadtxt(f, skiprows=1)
        if t.ndim != 2 or t.shape[1] != 5:
            raise DataFormatError(f"{f}: expected 5 columns (MJD log10(E) ang_err RA Dec)")
        parts.append(t)
    t = np.concatenate(parts)
    ev = make_events(t[:, 0], t[:, 3], t[:, 4], np.maximum(t[:, 2], 0.2), t[:, 1],
                     run_id=0, event_id=np.arange(t.shape[0]))
    livetime = float(np.unique(np.floor(t[:, 0])).size)
    return EventSample(events=ev, aeff=EffectiveAreaTable.read(root / "TabulatedAeff.txt"),
                       livetime_days=livetime, name="IC86-2011")


class BackgroundModel:
    """Background rate and PDFs (spatial in sin dec, energy per sin-dec band) and the signal energy PDF.

    Parameters
    ----------
    sample : EventSample
        Events outside the search window (their RA is not used).
    n_sindec_bins : int
        sin(dec) bands of the spatial and energy PDFs (default 30).
    energy_resolution_dex : float
        Gaussian smearing of log10 E_nu into the energy proxy for the signal PDF (default 0.5).
    energy_bias_dex : float
        Shift of the proxy relative to log10 E_nu (default 0: the proxy stands for E_nu).
    max_eratio : float
        Cap on S_energy / B_energy (default 1e4), so that one empty background bin cannot dominate.
    """

    def __init__(self, sample: EventSample, *, n_sindec_bins: int = 30, energy_resolution_dex: float = 0.5,
                 energy_bias_dex: float = 0.0, max_eratio: float = 1e4) -> None:
        ev = sample.events
        self.sample = sample
        self.rate_hz = sample.rate_hz
        self.energy_resolution_dex = float(energy_resolution_dex)
        self.energy_bias_dex = float(energy_bias_dex)
        self.max_eratio = float(max_eratio)
        sd = np.sin(np.radians(ev["dec_deg"]))
        self.sindec_edges = np.linspace(-1.0, 1.0, n_sindec_bins + 1)
        counts, _ = np.histogram(sd, self.sindec_edges)
        width = np.diff(self.sindec_edges)
        self.spatial_density = np.maximum(counts, 0.5) / (ev.size * width * 2 * np.pi)  # [1/sr]
        le = ev["log10_e"]
        step = 0.1
        self.loge_edges = np.arange(np.floor(le.min() / step) * step - step / 2,
                                    np.ceil(le.max() / step) * step + step, step)
        h, _, _ = np.histogram2d(sd, le, [self.sindec_edges, self.loge_edges])
        self.bg_energy = h / np.maximum(h.sum(axis=1, keepdims=True), 1.0)

    # -- spatial ---------------------------------------------------------------------------------
    def spatial_pdf(self, dec_deg: Any) -> np.ndarray:
        """Background density [1/sr] at the declinations (interpolated in sin dec)."""
        centres = 0.5 * (self.sindec_edges[1:] + self.sindec_edges[:-1])
        return np.interp(np.sin(np.radians(dec_deg)), centres, self.spatial_density)

    def inv_bg(self, dec_deg: Any, duration_s: float) -> np.ndarray:
        """1 / (n_b B_spatial) per event, with n_b = rate x duration."""
        return 1.0 / (self.rate_hz * duration_s * self.spatial_pdf(dec_deg))

    # -- energy ----------------------------------------------------------------------------------
    def signal_energy_pdf(self, band: int, gamma: float) -> np.ndarray:
        """Probability per energy-proxy bin of an E^-gamma signal event in sin-dec band ``band``."""
        sd = 0.5 * (self.sindec_edges[band] + self.sindec_edges[band + 1])
        aeff = self.sample.aeff
        w = aeff.row_cm2(np.arcsin(sd)) * _powerlaw_bin_integrals(aeff.e_lo, aeff.e_hi, gamma, None)
        centre = 0.5 * (np.log10(aeff.e_lo) + np.log10(aeff.e_hi)) + self.energy_bias_dex
        from scipy.special import ndtr

        z = (self.loge_edges[None, :] - centre[:, None]) / self.energy_resolution_dex
        per_bin = np.diff(ndtr(z), axis=1)  # (n_e, n_loge)
        pdf = w @ per_bin
        total = pdf.sum()
        return pdf / total if total > 0 else pdf

    def energy_ratio(self, dec_deg: Any, log10_e: Any, gammas: Any) -> np.ndarray:
        """S_energy / B_energy per event and spectral index: shape (n_events, n_gamma)."""
        dec = np.atleast_1d(np.asarray(dec_deg, dtype=float))
        le = np.atleast_1d(np.asarray(log10_e, dtype=float))
        gam = np.atleast_1d(np.asarray(gammas, dtype=float))
        band = np.clip(np.searchsorted(self.sindec_edges, np.sin(np.radians(dec)), side="right") - 1,
                       0, self.sindec_edges.size - 2)
        ebin = np.clip(np.searchsorted(self.loge_edges, le, side="right") - 1, 0, self.loge_edges.size - 2)
        out = np.empty((dec.size, gam.size))
        cache: dict[tuple[int, float], np.ndarray] = {}
        for j, g in enumerate(gam):
            for b in np.unique(band):
                key = (int(b), float(g))
                if key not in cache:
                    s = self.signal_energy_pdf(int(b), float(g))
                    bg = self.bg_energy[int(b)]
                    floor = 0.5 * bg[bg > 0].min() if np.any(bg > 0) else 1.0
                    cache[key] = np.minimum(s / np.maximum(bg, floor), self.max_eratio)
                sel = band == b
                out[sel, j] = cache[key][ebin[sel]]
        return out

    def sample_signal_log10_e(self, dec_deg: float, gamma: float, n: int, rng: np.random.Generator) -> np.ndarray:
        """Energy proxies of n signal events at a declination (from :meth:`signal_energy_pdf`)."""
        band = int(np.clip(np.searchsorted(self.sindec_edges, np.sin(np.radians(dec_deg)), side="right") - 1,
                           0, self.sindec_edges.size - 2))
        p = self.signal_energy_pdf(band, gamma)
        k = rng.choice(p.size, size=n, p=p / p.sum())
        return 0.5 * (self.loge_edges[k] + self.loge_edges[k + 1])


def select_window(events: np.ndarray, t_gw_mjd: float, half_width_s: float = 500.0) -> np.ndarray:
    """Events with |t - t_GW| <= half_width_s."""
    dt = (events["time_mjd"] - t_gw_mjd) * SECONDS_PER_DAY
    return events[np.abs(dt) <= half_width_s]


def simulate_window(sample: EventSample, t_gw_mjd: float, *, seed: Any = None, duration_s: float = 1000.0,
                    n_signal: int = 0, source_deg: tuple[float, float] | None = None,
                    background: BackgroundModel | None = None, gamma: float = 2.0) -> np.ndarray:
    """A simulated window centred on t_gw_mjd: scrambled real events plus injected signal.

    Background: N ~ Poisson(rate x duration) events drawn from the sample, RA uniform, times
    uniform in the window. Signal: ``n_signal`` events at ``source_deg`` (RA, Dec) [deg], each with
    the angular uncertainty of a random sample event within 5 deg of the source's declination, a
    Gaussian offset of that uncertainty and an energy proxy from the E^-gamma signal PDF.
    """
    rng = rng_from_seed(seed)
    ev = sample.events
    n_bg = int(rng.poisson(sample.rate_hz * duration_s))
    idx = rng.integers(0, ev.size, n_bg)
    half = duration_s / 2 / SECONDS_PER_DAY
    bg = ev[idx].copy()
    bg["ra_deg"] = rng.uniform(0, 360, n_bg)
    bg["time_mjd"] = t_gw_mjd + rng.uniform(-half, half, n_bg)
    parts = [bg]
    if n_signal > 0:
        if source_deg is None:
            raise InputError("argument 'source_deg': needed when n_signal > 0", "source_deg")
        model = background or BackgroundModel(sample)
        ra0, dec0 = source_deg
        near = np.nonzero(np.abs(ev["dec_deg"] - dec0) < 5.0)[0]
        pick = ev[rng.choice(near, n_signal)] if near.size else ev[rng.integers(0, ev.size, n_signal)]
        sig = pick.copy()
        ra, dec = _offset(ra0, dec0, sig["sigma_deg"], rng)
        sig["ra_deg"], sig["dec_deg"] = ra, dec
        sig["log10_e"] = model.sample_signal_log10_e(dec0, gamma, n_signal, rng)
        sig["time_mjd"] = t_gw_mjd + rng.uniform(-half, half, n_signal)
        sig["run_id"], sig["event_id"] = INJECTED_RUN_ID, np.arange(n_signal)
        parts.append(sig)
    out = np.concatenate(parts)
    return out[np.argsort(out["time_mjd"], kind="stable")]


def _offset(ra0: float, dec0: float, sigma_deg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Directions offset from (ra0, dec0) by a 2-D Gaussian of sigma_deg (exact rotation)."""
    n = sigma_deg.size
    psi = np.radians(sigma_deg) * np.sqrt(-2 * np.log(1 - rng.uniform(size=n)))
    phi = rng.uniform(0, 2 * np.pi, n)
    # point at angle psi from the north pole, then rotate the pole to the source
    x, y, z = np.sin(psi) * np.cos(phi), np.sin(psi) * np.sin(phi), np.cos(psi)
    t, p = np.radians(90.0 - dec0), np.radians(ra0)
    xr = np.cos(t) * x + np.sin(t) * z
    zr = -np.sin(t) * x + np.cos(t) * z
    xf = np.cos(p) * xr - np.sin(p) * y
    yf = np.sin(p) * xr + np.cos(p) * y
    return np.degrees(np.arctan2(yf, xf)) % 360.0, np.degrees(np.arcsin(np.clip(zr, -1, 1)))
