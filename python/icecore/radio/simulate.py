"""Synthetic IceTop-radio-like waveforms with known truth (tests, demos, benchmarks).

Model per channel (antenna arm) and event, built in the frequency domain of a trace of
``samples`` samples at ``sampling_rate_mhz``, inside the antenna band ``band_mhz``:

* Galactic noise with power spectral density ``(f / 160 MHz) ** spectral_index`` scaled by
  ``P(t) = 1 - galactic_modulation * cos 2(phi_GC(t) - phi_arm)``, where phi_GC is the real
  Galactic-Centre azimuth at the event time (:func:`~icecore.radio.galactic.gc_azimuth`) and
  phi_arm the arm orientation: the noise is largest when the arm is perpendicular to the GC
  direction. The default depth 0.3 gives a power max/min of 1.86 before the noise floor and
  an RMS max/min of about 1.2 after it, the order of the sidereal modulation LOFAR measures
  (NuRadioReco LOFAR LBA galactic calibration: RMS max/min 1.21-1.26).
* A white thermal/electronic noise floor of constant density ``noise_floor`` (same units).
  The sum is scaled so that a quiet trace at P = 1 has an RMS of ``rms_adc`` ADC counts.
* Narrow-band RFI lines: sinusoids at ``rfi_lines_mhz`` with amplitudes ``rfi_amplitude_adc``
  and random phases.
* Air-shower-like pulses in a fraction ``pulse_rate`` of events (a 5-ns Gaussian-envelope
  120-MHz wave packet of amplitude drawn from ``pulse_amplitude_adc``), and transient RFI bursts
  in a fraction ``burst_rate`` (noise raised by a factor 2-5 over a random stretch).
* Digitisation to ``adc_bits`` (two's complement, clipped), ``copies`` identical read-outs.
* Read-out corruption: Poisson(``msb_flip_rate``) flips of the most significant bit below the
  sign bit and Poisson(``spike_rate``) additive spikes per event and channel, each in a single
  copy, or - with probability ``common_fraction`` - in all copies (then only spike cleaning,
  not the copy comparison, can see it).
* Observation gaps: no events for ``daily_gap_hours`` from ``daily_gap_start_hour`` UTC each day.

Events arrive as a Poisson process of ``events_per_hour``. Everything is drawn from ``seed``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_degrees, check_positive, rng_from_seed
from ..coords import as_time
from ..errors import InputError
from .galactic import gc_azimuth
from .io import RadioData

__all__ = ["SimulationTruth", "simulate", "simulate_months"]

log = logging.getLogger(__name__)


@dataclass
class SimulationTruth:
    """What :func:`simulate` put in.

    Attributes
    ----------
    arm_azimuth_deg : (channels,) float
        True arm orientation of each channel (IceCube azimuth, degrees, axial in [0, 180)).
    gc_azimuth_deg : (events,) float
        GC azimuth at each event.
    galactic_power : (channels, events) float
        Relative Galactic noise power P(t) of each event.
    msb_flips : (k, 4) int
        (channel, event, copy, sample) of each injected MSB flip; copy -1 = all copies.
    spikes : (k, 4) int
        The same for additive spikes.
    pulse_events, burst_events : (channels, events) bool
    clean_traces : ndarray or None
        Traces before read-out corruption (only with ``keep_clean=True``), shaped like the data.
    params : dict
        The simulation parameters.
    """

    arm_azimuth_deg: np.ndarray
    gc_azimuth_deg: np.ndarray
    galactic_power: np.ndarray
    msb_flips: np.ndarray
    spikes: np.ndarray
    pulse_events: np.ndarray
    burst_events: np.ndarray
    clean_traces: np.ndarray | None = None
    params: dict = field(default_factory=dict)


def _event_times(rng: np.random.Generator, start_mjd: float, days: float, per_hour: float,
                 gap_start_h: float, gap_h: float) -> np.ndarray:
    n = rng.poisson(per_hour * 24.0 * days)
    t = np.sort(rng.uniform(0.0, days, n))
    t = t[np.concatenate([[True], np.diff(t) > 0])] if t.size else t
    if gap_h > 0:
        hour = np.mod((start_mjd + t) * 24.0, 24.0)
        in_gap = np.mod(hour - gap_start_h, 24.0) < gap_h
        t = t[~in_gap]
    return start_mjd + t


def _check_layout(start: Any, days: Any, antennas: Any, samples: Any, copies: Any, sampling_rate_mhz: Any,
                  adc_bits: Any) -> tuple[float, float, int, int, int, float]:
    """Validated (start_mjd, days, antennas, samples, copies, sampling rate in MHz)."""
    t0 = as_time(start, "start")
    if not t0.isscalar:
        raise InputError("argument 'start': expected a single time", "start")
    start_mjd = float(t0.utc.mjd)
    n_days = float(check_positive(days, "days"))
    n_antennas = int(check_positive(antennas, "antennas", integer=True))
    n_samples = int(check_positive(samples, "samples", integer=True))
    n_copies = int(check_positive(copies, "copies", integer=True))
    if n_samples < 16:
        raise InputError("argument 'samples': need at least 16 samples", "samples")
    fs = float(check_positive(sampling_rate_mhz, "sampling_rate_mhz"))
    if isinstance(adc_bits, bool) or not isinstance(adc_bits, (int, np.integer)) or not 4 <= adc_bits <= 16:
        raise InputError(f"argument 'adc_bits': expected an integer in [4, 16], got {adc_bits!r}", "adc_bits")
    return start_mjd, n_days, n_antennas, n_samples, n_copies, fs


def _check_rates(rms_adc: Any, events_per_hour: Any, galactic_modulation: Any, common_fraction: Any,
                 pulse_rate: Any, burst_rate: Any, noise_floor: Any, msb_flip_rate: Any, spike_rate: Any,
                 daily_gap_hours: Any) -> None:
    check_positive(rms_adc, "rms_adc")
    check_positive(events_per_hour, "events_per_hour")
    for name, val in (("galactic_modulation", galactic_modulation), ("common_fraction", common_fraction),
                      ("pulse_rate", pulse_rate), ("burst_rate", burst_rate)):
        if not (isinstance(val, (int, float, np.number)) and 0 <= float(val) <= 1) or isinstance(val, bool):
            raise InputError(f"argument '{name}': expected a number in [0, 1], got {val!r}", name)
    if galactic_modulation >= 1:
        raise InputError("argument 'galactic_modulation': must be < 1 (power must stay positive)",
                         "galactic_modulation")
    for name, val in (("noise_floor", noise_floor), ("msb_flip_rate", msb_flip_rate), ("spike_rate", spike_rate),
                      ("daily_gap_hours", daily_gap_hours)):
        check_positive(val, name, allow_zero=True)
    if daily_gap_hours >= 24:
        raise InputError("argument 'daily_gap_hours': must be < 24", "daily_gap_hours")


def _arm_azimuths(rng: np.random.Generator, arm_azimuth_deg: Any, antennas: int,
                  swapped: Sequence[int]) -> tuple[np.ndarray, set[int]]:
    """Arm azimuth of every channel (degrees, [0, 180)) and the set of swapped antennas."""
    if arm_azimuth_deg is None:
        arms0 = rng.uniform(0.0, 180.0, antennas)
    else:
        given = as_degrees(arm_azimuth_deg, "arm_azimuth_deg", ndim=(0, 1))
        arms0 = np.broadcast_to(given, (antennas,)).astype(float)
    swapped_set = {int(a) for a in swapped}
    if any(a < 0 or a >= antennas for a in swapped_set):
        raise InputError(f"argument 'swapped': antenna indices must be in [0, {antennas})", "swapped")
    arm = np.empty(2 * antennas)
    for a in range(antennas):
        arm_a = (arms0[a], arms0[a] + 90.0)
        arm[2 * a], arm[2 * a + 1] = (arm_a[1], arm_a[0]) if a in swapped_set else arm_a
    return np.mod(arm, 180.0), swapped_set


def _clean_traces(rng: np.random.Generator, power: np.ndarray, gal_psd: np.ndarray, floor_psd: np.ndarray,
                  norm: float, samples: int, fs: float, lines: np.ndarray, line_amp: np.ndarray, pulse_rate: float,
                  pulse_amplitude_adc: tuple[float, float], burst_rate: float,
                  adc_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digitised traces before read-out corruption, (channels, events, samples) int16, and the
    pulse/burst event flags. ``gal_psd``, ``floor_psd``: spectral densities, scaled by ``norm``."""
    n_ch, n_ev = power.shape
    lo_adc, hi_adc = -(1 << (adc_bits - 1)), (1 << (adc_bits - 1)) - 1
    t_ns = np.arange(samples) / fs * 1e3
    n_freq = gal_psd.size
    clean = np.empty((n_ch, n_ev, samples), dtype=np.int16)
    pulse_events = rng.random((n_ch, n_ev)) < pulse_rate
    burst_events = rng.random((n_ch, n_ev)) < burst_rate
    chunk = 4096
    for ch in range(n_ch):
        for b in range(0, n_ev, chunk):
            e = slice(b, min(n_ev, b + chunk))
            m = e.stop - e.start
            psd = power[ch, e, None] * gal_psd[None, :] + floor_psd[None, :]
            amp = np.sqrt(psd * norm / 2.0)
            spec = amp * (rng.standard_normal((m, n_freq)) + 1j * rng.standard_normal((m, n_freq)))
            x = np.fft.irfft(spec, n=samples, axis=-1)
            # transient RFI bursts: louder noise over a random stretch
            for k in np.flatnonzero(burst_events[ch, e]):
                length = int(rng.integers(samples // 5, samples + 1))
                first = int(rng.integers(0, samples - length + 1))
                x[k, first:first + length] *= rng.uniform(2.0, 5.0)
            if lines.size:
                phase = rng.uniform(0, 2 * np.pi, (m, lines.size))
                arg = 2 * np.pi * lines[None, :, None] * 1e-3 * t_ns[None, None, :] + phase[:, :, None]
                x += np.einsum("l,mlt->mt", line_amp, np.sin(arg))
            for k in np.flatnonzero(pulse_events[ch, e]):
                tc = rng.uniform(0.1, 0.9) * t_ns[-1]
                a = rng.uniform(*pulse_amplitude_adc) * rng.choice([-1.0, 1.0])
                x[k] += a * np.exp(-0.5 * ((t_ns - tc) / 5.0) ** 2) * np.cos(2 * np.pi * 0.12 * (t_ns - tc))
            clean[ch, e] = np.clip(np.rint(x), lo_adc, hi_adc).astype(np.int16)
    return clean, pulse_events, burst_events


def _corrupt(rng: np.random.Generator, clean: np.ndarray, copies: int, adc_bits: int, msb_flip_rate: float,
             spike_rate: float, common_fraction: float,
             spike_amplitude_adc: tuple[float, float]) -> tuple[np.ndarray, list, list]:
    """The read-out copies with MSB flips and additive spikes, and where they were put."""
    n_ch, n_ev, samples = clean.shape
    lo_adc, hi_adc = -(1 << (adc_bits - 1)), (1 << (adc_bits - 1)) - 1
    traces = np.repeat(clean[:, :, None, :], copies, axis=2)
    flip_bit = np.int16(1 << (adc_bits - 2))
    flips: list[tuple[int, int, int, int]] = []
    spikes: list[tuple[int, int, int, int]] = []
    n_flip = rng.poisson(msb_flip_rate, (n_ch, n_ev))
    n_spike = rng.poisson(spike_rate, (n_ch, n_ev))
    for ch, ev in zip(*np.nonzero((n_flip + n_spike) > 0)):
        k1, k2 = int(n_flip[ch, ev]), int(n_spike[ch, ev])
        pos = rng.choice(samples, size=min(samples, k1 + k2), replace=False)
        for j, s in enumerate(pos):
            common = rng.random() < common_fraction
            cp = -1 if common else int(rng.integers(copies))
            sel = slice(None) if common else cp
            if j < k1:
                traces[ch, ev, sel, s] ^= flip_bit
                flips.append((ch, ev, cp, s))
            else:
                step = int(rng.choice([-1, 1]) * rng.uniform(*spike_amplitude_adc))
                val = traces[ch, ev, sel, s].astype(np.int32) + step
                traces[ch, ev, sel, s] = np.clip(val, lo_adc, hi_adc).astype(np.int16)
                spikes.append((ch, ev, cp, s))
    return traces, flips, spikes


def simulate(
    start: Any = "2024-01-01",
    days: float = 30.0,
    *,
    antennas: int = 1,
    arm_azimuth_deg: Any = None,
    swapped: Sequence[int] = (),
    events_per_hour: float = 10.0,
    daily_gap_hours: float = 2.0,
    daily_gap_start_hour: float = 10.0,
    samples: int = 1024,
    copies: int = 4,
    sampling_rate_mhz: float = 1000.0,
    adc_bits: int = 12,
    rms_adc: float = 20.0,
    galactic_modulation: float = 0.3,
    noise_floor: float = 0.5,
    spectral_index: float = -2.55,
    band_mhz: tuple[float, float] = (70.0, 350.0),
    rfi_lines_mhz: Sequence[float] = (135.0, 159.3, 225.0),
    rfi_amplitude_adc: Sequence[float] = (8.0, 3.0, 6.0),
    pulse_rate: float = 0.01,
    pulse_amplitude_adc: tuple[float, float] = (100.0, 400.0),
    burst_rate: float = 0.01,
    msb_flip_rate: float = 0.05,
    spike_rate: float = 0.02,
    spike_amplitude_adc: tuple[float, float] = (150.0, 900.0),
    common_fraction: float = 0.3,
    seed: Any = None,
    keep_clean: bool = False,
    station: str = "sim",
) -> tuple[RadioData, SimulationTruth]:
    """Simulate one station's waveforms with known antenna orientations.

    Parameters
    ----------
    start : astropy Time, MJD float or ISO string
        Start of the simulated period (default 2024-01-01).
    days : float
        Length of the period in days.
    antennas : int
        Number of antennas; each has two channels, polarisation 0 and 1.
    arm_azimuth_deg : float or (antennas,) array, degrees, optional
        Orientation of each antenna's polarisation-0 arm (IceCube azimuth); polarisation 1 is
        90 degrees further counter-clockwise. Default: drawn uniformly from the seed.
    swapped : sequence of int
        Antenna indices whose two cables are swapped (channels labelled 0 and 1 carry arm 1 and 0).
    events_per_hour, daily_gap_hours, daily_gap_start_hour : float
        Event rate and daily observation gap (UTC hours).
    samples, copies, sampling_rate_mhz, adc_bits : trace layout (defaults 1024, 4, 1000, 12)
    rms_adc, galactic_modulation, noise_floor, spectral_index, band_mhz :
        Noise model, see the module docstring.
    rfi_lines_mhz, rfi_amplitude_adc : RFI lines and their amplitudes (ADC counts).
    pulse_rate, pulse_amplitude_adc, burst_rate : transient rates (fraction of events) and sizes.
    msb_flip_rate, spike_rate : mean number per event and channel; ``common_fraction`` of them
        hit all copies, the others one random copy. ``spike_amplitude_adc``: |spike| range.
    seed : int or numpy Generator
    keep_clean : bool
        Also return the traces before corruption (memory: doubles the output).

    Returns
    -------
    data : :class:`~icecore.radio.io.RadioData`
    truth : :class:`SimulationTruth`
    """
    rng = rng_from_seed(seed)
    start_mjd, days, antennas, samples, copies, fs = _check_layout(start, days, antennas, samples, copies,
                                                                   sampling_rate_mhz, adc_bits)
    _check_rates(rms_adc, events_per_hour, galactic_modulation, common_fraction, pulse_rate, burst_rate,
                 noise_floor, msb_flip_rate, spike_rate, daily_gap_hours)
    lo_band, hi_band = (float(b) for b in band_mhz)
    if not 0 <= lo_band < hi_band <= fs / 2:
        raise InputError(f"argument 'band_mhz': expected 0 <= low < high <= {fs / 2}, got {band_mhz}", "band_mhz")
    lines = np.atleast_1d(np.asarray(rfi_lines_mhz, dtype=float))
    line_amp = np.atleast_1d(np.asarray(rfi_amplitude_adc, dtype=float))
    if lines.shape != line_amp.shape:
        raise InputError("argument 'rfi_amplitude_adc': needs one amplitude per RFI line", "rfi_amplitude_adc")
    arm, swapped_set = _arm_azimuths(rng, arm_azimuth_deg, antennas, swapped)

    times = _event_times(rng, start_mjd, days, float(events_per_hour), float(daily_gap_start_hour),
                         float(daily_gap_hours))
    if times.size == 0:
        raise InputError("no events: increase 'days' or 'events_per_hour'", "days")
    n_ev, n_ch = times.size, 2 * antennas
    gc_az = gc_azimuth(times)
    antenna_ids = np.repeat(np.arange(1, antennas + 1), 2)
    pol = np.tile([0, 1], antennas)

    # frequency-domain noise model
    freqs = np.fft.rfftfreq(samples, d=1.0 / fs)  # MHz
    in_band = (freqs >= lo_band) & (freqs <= hi_band) & (freqs > 0)
    gal_psd = np.where(in_band, (np.maximum(freqs, 1e-9) / 160.0) ** spectral_index, 0.0)
    floor_psd = np.where(in_band, float(noise_floor), 0.0)
    # variance of irfft output = 2 * sum(S_k) / n^2 for E|X_k|^2 = S_k (0 < k < n/2)
    norm = rms_adc**2 * samples**2 / (2.0 * float(np.sum(gal_psd + floor_psd)))
    power = 1.0 - galactic_modulation * np.cos(2.0 * np.radians(gc_az[None, :] - arm[:, None]))  # (ch, ev)

    clean, pulse_events, burst_events = _clean_traces(
        rng, power, gal_psd, floor_psd, norm, samples, fs, lines, line_amp, pulse_rate, pulse_amplitude_adc,
        burst_rate, adc_bits)
    traces, flips, spikes = _corrupt(rng, clean, copies, adc_bits, msb_flip_rate, spike_rate, common_fraction,
                                     spike_amplitude_adc)
    params = dict(start_mjd=start_mjd, days=days, antennas=antennas, events_per_hour=events_per_hour,
                  daily_gap_hours=daily_gap_hours, daily_gap_start_hour=daily_gap_start_hour, samples=samples,
                  copies=copies, sampling_rate_mhz=fs, adc_bits=int(adc_bits), rms_adc=rms_adc,
                  galactic_modulation=galactic_modulation, noise_floor=noise_floor, spectral_index=spectral_index,
                  band_mhz=[lo_band, hi_band], rfi_lines_mhz=lines.tolist(), rfi_amplitude_adc=line_amp.tolist(),
                  pulse_rate=pulse_rate, burst_rate=burst_rate, msb_flip_rate=msb_flip_rate, spike_rate=spike_rate,
                  common_fraction=common_fraction, swapped=sorted(swapped_set))
    data = RadioData(times_mjd=times, traces=traces, antenna=antenna_ids, polarisation=pol,
                     sampling_rate_hz=fs * 1e6, adc_bits=int(adc_bits), station=station)
    truth = SimulationTruth(
        arm_azimuth_deg=arm, gc_azimuth_deg=gc_az, galactic_power=power,
        msb_flips=np.array(flips, dtype=np.int64).reshape(-1, 4),
        spikes=np.array(spikes, dtype=np.int64).reshape(-1, 4),
        pulse_events=pulse_events, burst_events=burst_events,
        clean_traces=np.repeat(clean[:, :, None, :], copies, axis=2) if keep_clean else None,
        params=params,
    )
    log.info("simulated %d events x %d channels from MJD %.3f", n_ev, n_ch, start_mjd)
    return data, truth


def _month_starts(start_mjd: float, end_mjd: float) -> list[tuple[float, float]]:
    """[start, end) split at calendar-month boundaries (UTC), as (start_mjd, days) pairs."""
    t0 = np.datetime64(int(round((start_mjd - 40587.0) * 86400e6)), "us")
    edges = [start_mjd]
    m = t0.astype("datetime64[M]") + 1
    while True:
        mjd = (m.astype("datetime64[us]").astype(np.int64) / 86400e6) + 40587.0
        if mjd >= end_mjd:
            break
        edges.append(float(mjd))
        m = m + 1
    edges.append(end_mjd)
    return [(a, b - a) for a, b in zip(edges[:-1], edges[1:]) if b - a > 1e-9]


def simulate_months(start: Any = "2024-01-01", days: float = 365.0, *, seed: Any = None,
                    arm_azimuth_deg: Any = None, antennas: int = 1, **kwargs: Any):
    """Yield ``(data, truth)`` for each calendar month of a longer period (bounded memory).

    Same parameters as :func:`simulate`; the arm orientations are drawn once (from ``seed``)
    and kept for all months, and each month gets an independent child seed.
    """
    rng = rng_from_seed(seed)
    t0 = as_time(start, "start")
    start_mjd = float(t0.utc.mjd)
    days = check_positive(days, "days")
    if arm_azimuth_deg is None:
        arm_azimuth_deg = rng.uniform(0.0, 180.0, int(antennas))
    for m_start, m_days in _month_starts(start_mjd, start_mjd + days):
        child = np.random.default_rng(rng.integers(2**63 - 1))
        yield simulate(m_start, m_days, seed=child, arm_azimuth_deg=arm_azimuth_deg, antennas=antennas, **kwargs)
