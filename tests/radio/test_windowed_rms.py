import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.stride_tricks import sliding_window_view

from icecore.errors import InputError
from icecore.radio import windowed_rms

pytestmark = pytest.mark.kernel


def reference(x, window):
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt(np.mean(sliding_window_view(x, window, axis=-1) ** 2, axis=-1)).min(axis=-1)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, np.float64, np.uint8, np.int64])
def test_matches_numpy_sliding_window(dtype):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 50, size=(7, 1024))
    if np.dtype(dtype).kind in "iu":
        x = np.clip(np.rint(x), np.iinfo(dtype).min, np.iinfo(dtype).max)
    x = x.astype(dtype)
    got = windowed_rms(x, 120)
    np.testing.assert_allclose(got, reference(x, 120), rtol=1e-12 if dtype != np.float32 else 1e-6)
    assert got.shape == (7,)


def test_quiet_stretch_is_found_and_pulse_ignored():
    x = np.full((1, 1000), 10.0)
    x[0, 500:620] = 1.0  # exactly one quiet window
    x[0, 100:110] = 1000.0
    assert windowed_rms(x, 120)[0] == pytest.approx(1.0, rel=1e-14)
    assert windowed_rms(x, 121)[0] == pytest.approx(np.sqrt((120 * 1 + 100) / 121), rel=1e-14)


def test_window_equal_to_trace_and_window_one():
    x = np.arange(1, 11, dtype=np.int16)[None, :]
    assert windowed_rms(x, 10)[0] == pytest.approx(np.sqrt(np.mean(np.arange(1, 11) ** 2)))
    assert windowed_rms(x, 1)[0] == 1.0


def test_nd_shapes_preserved():
    x = np.random.default_rng(0).integers(-100, 100, size=(3, 4, 256)).astype(np.int16)
    got = windowed_rms(x, 32)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, reference(x, 32))
    assert windowed_rms(x[0, 0], 32).shape == ()


def test_large_dynamic_range_no_drift():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1e-3, size=(1, 20000))
    x[0, :50] = 1e6  # huge values early must not pollute later windows through rounding
    np.testing.assert_allclose(windowed_rms(x, 120), reference(x, 120), rtol=1e-9)


def test_threads_do_not_change_results():
    x = np.random.default_rng(2).normal(0, 5, size=(101, 300))
    a = windowed_rms(x, 50, threads=1)
    b = windowed_rms(x, 50, threads=4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "traces, window, argname",
    [
        (np.float64(3.0), 1, "traces"),
        (np.zeros((2, 0)), 1, "traces"),
        (np.zeros((0, 10)), 1, "traces"),
        (np.array([["a", "b"]]), 1, "traces"),
        (np.array([[1 + 1j, 2]]), 1, "traces"),
        (np.array([[True, False]]), 1, "traces"),
        (np.ones((2, 10)), 11, "window"),
        (np.ones((2, 10)), 0, "window"),
        (np.ones((2, 10)), 2.5, "window"),
        (np.array([[1.0, np.nan, 2.0]]), 2, "traces"),
        (np.array([[1.0, np.inf, 2.0]]), 2, "traces"),
        ("abc", 1, "traces"),
        ([[1, 2], [3]], 1, "traces"),
    ],
)
def test_bad_input_names_argument(traces, window, argname):
    with pytest.raises(ValueError) as err:
        windowed_rms(traces, window)
    assert isinstance(err.value, InputError)
    assert f"'{argname}'" in str(err.value)


def test_negative_threads_rejected():
    with pytest.raises(ValueError, match="'threads'"):
        windowed_rms(np.ones((2, 10)), 3, threads=-1)


def test_binding_validates_on_its_own():
    # The compiled function is a second line of defence: it must refuse bad input too.
    from icecore import _core

    with pytest.raises(ValueError, match="'traces'"):
        _core.radio.windowed_rms_min(np.ones(5), 2)
    with pytest.raises(ValueError, match="'window'"):
        _core.radio.windowed_rms_min(np.ones((1, 5)), 6)
    with pytest.raises(ValueError, match="NaN"):
        _core.radio.windowed_rms_min(np.array([[1.0, np.nan]]), 1)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.int16, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=200)),
    data=st.data(),
)
def test_property_int16_exact(x, data):
    window = data.draw(st.integers(1, x.shape[1]))
    got = windowed_rms(x, window, threads=2)
    np.testing.assert_allclose(got, reference(x, window), rtol=1e-12)
    assert np.all(got >= 0)


# --- RMS spread ---------------------------------------------------------------------------------

from icecore.radio import _numpy_reference as ref  # noqa: E402
from icecore.radio import rms_spread  # noqa: E402


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, np.float64])
def test_rms_spread_matches_numpy_over_copies(dtype):
    rng = np.random.default_rng(5)
    x = rng.normal(0, 30, size=(9, 4, 1024))
    x[2, :, :800] *= 6  # a long burst raises the spread, not the RMS amplitude
    if np.dtype(dtype).kind == "i":
        x = np.rint(x)
    x = x.astype(dtype)
    rms, spread = rms_spread(x, 120, 10)
    r2, s2 = ref.rms_spread(x, 120, 10)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(rms, r2, rtol=tol)
    np.testing.assert_allclose(spread, s2, rtol=tol, atol=1e-12)
    np.testing.assert_allclose(rms, windowed_rms(x, 120).min(axis=1), rtol=tol)  # no window straddles copies
    assert spread[2] > 3 * np.median(spread)


def test_rms_spread_uses_ten_smallest_of_32_subtraces():
    # 4 copies x 8 sub-traces of constant amplitude k+1: the 10 smallest are 1,1,1,1,2,2,2,2,3,3
    x = np.zeros((1, 4, 960))
    for c in range(4):
        for k in range(8):
            x[0, c, 120 * k:120 * (k + 1)] = (k + 1) * (1 if (k + c) % 2 else -1)
    rms, spread = rms_spread(x)
    assert rms[0] == pytest.approx(1.0)
    assert spread[0] == pytest.approx(np.std([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]))
    # per copy: 8 sub-traces only, all of them used
    r1, s1 = rms_spread(x[0], combine_copies=False)
    np.testing.assert_allclose(s1, np.std(np.arange(1, 9)))


def test_rms_spread_single_subtrace_and_threads():
    x = np.random.default_rng(1).normal(size=(50, 2, 130))
    rms, spread = rms_spread(x, 120, 10, threads=1)
    assert np.all(spread >= 0)
    r2, s2 = rms_spread(x, 120, 10, threads=3)
    np.testing.assert_array_equal(rms, r2)
    np.testing.assert_array_equal(spread, s2)
    _, s_one = rms_spread(x[:, :1], 120, 10)
    np.testing.assert_array_equal(s_one, 0.0)


@settings(max_examples=40, deadline=None)
@given(x=hnp.arrays(np.int16, st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(2, 90))), data=st.data())
def test_property_rms_spread_int16(x, data):
    window = data.draw(st.integers(1, x.shape[2]))
    k = data.draw(st.integers(1, 12))
    rms, spread = rms_spread(x, window, k, threads=2)
    r2, s2 = ref.rms_spread(x, window, k)
    np.testing.assert_allclose(rms, r2, rtol=1e-12)
    np.testing.assert_allclose(spread, s2, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(traces=np.ones(10)), "traces"),
        (dict(traces=np.ones((2, 10)), window=11), "window"),
        (dict(traces=np.ones((2, 10)), window=0), "window"),
        (dict(traces=np.ones((2, 10)), n_smallest=0), "n_smallest"),
        (dict(traces=np.array([[np.nan, 1.0, 2.0]]), window=1), "traces"),
    ],
)
def test_rms_spread_bad_input(kwargs, arg):
    with pytest.raises(InputError, match=f"'{arg}'"):
        rms_spread(**kwargs)
