"""Frequency-domain filtering: the inverted spectrum filter and a band-pass (numpy/scipy).

Inverted spectrum filter (per group of events, e.g. one month of one channel): the average
amplitude spectrum |X(f)| of all traces of the group is smoothed by a sliding median over
``median_width_mhz`` (31 MHz); the ratio median / average is applied to every trace's spectrum.
Narrow lines (RFI) that stick out of the smooth spectrum are pulled down to it, broad-band
structure is left alone. With ``passes=2`` the filter is computed again on the filtered spectra
and applied on top. A rectangular band-pass (default 150-170 MHz) follows in the same FFT.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.fft
from scipy.ndimage import median_filter

from .._validation import as_array, check_positive
from ..errors import InputError

__all__ = ["median_window_bins", "inverted_spectrum_filter", "bandpass_response", "filter_traces"]

log = logging.getLogger(__name__)


def median_window_bins(width_mhz: float, bin_mhz: float) -> int:
    """Nearest odd number of frequency bins (>= 3) covering ``width_mhz``."""
    n = width_mhz / bin_mhz
    return max(3, 2 * int(np.floor((n - 1) / 2 + 0.5)) + 1)


def inverted_spectrum_filter(mean_amplitude: Any, bin_mhz: float, median_width_mhz: float = 31.0) -> np.ndarray:
    """Filter response median(|X|) / mean(|X|) from an average amplitude spectrum.

    Bins with zero average amplitude get response 0. ``mean_amplitude`` is 1-d over frequency.
    """
    a = as_array(mean_amplitude, "mean_amplitude", ndim=1)
    k = median_window_bins(check_positive(median_width_mhz, "median_width_mhz"), check_positive(bin_mhz, "bin_mhz"))
    med = median_filter(a, size=k, mode="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, med / a, 0.0)


def bandpass_response(freqs_mhz: np.ndarray, band_mhz: tuple[float, float] | None) -> np.ndarray:
    """1 inside [low, high] MHz, 0 outside (all ones for ``band_mhz=None``)."""
    if band_mhz is None:
        return np.ones_like(freqs_mhz)
    lo, hi = (float(b) for b in band_mhz)
    if not 0 <= lo < hi:
        raise InputError(f"argument 'band_mhz': expected 0 <= low < high, got {band_mhz}", "band_mhz")
    return ((freqs_mhz >= lo) & (freqs_mhz <= hi)).astype(float)


def filter_traces(
    traces: Any,
    sampling_rate_hz: float,
    *,
    groups: Any = None,
    passes: int = 1,
    median_width_mhz: float = 31.0,
    band_mhz: tuple[float, float] | None = (150.0, 170.0),
    workers: int | None = None,
) -> np.ndarray:
    """Inverted-spectrum-filter and band-pass traces.

    Parameters
    ----------
    traces : array_like (events, ..., samples)
        ADC counts; the baseline (0 Hz) is removed by any band-pass that excludes 0 Hz.
    sampling_rate_hz : float
    groups : array_like of int (events,), optional
        Group label of each event (e.g. month index); the average spectrum is taken per group.
        Default: one group.
    passes : int
        0 = band-pass only, 1 = inverted spectrum filter once (default), 2 = twice.
    median_width_mhz : float
        Width of the sliding median (default 31 MHz).
    band_mhz : (low, high) or None
        Band-pass in MHz (default 150-170), None for none.
    workers : int or None
        scipy.fft workers.

    Returns
    -------
    ndarray of float32, the shape of ``traces``.

    NaN policy: integer or finite input only (NaN raises).
    """
    x = as_array(traces, "traces", dtype=None, kinds="iuf")
    if x.ndim < 2:
        raise InputError(f"argument 'traces': expected (events, ..., samples), got shape {x.shape}", "traces")
    fs = check_positive(sampling_rate_hz, "sampling_rate_hz")
    if isinstance(passes, bool) or passes not in (0, 1, 2):
        raise InputError(f"argument 'passes': expected 0, 1 or 2, got {passes!r}", "passes")
    n_ev, n = x.shape[0], x.shape[-1]
    g = np.zeros(n_ev, dtype=np.int64) if groups is None else as_array(groups, "groups", ndim=1, dtype=np.int64)
    if g.shape != (n_ev,):
        raise InputError(f"argument 'groups': expected {n_ev} labels, got shape {g.shape}", "groups")
    freqs = np.fft.rfftfreq(n, d=1e6 / fs)  # MHz
    bin_mhz = float(freqs[1] - freqs[0])
    bp = bandpass_response(freqs, band_mhz)
    out = np.empty(x.shape, dtype=np.float32)
    for label in np.unique(g):
        sel = np.flatnonzero(g == label)
        spec = scipy.fft.rfft(x[sel].astype(np.float32), axis=-1, workers=workers)
        resp = np.ones(freqs.size)
        for _ in range(passes):
            mean_amp = np.abs(spec).reshape(-1, freqs.size).mean(axis=0)
            h = inverted_spectrum_filter(mean_amp * 1.0, bin_mhz, median_width_mhz)
            spec *= h.astype(np.float32)
            resp *= h
        spec *= bp.astype(np.float32)
        out[sel] = scipy.fft.irfft(spec, n=n, axis=-1, workers=workers)
        log.debug("group %s: %d events, filter range %.3g-%.3g", label, sel.size, resp[bp > 0].min() if bp.any() else 0,
                  resp[bp > 0].max() if bp.any() else 0)
    return out
