"""Waveform cleaning: copy comparison, spike finding and MSB-flip correction (C++ kernels).

The rules (exact definitions in ``cpp/include/icecore/radio_cleaning.hpp``):

* **Robust scale.** "k MAD" means k * sigma with sigma = 1.4826 * median|x - median(x)| of the
  trace (the MAD scaled to a Gaussian standard deviation), floored at 1 ADC count.
* **Copy comparison.** The read-out copies of an event should be identical; where they are not,
  the value held by a strict plurality of at least two copies replaces the others (a corrupted
  single copy is thus repaired exactly). Ties (2-2) are left for spike cleaning.
* **Spikes.** Amplitude outliers |x - median| > ``amp_k`` MAD, and jumps: the trace steps away
  and back by more than ``jump_k`` MAD of its sample-to-sample differences, unless both
  neighbours are amplitude outliers (the quiet sample between two spikes); one-sided at the
  ends, where the end sample must be the one further from the median. Optionally an isolation
  forest (scikit-learn, ``ml`` extra) as a third method. The union of the methods' flags over
  all copies gives the unique spike positions of an event; an event with more than
  ``max_spikes`` (default 5) is rejected.
* **Correction.** Flip the most significant bit below the sign bit (bit ``adc_bits - 2``; the
  sign is kept) and keep the result if it lies within ``keep_k`` (5) MAD of the median; else
  replace the sample by the mean of the nearest non-spike neighbours (one on each side; at a
  trace end the two nearest on the inner side), rounded half away from zero.

A bit flip is an involution, so a flipped sample whose true value lay within 5 MAD of the
median is restored exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _core
from .._optional import require
from .._validation import as_array, check_threads, rng_from_seed
from ..errors import InputError

__all__ = [
    "CleaningResult",
    "compare_copies",
    "find_spikes",
    "isolation_forest_spikes",
    "correct_spikes",
    "clean_events",
    "SPIKE_AMPLITUDE",
    "SPIKE_JUMP",
    "SPIKE_FOREST",
]

log = logging.getLogger(__name__)

SPIKE_AMPLITUDE = 1
SPIKE_JUMP = 2
SPIKE_FOREST = 4

#: Sample types with their own compiled overload; other integer types are converted to int32.
_KERNEL_DTYPES = frozenset((np.dtype(np.int16), np.dtype(np.int32)))


def _int_traces(traces: Any, name: str = "traces", min_ndim: int = 1) -> np.ndarray:
    arr = as_array(traces, name, dtype=None, kinds="iu")
    if arr.dtype not in _KERNEL_DTYPES:
        if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
            raise InputError(f"argument '{name}': values do not fit in int32", name)
        arr = np.asarray(arr, dtype=np.int32)
    if arr.ndim < min_ndim:
        raise InputError(f"argument '{name}': expected at least {min_ndim} dimensions, got shape {arr.shape}", name)
    return np.ascontiguousarray(arr)


def _check_k(value: Any, name: str) -> float:
    number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if not number or not np.isfinite(value) or value <= 0:
        raise InputError(f"argument '{name}': expected a finite number > 0, got {value!r}", name)
    return float(value)


def compare_copies(traces: Any, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repair samples on which the read-out copies disagree, by plurality vote.

    Parameters
    ----------
    traces : array_like of integers, shape (events, copies, samples), copies >= 2
    threads : int or None
        Worker threads (None/0 = all cores).

    Returns
    -------
    repaired : ndarray, same shape and integer dtype (int16/int32 kept, others -> int32)
    changed : (events, copies) int32
        Samples changed in each copy.
    unresolved : (events,) int32
        Disagreeing samples without a strict plurality of >= 2 copies (left unchanged).
    """
    arr = _int_traces(traces, min_ndim=3)
    if arr.ndim != 3:
        raise InputError(f"argument 'traces': expected (events, copies, samples), got shape {arr.shape}", "traces")
    if arr.shape[1] < 2:
        raise InputError("argument 'traces': needs at least 2 copies on axis 1", "traces")
    return _core.radio.compare_copies(arr, check_threads(threads))


def find_spikes(traces: Any, amp_k: float = 6.0, jump_k: float = 6.0, *, threads: int | None = None) -> np.ndarray:
    """Spike mask of integer traces (last axis = samples, >= 3).

    Returns a uint8 array of the input's shape: 0 clean, bit 1 (:data:`SPIKE_AMPLITUDE`)
    |x - median| > ``amp_k`` MAD, bit 2 (:data:`SPIKE_JUMP`) a jump away and back by more than
    ``jump_k`` MAD of the sample differences.
    """
    arr = _int_traces(traces)
    if arr.shape[-1] < 3:
        raise InputError(f"argument 'traces': needs at least 3 samples per trace, got {arr.shape[-1]}", "traces")
    a, j = _check_k(amp_k, "amp_k"), _check_k(jump_k, "jump_k")
    flat = arr.reshape(-1, arr.shape[-1])
    return _core.radio.find_spikes(flat, a, j, check_threads(threads)).reshape(arr.shape)


def isolation_forest_spikes(
    traces: Any,
    *,
    threshold: float = 0.74,
    prefilter_k: float = 4.0,
    n_estimators: int = 100,
    fit_samples: int = 20000,
    seed: Any = 0,
) -> np.ndarray:
    """Spike mask from an isolation forest (scikit-learn; ``ml`` extra), bit 4.

    Each sample is described by three robust features: its deviation from the trace median and
    the two centred differences to its neighbours, each in MAD units of the trace. A forest is
    fitted on ``fit_samples`` randomly drawn samples of all traces (ordinary noise), and samples
    whose anomaly score (0..1, ``-score_samples``) exceeds ``threshold`` are flagged (0.74: on
    Gaussian noise with injected MSB flips the flips score 0.76-0.82 and noise samples at most
    ~0.72, so the margin is small; the MAD rules are the primary methods). For speed
    only samples where some feature exceeds ``prefilter_k`` MAD are scored: ordinary noise
    samples cannot reach the threshold. Much slower than :func:`find_spikes`; seeded.
    """
    ensemble = require("sklearn.ensemble", "ml", "the isolation-forest spike finder")
    from ._numpy_reference import robust_stats

    arr = _int_traces(traces)
    rng = rng_from_seed(seed)
    x = arr.reshape(-1, arr.shape[-1]).astype(np.float64)
    med, sig = robust_stats(x)
    d = np.diff(x, axis=-1)
    med_d, sig_d = robust_stats(d)
    e = (d - med_d) / sig_d
    feats = np.empty(x.shape + (3,), dtype=np.float32)
    feats[..., 0] = (x - med) / sig
    feats[..., 1] = 0.0
    feats[..., 2] = 0.0
    feats[:, 1:, 1] = e
    feats[:, :-1, 2] = -e
    flat = feats.reshape(-1, 3)
    take = rng.choice(flat.shape[0], size=min(fit_samples, flat.shape[0]), replace=False)
    forest = ensemble.IsolationForest(n_estimators=n_estimators, random_state=int(rng.integers(2**31 - 1)))
    forest.fit(flat[take])
    cand = np.flatnonzero(np.any(np.abs(flat) > prefilter_k, axis=1))
    mask = np.zeros(flat.shape[0], dtype=np.uint8)
    if cand.size:
        score = -forest.score_samples(flat[cand])
        mask[cand[score > threshold]] = SPIKE_FOREST
    return mask.reshape(arr.shape)


def correct_spikes(
    traces: Any, mask: Any, adc_bits: int = 12, keep_k: float = 5.0, *, threads: int | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Correct the samples flagged in ``mask`` (MSB flip if plausible, else neighbour mean).

    Parameters
    ----------
    traces : integer array (..., samples)
    mask : array of the same shape, non-zero = spike
    adc_bits : int
        ADC bit depth; the flipped bit is ``adc_bits - 2`` (the most significant below the sign).
    keep_k : float
        A flipped value is kept if within ``keep_k`` MAD of the trace median (default 5).

    Returns
    -------
    corrected : ndarray like ``traces``
    counts : dict of arrays of shape ``traces.shape[:-1]``: ``flipped``, ``replaced``, ``unresolved``
    """
    arr = _int_traces(traces)
    m = as_array(mask, "mask", dtype=None, kinds="biu")
    if m.shape != arr.shape:
        raise InputError(f"argument 'mask': shape {m.shape} differs from traces {arr.shape}", "mask")
    m = np.ascontiguousarray(m != 0, dtype=np.uint8)
    if isinstance(adc_bits, bool) or not isinstance(adc_bits, (int, np.integer)):
        raise InputError(f"argument 'adc_bits': expected an integer, got {adc_bits!r}", "adc_bits")
    maxbits = 8 * arr.dtype.itemsize
    if not 2 <= adc_bits <= maxbits:
        raise InputError(f"argument 'adc_bits': must be in [2, {maxbits}] for {arr.dtype}, got {adc_bits}", "adc_bits")
    k = _check_k(keep_k, "keep_k")
    flat = arr.reshape(-1, arr.shape[-1])
    out, flipped, replaced, unresolved = _core.radio.correct_spikes(
        flat, m.reshape(flat.shape), int(adc_bits) - 2, k, check_threads(threads)
    )
    lead = arr.shape[:-1]
    counts = {"flipped": flipped.reshape(lead), "replaced": replaced.reshape(lead),
              "unresolved": unresolved.reshape(lead)}
    return out.reshape(arr.shape), counts


@dataclass
class CleaningResult:
    """Output of :func:`clean_events` for one channel (polarisation).

    Attributes
    ----------
    traces : (events, copies, samples) integer array, cleaned
    mask : (events, copies, samples) uint8, union of the spike flags (bits 1, 2, 4)
    n_spikes : (events,) int32, unique spike positions over methods and copies
    rejected : (events,) bool, ``n_spikes > max_spikes``
    n_copy_repaired, n_unresolved_copies, n_flipped, n_replaced : (events,) int32
    """

    traces: np.ndarray
    mask: np.ndarray
    n_spikes: np.ndarray
    rejected: np.ndarray
    n_copy_repaired: np.ndarray
    n_unresolved_copies: np.ndarray
    n_flipped: np.ndarray
    n_replaced: np.ndarray

    def summary(self) -> dict[str, int]:
        return {
            "events": int(self.rejected.size),
            "rejected": int(self.rejected.sum()),
            "copy_repaired_samples": int(self.n_copy_repaired.sum()),
            "spikes": int(self.n_spikes.sum()),
            "msb_flips_undone": int(self.n_flipped.sum()),
            "replaced_by_neighbours": int(self.n_replaced.sum()),
        }


def clean_events(
    traces: Any,
    *,
    adc_bits: int = 12,
    amp_k: float = 6.0,
    jump_k: float = 6.0,
    keep_k: float = 5.0,
    max_spikes: int = 5,
    use_forest: bool = False,
    forest_threshold: float = 0.74,
    seed: Any = 0,
    threads: int | None = None,
) -> CleaningResult:
    """Full cleaning of one channel: copy comparison, spike finding, correction, rejection.

    Parameters
    ----------
    traces : integer array (events, copies, samples)
    adc_bits, amp_k, jump_k, keep_k : see :func:`find_spikes`, :func:`correct_spikes`
    max_spikes : int
        Events with more unique spike positions (union over methods and copies) are rejected.
    use_forest : bool
        Add the isolation-forest method (scikit-learn) to the union.
    seed : int or Generator
        For the isolation forest only.

    NaN policy: integer input only; nothing can be NaN.
    """
    arr = _int_traces(traces, min_ndim=3)
    if arr.ndim != 3:
        raise InputError(f"argument 'traces': expected (events, copies, samples), got shape {arr.shape}", "traces")
    if isinstance(max_spikes, bool) or not isinstance(max_spikes, (int, np.integer)) or max_spikes < 0:
        raise InputError(f"argument 'max_spikes': expected an integer >= 0, got {max_spikes!r}", "max_spikes")
    nthreads = check_threads(threads)
    events, copies, samples = arr.shape
    if copies >= 2:
        repaired, changed, unresolved = compare_copies(arr, threads=nthreads)
    else:
        repaired = arr.copy()
        changed = np.zeros((events, copies), np.int32)
        unresolved = np.zeros(events, np.int32)
    mask = find_spikes(repaired, amp_k, jump_k, threads=nthreads)
    if use_forest:
        mask |= isolation_forest_spikes(repaired, threshold=forest_threshold, seed=seed)
    corrected, counts = correct_spikes(repaired, mask, adc_bits, keep_k, threads=nthreads)
    n_spikes = np.count_nonzero(np.any(mask != 0, axis=1), axis=1).astype(np.int32)
    result = CleaningResult(
        traces=corrected,
        mask=mask,
        n_spikes=n_spikes,
        rejected=n_spikes > max_spikes,
        n_copy_repaired=changed.sum(axis=1).astype(np.int32),
        n_unresolved_copies=unresolved,
        n_flipped=counts["flipped"].sum(axis=1).astype(np.int32),
        n_replaced=counts["replaced"].sum(axis=1).astype(np.int32),
    )
    log.debug("cleaning: %s", result.summary())
    return result
