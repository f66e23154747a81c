"""Radio kernels against the baselines a user would otherwise write.

Sizes (ICECORE_BENCH_SCALE = s, default 1):
  windowed RMS:             4000 s traces of 1024 int16 (the numpy sliding-window baseline
                            materialises every window, so it is run in chunks and stays small);
  spike finding/correction: 10^4 s events of 4 copies x 1024 int16 = 4 * 10^4 s traces
                            (s = 10 gives the 10^5 events of the issue).
Every kernel runs on 1 thread and on 2 threads (this machine has 2 cores). The memcpy group
measures np.copyto of a large buffer in the same run; icecore groups note their GB/s per core
beside it.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import uniform_filter1d

from icecore.radio import _numpy_reference as ref
from icecore.radio import correct_spikes, find_spikes, rms_spread, windowed_rms

WINDOW = 120
ADC_BITS = 12
AMP_K = JUMP_K = 6.0
KEEP_K = 5.0


@pytest.fixture(scope="module")
def traces(bench_scale):
    rows = max(1, int(4000 * bench_scale))
    rng = np.random.default_rng(7)
    x = np.clip(np.rint(rng.normal(0, 40, size=(rows, 1024))), -32768, 32767).astype(np.int16)
    return x


def chunked(fn, x, rows=256):
    """Apply a row-wise numpy function in chunks (bounded memory), concatenating the results."""
    parts = [fn(x[i:i + rows]) for i in range(0, x.shape[0], rows)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts))
    return np.concatenate(parts)


def numpy_sliding(x):
    def one(c):
        xf = c.astype(np.float64)
        return np.sqrt(np.mean(sliding_window_view(xf, WINDOW, axis=-1) ** 2, axis=-1)).min(axis=-1)

    return chunked(one, x)


def scipy_uniform_filter(x):
    xf = x.astype(np.float64) ** 2
    # centred running mean; valid windows are those fully inside the trace
    m = uniform_filter1d(xf, WINDOW, axis=-1, mode="constant")
    h = WINDOW // 2
    valid = m[:, h : xf.shape[1] - (WINDOW - 1 - h)]
    return np.sqrt(valid.min(axis=-1))


@pytest.fixture(scope="module")
def expected(traces):
    return numpy_sliding(traces)


def test_windowed_rms_icecore(benchmark, record, traces, expected):
    record(benchmark, role="icecore", size=f"{traces.shape[0]} x {traces.shape[1]} int16, window {WINDOW}",
           items=traces.shape[0], bytes=traces.nbytes)
    benchmark.group = "radio.windowed_rms"
    got = benchmark(windowed_rms, traces, WINDOW)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_windowed_rms_icecore_2threads(benchmark, record, traces, expected, memcpy_gbps):
    record(benchmark, role="icecore", size=f"{traces.shape[0]} x {traces.shape[1]} int16, window {WINDOW}, 2 threads",
           items=traces.shape[0], bytes=traces.nbytes)
    benchmark.group = "radio.windowed_rms"
    got = benchmark(windowed_rms, traces, WINDOW, threads=2)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    note_rate(benchmark, traces.nbytes, 2, memcpy_gbps)


def test_windowed_rms_icecore_1thread(benchmark, record, traces, expected, memcpy_gbps):
    record(benchmark, role="icecore", size=f"{traces.shape[0]} x {traces.shape[1]} int16, window {WINDOW}, 1 thread",
           items=traces.shape[0], bytes=traces.nbytes)
    benchmark.group = "radio.windowed_rms"
    got = benchmark(windowed_rms, traces, WINDOW, threads=1)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    note_rate(benchmark, traces.nbytes, 1, memcpy_gbps)


def test_windowed_rms_numpy(benchmark, record, traces, expected):
    record(benchmark, role="baseline", baseline="numpy sliding_window_view", size=f"{traces.shape[0]} x 1024",
           items=traces.shape[0])
    benchmark.group = "radio.windowed_rms"
    got = benchmark.pedantic(numpy_sliding, args=(traces,), rounds=3, iterations=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_windowed_rms_scipy(benchmark, record, traces, expected):
    record(benchmark, role="baseline", baseline="scipy.ndimage.uniform_filter1d", size=f"{traces.shape[0]} x 1024",
           items=traces.shape[0])
    benchmark.group = "radio.windowed_rms"
    got = benchmark.pedantic(scipy_uniform_filter, args=(traces,), rounds=5, iterations=1)
    np.testing.assert_allclose(got, expected, rtol=1e-8)


# --- memory bandwidth reference ------------------------------------------------------------------


def _memcpy_rate(nbytes: int = 256 * 2**20, reps: int = 5) -> float:
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return nbytes / best / 1e9


@pytest.fixture(scope="module")
def memcpy_gbps() -> float:
    """np.copyto rate of a 256 MB buffer on this machine, GB/s (bytes copied per second)."""
    return _memcpy_rate()


def note_rate(benchmark, nbytes: int, threads: int, memcpy: float) -> None:
    if benchmark.stats is None:  # --benchmark-disable
        return
    st = benchmark.stats.stats
    per_core = nbytes / st.mean / threads / 1e9
    best = nbytes / st.min / threads / 1e9
    benchmark.extra_info.update(gb_per_s_per_core=per_core, gb_per_s_per_core_best=best, memcpy_gb_per_s=memcpy)
    benchmark.extra_info["note"] = (f"{benchmark.name}: {per_core:.3g} GB/s of input per core on {threads} thread(s) "
                                    f"(mean time; {best:.3g} GB/s from the fastest round); np.copyto memcpy on this "
                                    f"machine in the same run: {memcpy:.3g} GB/s (best of 5)")


def test_memcpy_reference(benchmark, record, memcpy_gbps):
    nbytes = 256 * 2**20
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    record(benchmark, role="reference", size="np.copyto of 256 MB float64", items=1, bytes=nbytes)
    benchmark.group = "radio.memcpy"
    benchmark.pedantic(np.copyto, args=(dst, src), rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["note"] = f"memcpy (np.copyto) {nbytes / benchmark.stats.stats.mean / 1e9:.3g} GB/s mean"
    assert np.array_equal(dst[:10], src[:10])


# --- spike finding and correction ------------------------------------------------------------------


@pytest.fixture(scope="module")
def events(bench_scale):
    """(events, 4, 1024) int16: Gaussian noise (sigma 20), MSB flips in all copies (about one event
    in 10) and in single copies, and additive spikes."""
    n = max(1, int(10_000 * bench_scale))
    rng = np.random.default_rng(11)
    x = np.clip(np.rint(rng.normal(0, 20, size=(n, 1024))), -2048, 2047).astype(np.int16)
    x = np.repeat(x[:, None, :], 4, axis=1)
    k = n // 10 + 1
    ev, cp, s = rng.integers(0, n, k), rng.integers(0, 4, k), rng.integers(0, 1024, k)
    x[ev, :, s] ^= np.int16(1 << (ADC_BITS - 2))
    x[ev[: k // 2], cp[: k // 2], (s[: k // 2] + 7) % 1024] ^= np.int16(1 << (ADC_BITS - 2))
    x[ev[k // 2:], cp[k // 2:], (s[k // 2:] + 300) % 1024] += rng.integers(150, 900, k - k // 2).astype(np.int16)
    return x.reshape(-1, 1024)


@pytest.fixture(scope="module")
def spike_mask(events):
    return chunked(lambda c: ref.find_spikes(c, AMP_K, JUMP_K), events, rows=4096)


@pytest.fixture(scope="module")
def corrected(events, spike_mask):
    return chunked(lambda i: ref.correct_spikes(events[i], spike_mask[i], ADC_BITS - 2, KEEP_K),
                   np.arange(events.shape[0]), rows=4096)


def _size(x, threads=None):
    t = "" if threads is None else f", {threads} thread{'s' if threads > 1 else ''}"
    return f"{x.shape[0] // 4} events x 4 x {x.shape[1]} int16{t}"


@pytest.mark.parametrize("threads", [1, 2])
def test_find_spikes_icecore(benchmark, record, events, spike_mask, threads, memcpy_gbps):
    record(benchmark, role="icecore", size=_size(events, threads), items=events.shape[0], bytes=events.nbytes)
    benchmark.group = "radio.find_spikes"
    got = benchmark(find_spikes, events, AMP_K, JUMP_K, threads=threads)
    np.testing.assert_array_equal(got, spike_mask)
    note_rate(benchmark, events.nbytes, threads, memcpy_gbps)


def test_find_spikes_numpy(benchmark, record, events, spike_mask):
    record(benchmark, role="baseline", baseline="numpy (same MAD rules, 4096-row chunks)", size=_size(events),
           items=events.shape[0])
    benchmark.group = "radio.find_spikes"
    got = benchmark.pedantic(chunked, args=(lambda c: ref.find_spikes(c, AMP_K, JUMP_K), events, 4096), rounds=2,
                             iterations=1)
    np.testing.assert_array_equal(got, spike_mask)
    assert np.count_nonzero(spike_mask) > events.shape[0] // 40  # the injected corruption is found


@pytest.mark.parametrize("threads", [1, 2])
def test_correct_spikes_icecore(benchmark, record, events, spike_mask, corrected, threads, memcpy_gbps):
    record(benchmark, role="icecore", size=_size(events, threads), items=events.shape[0], bytes=events.nbytes)
    benchmark.group = "radio.correct_spikes"
    got, _ = benchmark(correct_spikes, events, spike_mask, ADC_BITS, KEEP_K, threads=threads)
    np.testing.assert_array_equal(got, corrected)
    note_rate(benchmark, events.nbytes, threads, memcpy_gbps)


def test_correct_spikes_numpy(benchmark, record, events, spike_mask, corrected):
    record(benchmark, role="baseline", baseline="numpy (same rules, 4096-row chunks)", size=_size(events),
           items=events.shape[0])
    benchmark.group = "radio.correct_spikes"

    def run():
        return chunked(lambda i: ref.correct_spikes(events[i], spike_mask[i], ADC_BITS - 2, KEEP_K),
                       np.arange(events.shape[0]), rows=4096)

    got = benchmark.pedantic(run, rounds=2, iterations=1)
    np.testing.assert_array_equal(got, corrected)


# --- RMS amplitude and spread over the 4 copies ------------------------------------------------------


@pytest.fixture(scope="module")
def spread_expected(traces):
    ev = traces[: traces.shape[0] // 4 * 4].reshape(-1, 4, traces.shape[1])
    return ev, chunked(lambda c: ref.rms_spread(c, WINDOW, 10), ev, rows=64)


@pytest.mark.parametrize("threads", [1, 2])
def test_rms_spread_icecore(benchmark, record, spread_expected, threads):
    ev, (r, s) = spread_expected
    record(benchmark, role="icecore", size=f"{ev.shape[0]} events x 4 x 1024 int16, {threads} thread(s)",
           items=ev.shape[0], bytes=ev.nbytes)
    benchmark.group = "radio.rms_spread"
    rms, spread = benchmark(rms_spread, ev, WINDOW, 10, threads=threads)
    np.testing.assert_allclose(rms, r, rtol=1e-10)
    np.testing.assert_allclose(spread, s, rtol=1e-8, atol=1e-10)


def test_rms_spread_numpy(benchmark, record, spread_expected):
    ev, (r, s) = spread_expected
    record(benchmark, role="baseline", baseline="numpy sliding_window_view + sort", size=f"{ev.shape[0]} events",
           items=ev.shape[0])
    benchmark.group = "radio.rms_spread"
    rms, spread = benchmark.pedantic(chunked, args=(lambda c: ref.rms_spread(c, WINDOW, 10), ev, 64), rounds=2,
                                     iterations=1)
    np.testing.assert_array_equal(rms, r)
