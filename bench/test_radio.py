"""Radio kernels against the baselines a user would otherwise write."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import uniform_filter1d

from icecore.radio import windowed_rms

WINDOW = 120


@pytest.fixture(scope="module")
def traces(bench_scale):
    rows = max(1, int(4000 * bench_scale))
    rng = np.random.default_rng(7)
    x = np.clip(np.rint(rng.normal(0, 40, size=(rows, 1024))), -32768, 32767).astype(np.int16)
    return x


def numpy_sliding(x):
    xf = x.astype(np.float64)
    return np.sqrt(np.mean(sliding_window_view(xf, WINDOW, axis=-1) ** 2, axis=-1)).min(axis=-1)


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


def test_windowed_rms_icecore_1thread(benchmark, record, traces, expected):
    record(benchmark, role="icecore", size=f"{traces.shape[0]} x {traces.shape[1]} int16, window {WINDOW}, 1 thread",
           items=traces.shape[0], bytes=traces.nbytes)
    benchmark.group = "radio.windowed_rms"
    got = benchmark(windowed_rms, traces, WINDOW, threads=1)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


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
