"""Windowed RMS noise level of radio traces (C++ kernel)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array, check_threads
from ..errors import InputError

__all__ = ["windowed_rms", "rms_spread"]

#: Sample types with their own compiled overload (used without conversion); others become float64.
_KERNEL_DTYPES = frozenset(np.dtype(t) for t in (np.int16, np.int32, np.float32, np.float64))


def _kernel_array(arr: np.ndarray) -> np.ndarray:
    """C-contiguous array of a kernel dtype, so that the binding picks that dtype's overload."""
    if arr.dtype not in _KERNEL_DTYPES:
        return np.asarray(arr, dtype=np.float64, order="C")
    return np.ascontiguousarray(arr)


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
    arr = _kernel_array(arr)
    flat = arr.reshape(-1, samples)
    out = _core.radio.windowed_rms_min(flat, int(window), nthreads)
    return out.reshape(arr.shape[:-1])


def rms_spread(
    traces: Any,
    window: int = 120,
    n_smallest: int = 10,
    *,
    combine_copies: bool = True,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """RMS amplitude and "RMS spread" of each event (C++ kernel, one pass, O(samples)).

    The RMS amplitude is the minimum sliding-window RMS (as :func:`windowed_rms`); the RMS spread
    is the standard deviation (population, ddof=0) of the ``n_smallest`` smallest RMS values of
    the non-overlapping ``window``-sample sub-traces ``[k*window, (k+1)*window)``; it is small
    for steady noise and large when part of the trace carries a transient (pulse, RFI burst).

    Which samples: with ``combine_copies=True`` (default) axis -2 holds the read-out copies of
    one event and the copies are taken together, as if concatenated, but no window or sub-trace
    ever straddles two copies: a 4 x 1024-sample event gives 4 x 8 = 32 sub-traces of 120
    samples, of which the 10 smallest are used (a single 1024-sample copy has only 8, fewer than
    10). After cleaning the copies agree, so the RMS amplitude equals that of one copy. With
    ``combine_copies=False`` every trace (last axis) is treated on its own.

    Parameters
    ----------
    traces : array_like, shape (..., copies, samples) or (..., samples)
        ADC counts or volts (int16/int32/float32/float64 kept; other numeric types become float64).
    window : int
        Window and sub-trace length in samples (default 120 = 120 ns at 1 GS/s).
    n_smallest : int
        Number of smallest sub-trace RMS values whose standard deviation is the spread (default 10;
        all sub-traces are used when there are fewer).
    combine_copies : bool
        Take axis -2 as the copies of one event (see above).
    threads : int or None
        Worker threads (None or 0 = all cores); results do not depend on it.

    Returns
    -------
    rms, spread : ndarray of float64, shape ``traces.shape[:-2]`` (combined) or ``[:-1]``
        In the units of ``traces``.

    NaN policy: NaN or infinite samples raise :class:`~icecore.errors.InputError`.
    """
    arr = as_array(traces, "traces", dtype=None, kinds="iuf")
    need = 2 if combine_copies else 1
    if arr.ndim < need:
        raise InputError(
            f"argument 'traces': expected at least {need} dimensions, got shape {arr.shape}", "traces"
        )
    for name, val in (("window", window), ("n_smallest", n_smallest)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise InputError(f"argument '{name}': expected an integer >= 1, got {val!r}", name)
    samples = arr.shape[-1]
    if window > samples:
        raise InputError(f"argument 'window': must be in [1, {samples}] (trace length), got {window}", "window")
    nthreads = check_threads(threads)
    arr = _kernel_array(arr)
    lead = arr.shape[:-2] if combine_copies else arr.shape[:-1]
    rows = int(np.prod(lead)) if lead else 1
    flat = arr.reshape(rows, -1)
    rms, spread = _core.radio.windowed_rms_spread(flat, int(samples), int(window), int(n_smallest), nthreads)
    return rms.reshape(lead), spread.reshape(lead)
