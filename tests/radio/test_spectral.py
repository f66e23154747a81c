import numpy as np
import pytest
from scipy.signal import welch

from icecore.errors import InputError
from icecore.radio.spectral import bandpass_response, filter_traces, inverted_spectrum_filter, median_window_bins


def test_median_window_bins():
    assert median_window_bins(31.0, 1000 / 1024) == 31  # 31.7 bins -> nearest odd
    assert median_window_bins(31.0, 1.0) == 31
    assert median_window_bins(1.0, 1.0) == 3


def test_inverted_filter_flattens_a_line():
    a = np.ones(200)
    a[80] = 10.0
    h = inverted_spectrum_filter(a, 1.0, 31.0)
    assert h[80] == pytest.approx(0.1)
    np.testing.assert_allclose(np.delete(h, 80), 1.0)
    assert inverted_spectrum_filter(np.zeros(50), 1.0)[0] == 0.0


def test_rfi_line_removed_and_band_limited():
    rng = np.random.default_rng(0)
    fs = 1e9
    n = 1024
    t = np.arange(n) / fs
    x = rng.normal(0, 10, (300, 2, n)) + 40 * np.sin(2 * np.pi * 160e6 * t + rng.uniform(0, 6.3, (300, 1, 1)))
    y = filter_traces(x, fs, band_mhz=(150, 170))
    f, p_in = welch(x.reshape(-1, n), fs=fs, nperseg=256, axis=-1)
    _, p_out = welch(y.reshape(-1, n), fs=fs, nperseg=256, axis=-1)
    p_in, p_out = p_in.mean(0), p_out.mean(0)
    line = np.argmin(np.abs(f - 160e6))
    # before: the line dominates the band; after: comparable to the white noise around it
    assert p_in[line] > 50 * np.median(p_in)
    white_in_band = np.median(p_in) * 1.0
    assert p_out[line] < 3 * white_in_band
    outside = (f < 140e6) | (f > 180e6)
    assert p_out[outside].max() < 1e-3 * white_in_band
    # without the inverted spectrum filter the line stays
    z = filter_traces(x, fs, passes=0)
    assert np.std(z) > 3 * np.std(y)


def test_groups_use_their_own_average_and_twice_is_stable():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (40, 512))
    x[:20] *= 5  # group 0 louder: the filter ratio is scale free, so levels are preserved
    g = np.repeat([0, 1], 20)
    y1 = filter_traces(x, 1e9, groups=g, band_mhz=None)
    assert np.std(y1[:20]) / np.std(y1[20:]) == pytest.approx(5.0, rel=0.15)
    y2 = filter_traces(x, 1e9, groups=g, passes=2, band_mhz=None)
    assert np.std(y2) == pytest.approx(np.std(y1), rel=0.05)


def test_bandpass_and_bad_input():
    f = np.arange(0, 500.0, 1.0)
    r = bandpass_response(f, (150, 170))
    assert r.sum() == 21 and r[149] == 0 and r[150] == 1
    with pytest.raises(InputError, match="'band_mhz'"):
        bandpass_response(f, (170, 150))
    with pytest.raises(InputError, match="'passes'"):
        filter_traces(np.zeros((2, 8)), 1e9, passes=3)
    with pytest.raises(InputError, match="'groups'"):
        filter_traces(np.zeros((2, 8)), 1e9, groups=[0])
    with pytest.raises(InputError, match="'traces'"):
        filter_traces(np.array([[np.nan, 1.0]]), 1e9)
