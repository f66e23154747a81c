"""Windowed RMS noise level of radio traces (C++ kernel)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array, check_threads
from ..errors import InputError

__all__ = ["windowed_rms"]

_KERNELS = {
    np.dtype(np.int16): _core.windowed_rms_min_i16,
    np.dtype(np.int32): _core.windowed_rms_min_i32,
    np.dtype(np.float32): _core.windowed_rms_min_f32,
    np.dtype(np.float64): _core.windowed_rms_min_f64,
}


def windowed_rms(traces: Any, window: int = 120, *, threads: int | None = None) -> np.ndarray:
    """Minimum sliding-window RMS ("RMS amplitude") of each trace.

    For each trace x (last axis) this is ``min_i sqrt(mean(x[i:i+window]**2))`` over all
    ``samples - window + 1`` offsets: the noise level of the quietest stretch, which air-shower
    pulses and RFI bursts in other parts of the trace do not raise. The RMS is about zero, so
    subtract any baseline first. O(samples) per trace in C++; integer input is summed exactly.

    Parameters
    ----------
    traces : array_like, shape (..., samples)
        Traces in ADC counts or volts; int16/int32/float32/float64 are used as they are, other
        integer or float types are converted to float64 (bool and complex are rejected).
    window : int
        Window length in samples (default 120, i.e. 120 ns at 1 GS/s).
    threads : int or None
        Worker threads; ``None`` or 0 uses all cores. Results do not depend on it.

    Returns
    -------
    ndarray of float64, shape (...)
        Minimum windowed RMS per trace, in the units of ``traces``.

    Raises
    ------
    InputError (ValueError)
        ``traces`` is 0-d, empty, non-numeric or contains NaN/inf; ``window`` is not an integer
        in [1, samples]; ``threads`` is negative.

    NaN policy: NaN or infinite samples raise; they never propagate silently.
    """
    arr = as_array(traces, "traces", dtype=None, kinds="iuf")
    if arr.ndim < 1:
        raise InputError(f"argument 'traces': expected at least 1 dimension (samples), got shape {arr.shape}", "traces")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise InputError(f"argument 'window': expected an integer number of samples, got {window!r}", "window")
    samples = arr.shape[-1]
    if window < 1 or window > samples:
        raise InputError(f"argument 'window': must be in [1, {samples}] (trace length), got {window}", "window")
    nthreads = check_threads(threads)
    if arr.dtype not in _KERNELS:
        arr = np.asarray(arr, dtype=np.float64, order="C")
    flat = arr.reshape(-1, samples)
    out = _KERNELS[arr.dtype](flat, int(window), nthreads)
    return out.reshape(arr.shape[:-1])
