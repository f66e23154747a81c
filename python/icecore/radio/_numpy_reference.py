"""Plain-numpy implementations of the radio cleaning rules (oracle for tests and benchmarks).

These follow the rules documented in ``cpp/include/icecore/radio_cleaning.hpp`` and in
:mod:`icecore.radio.cleaning` operation by operation, so that the compiled kernels can be
checked for *identical* output. They are vectorised over traces but much slower and far more
memory-hungry than the kernels; use :mod:`icecore.radio.cleaning` instead.
"""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.482602218505602
MIN_SIGMA = 1.0

__all__ = ["robust_stats", "find_spikes", "correct_spikes", "compare_copies", "rms_spread"]


def robust_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sigma (1.4826 MAD floored at 1) along the last axis."""
    xf = np.asarray(x, dtype=np.float64)
    med = np.median(xf, axis=-1, keepdims=True)
    mad = np.median(np.abs(xf - med), axis=-1, keepdims=True)
    return med, np.maximum(MAD_TO_SIGMA * mad, MIN_SIGMA)


def find_spikes(x: np.ndarray, amp_k: float, jump_k: float) -> np.ndarray:
    """uint8 mask: bit 1 amplitude outliers, bit 2 jump spikes (rows, samples)."""
    xf = np.asarray(x, dtype=np.float64)
    med, sig = robust_stats(xf)
    dev = np.abs(xf - med)
    amp = dev > amp_k * sig
    d = np.diff(xf, axis=-1)
    med_d, sig_d = robust_stats(d)
    e = d - med_d
    big = np.abs(e) > jump_k * sig_d
    jump = np.zeros(xf.shape, dtype=bool)
    jump[..., 1:-1] = (
        big[..., :-1] & big[..., 1:] & (e[..., :-1] * e[..., 1:] < 0)
        & ~(amp[..., :-2] & amp[..., 2:])
    )
    jump[..., 0] = big[..., 0] & (dev[..., 0] > dev[..., 1])
    jump[..., -1] = big[..., -1] & (dev[..., -1] > dev[..., -2])
    return (amp.astype(np.uint8) * 1) | (jump.astype(np.uint8) * 2)


def _mean_half_away(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = a.astype(np.int64) + b.astype(np.int64)
    return np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))


def correct_spikes(x: np.ndarray, mask: np.ndarray, msb_bit: int, keep_k: float) -> np.ndarray:
    """Corrected copy of integer traces ``x`` (rows, samples) given a spike mask."""
    x_all = np.asarray(x)
    out_all = x_all.copy()
    spike_all = np.asarray(mask) != 0
    todo = np.flatnonzero(spike_all.any(axis=1))  # rows without spikes stay as they are
    if todo.size == 0:
        return out_all
    x, spike = x_all[todo], spike_all[todo]
    out = x.copy()
    rows, n = x.shape
    med, sig = robust_stats(x)
    flipped = (x.astype(np.int64) ^ (1 << msb_bit))
    keep = np.abs(flipped - med) <= keep_k * sig
    idx = np.broadcast_to(np.arange(n), x.shape)
    # nearest clean index at or before / at or after each sample (-1 / n when none)
    prev = np.maximum.accumulate(np.where(spike, -1, idx), axis=-1)
    nxt = np.minimum.accumulate(np.where(spike, n, idx)[:, ::-1], axis=-1)[:, ::-1]
    nxt_pad = np.concatenate([nxt, np.full((rows, 1), n)], axis=1)
    prev_pad = np.concatenate([np.full((rows, 1), -1), prev], axis=1)  # prev_pad[:, k+1] = prev[:, k]
    r = np.arange(rows)[:, None]
    right2 = np.take_along_axis(nxt_pad, np.clip(nxt + 1, 0, n), axis=1)  # next clean after nxt
    left2 = np.take_along_axis(prev_pad, np.clip(prev, 0, n), axis=1)  # prev clean before prev
    xi = x.astype(np.int64)

    def val(k):
        return xi[r, np.clip(k, 0, n - 1)]

    both = (prev >= 0) & (nxt < n)
    only_right = (prev < 0) & (nxt < n) & (right2 < n)
    only_left = (nxt >= n) & (prev >= 0) & (left2 >= 0)
    repl = np.where(both, _mean_half_away(val(prev), val(nxt)),
                    np.where(only_right, _mean_half_away(val(nxt), val(right2)),
                             _mean_half_away(val(prev), val(left2))))
    can_replace = both | only_right | only_left
    new = np.where(keep, flipped, np.where(can_replace, repl, xi))
    out[spike] = new[spike].astype(x.dtype)
    out_all[todo] = out
    return out_all


def compare_copies(x: np.ndarray) -> np.ndarray:
    """Majority repair of (events, copies, samples) integer traces (loops over disagreements)."""
    out = np.array(x, copy=True)
    agree = np.all(out == out[:, :1, :], axis=1)
    for e, i in zip(*np.nonzero(~agree)):
        vals, counts = np.unique(out[e, :, i], return_counts=True)
        order = np.argsort(counts)[::-1]
        best = counts[order[0]]
        second = counts[order[1]] if len(counts) > 1 else 0
        if best >= 2 and best > second:
            out[e, :, i] = vals[order[0]]
    return out


def rms_spread(x: np.ndarray, window: int, n_smallest: int) -> tuple[np.ndarray, np.ndarray]:
    """(rms, spread) of (events, copies, samples) traces; windows stay inside each copy."""
    from numpy.lib.stride_tricks import sliding_window_view

    xf = np.asarray(x, dtype=np.float64)
    sliding = np.sqrt(np.mean(sliding_window_view(xf, window, axis=-1) ** 2, axis=-1))
    rms = sliding.min(axis=(-1, -2))
    n_seg = xf.shape[-1] // window
    seg = xf[..., : n_seg * window].reshape(*xf.shape[:-1], n_seg, window)
    seg_rms = np.sqrt(np.mean(seg**2, axis=-1)).reshape(xf.shape[0], -1)
    k = min(n_smallest, seg_rms.shape[1])
    spread = np.sort(seg_rms, axis=1)[:, :k].std(axis=1)
    return rms, spread
