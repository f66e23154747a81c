import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from icecore.errors import InputError
from icecore.radio import _numpy_reference as ref
from icecore.radio import clean_events, compare_copies, correct_spikes, find_spikes, isolation_forest_spikes
from icecore.radio.simulate import simulate

pytestmark = pytest.mark.kernel


def noise(rows, n=1024, sigma=20.0, seed=0, dtype=np.int16):
    return np.rint(np.random.default_rng(seed).normal(0, sigma, (rows, n))).astype(dtype)


def inject_flips(x, per_row, bit, seed):
    rng = np.random.default_rng(seed)
    y = x.copy()
    pos = np.array([rng.choice(x.shape[1], per_row, replace=False) for _ in range(x.shape[0])])
    for r in range(x.shape[0]):
        y[r, pos[r]] ^= x.dtype.type(1 << bit)
    return y, pos


def test_robust_stats_match_numpy():
    from icecore import _core

    x = noise(50, 1001, seed=1)
    x[3] = 7  # constant trace: MAD 0 -> floored sigma 1
    med, sig = _core.radio.robust_stats(x)
    m2, s2 = ref.robust_stats(x)
    np.testing.assert_array_equal(med, m2[:, 0])
    np.testing.assert_array_equal(sig, s2[:, 0])
    assert sig[3] == 1.0
    assert sig[0] == pytest.approx(20.0, rel=0.1)


@pytest.mark.parametrize("dtype, bits", [(np.int16, 12), (np.int16, 16), (np.int32, 14)])
def test_msb_flips_restored_exactly(dtype, bits):
    x = noise(400, dtype=dtype, seed=2)
    y, pos = inject_flips(x, 3, bits - 2, seed=3)
    mask = find_spikes(y)
    # every flip is found, and nothing else
    expected = np.zeros(x.shape, bool)
    np.put_along_axis(expected, pos, True, axis=1)
    np.testing.assert_array_equal(mask != 0, expected)
    fixed, counts = correct_spikes(y, mask, adc_bits=bits)
    np.testing.assert_array_equal(fixed, x)
    assert counts["flipped"].sum() == 3 * 400 and counts["replaced"].sum() == 0


def test_flip_of_large_sample_is_replaced_not_kept():
    # A sample that was already far out (a pulse) cannot be restored by the flip rule: the
    # flipped-back value is checked against 5 MAD and the neighbour mean is used instead.
    x = noise(1, 200, seed=4)
    x[0, 100] = 400  # 20 sigma, bit 10 not set
    x[0, 99], x[0, 101] = 10, -3
    mask = np.zeros_like(x, dtype=np.uint8)
    mask[0, 100] = 1
    fixed, counts = correct_spikes(x, mask, adc_bits=12)
    assert fixed[0, 100] == 4  # mean(10, -3) = 3.5 rounded half away from zero
    assert counts["replaced"][0] == 1 and counts["flipped"][0] == 0


def test_end_rules_use_two_inner_neighbours():
    x = np.array([[900, 5, 8, 1, 2, 3, -2, 0, 1, 2, 3, -1, -3, 7, 9, -800]], dtype=np.int16)
    mask = find_spikes(x, 6, 6)
    assert mask[0, 0] and mask[0, -1] and not mask[0, 1:-1].any()
    fixed, _ = correct_spikes(x, mask, adc_bits=16)  # bit 14 flips are implausible here
    assert fixed[0, 0] == 7  # mean(5, 8) = 6.5 -> 7
    assert fixed[0, -1] == 8  # mean(7, 9)
    np.testing.assert_array_equal(fixed, ref.correct_spikes(x, mask, 14, 5.0))


def test_adjacent_spikes_and_spikes_two_apart():
    x = noise(1, 300, seed=5)
    y = x.copy()
    for s in (50, 51, 120, 122):
        y[0, s] ^= 1024
    mask = find_spikes(y)
    assert set(np.flatnonzero(mask[0])) == {50, 51, 120, 122}  # not 121 between two spikes
    fixed, _ = correct_spikes(y, mask)
    np.testing.assert_array_equal(fixed, x)


def test_jump_method_finds_small_spikes_amplitude_misses():
    # a smooth, large oscillation: amplitude cut is loose, but a one-sample step stands out
    t = np.arange(1024)
    x = np.rint(300 * np.sin(2 * np.pi * t / 256) + np.random.default_rng(6).normal(0, 2, 1024)).astype(np.int16)[None]
    x[0, 500] += 120
    mask = find_spikes(x, 6, 6)
    assert mask[0, 500] == 2  # jump only
    assert np.count_nonzero(mask) == 1


@settings(max_examples=80, deadline=None)
@given(
    x=hnp.arrays(np.int16, st.tuples(st.integers(1, 6), st.integers(3, 300)),
                 elements=st.integers(-2048, 2047)),
    amp=st.floats(1.0, 10.0),
    jump=st.floats(1.0, 10.0),
    keep=st.floats(0.5, 8.0),
    bit=st.integers(0, 14),
)
def test_property_identical_to_numpy_rules(x, amp, jump, keep, bit):
    mask = find_spikes(x, amp, jump, threads=2)
    np.testing.assert_array_equal(mask, ref.find_spikes(x, amp, jump))
    fixed, counts = correct_spikes(x, mask, adc_bits=bit + 2, keep_k=keep, threads=2)
    np.testing.assert_array_equal(fixed, ref.correct_spikes(x, mask, bit, keep))
    n = np.count_nonzero(mask, axis=1)
    np.testing.assert_array_equal(counts["flipped"] + counts["replaced"] + counts["unresolved"], n)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.int16, st.tuples(st.integers(1, 5), st.integers(2, 5), st.integers(1, 40)),
                    elements=st.integers(-3, 3)))
def test_property_copy_comparison(x):
    rep, changed, unresolved = compare_copies(x, threads=2)
    np.testing.assert_array_equal(rep, ref.compare_copies(x))
    assert changed.sum() == np.count_nonzero(rep != x)
    still = ~np.all(rep == rep[:, :1], axis=1)
    np.testing.assert_array_equal(unresolved, still.sum(axis=1))


def test_copy_comparison_repairs_single_copy_and_leaves_ties():
    x = np.tile(noise(3, 64, seed=7)[:, None, :], (1, 4, 1))
    y = x.copy()
    y[0, 2, 10] ^= 1024
    y[1, 0, 5] += 300
    y[1, 1, 5] -= 200  # two different corruptions: 2 copies still agree -> repaired
    y[2, 0, 7] += 50
    y[2, 1, 7] += 50  # 2-2 tie -> unresolved
    rep, changed, unresolved = compare_copies(y)
    np.testing.assert_array_equal(rep[:2], x[:2])
    assert changed[0].tolist() == [0, 0, 1, 0] and changed[1].tolist() == [1, 1, 0, 0]
    assert unresolved.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(rep[2], y[2])


def test_threads_do_not_change_results():
    y, _ = inject_flips(noise(301, 512, seed=8), 2, 10, seed=9)
    a = find_spikes(y, threads=1)
    b = find_spikes(y, threads=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(correct_spikes(y, a, threads=1)[0], correct_spikes(y, a, threads=4)[0])


def test_full_chain_restores_simulated_flips_exactly():
    data, truth = simulate("2024-05-01", 0.5, seed=10, keep_clean=True, msb_flip_rate=3.0,
                           pulse_rate=0.0, spike_rate=0.0, burst_rate=0.0)
    assert len(truth.msb_flips) > 200 and np.sum(truth.msb_flips[:, 2] == -1) > 50  # some in all copies
    for ch in range(data.n_channels):
        res = clean_events(data.traces[ch], adc_bits=data.adc_bits)
        np.testing.assert_array_equal(res.traces, truth.clean_traces[ch])
        # single-copy flips are repaired by the copy comparison; flips in all copies are spikes
        f = truth.msb_flips[(truth.msb_flips[:, 0] == ch) & (truth.msb_flips[:, 2] == -1)]
        common = np.bincount(f[:, 1], minlength=data.n_events)
        np.testing.assert_array_equal(res.n_spikes, common)
        np.testing.assert_array_equal(res.rejected, common > 5)
    # with the default rates (pulses, other spikes, bursts) every flip is still restored
    data, truth = simulate("2024-05-01", 1.0, seed=11, keep_clean=True)
    for ch in range(data.n_channels):
        res = clean_events(data.traces[ch], adc_bits=data.adc_bits)
        f = truth.msb_flips[truth.msb_flips[:, 0] == ch]
        for _, ev, cp, s in f:
            np.testing.assert_array_equal(res.traces[ev, :, s], truth.clean_traces[ch, ev, :, s])


def test_rejection_of_events_with_many_spikes():
    x = np.tile(noise(3, 256, seed=12)[:, None, :], (1, 4, 1))
    x[1, :, [10, 30, 50, 70, 90]] += 400  # 5 spikes: kept
    x[2, 0, [10, 30, 50]] += 400  # in copy 0 only: the copy comparison repairs them
    x[2, :, [11, 31, 51, 71, 91, 111]] -= 400  # 6 in all copies: rejected
    res = clean_events(x)
    assert res.n_spikes.tolist() == [0, 5, 6]
    assert res.rejected.tolist() == [False, False, True]
    assert res.n_copy_repaired.tolist() == [0, 0, 3]


def test_isolation_forest_flags_flips():
    pytest.importorskip("sklearn")
    x = noise(40, 512, seed=13)
    y, pos = inject_flips(x, 2, 10, seed=14)
    m = isolation_forest_spikes(y, seed=1)
    expected = np.zeros(x.shape, bool)
    np.put_along_axis(expected, pos, True, axis=1)
    assert np.all(m[expected] == 4)
    assert np.count_nonzero(m[~expected]) <= 5  # few false alarms in 20000 noise samples
    np.testing.assert_array_equal(m, isolation_forest_spikes(y, seed=1))  # seeded
    res = clean_events(np.repeat(y[:, None], 4, axis=1), use_forest=True)
    np.testing.assert_array_equal(res.traces[:, 0], x)


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: find_spikes(np.zeros((2, 2), np.int16)), "traces"),
        (lambda: find_spikes(np.zeros((2, 8)), 6, 6), "traces"),  # float traces
        (lambda: find_spikes(np.zeros((2, 8), np.int16), 0.0), "amp_k"),
        (lambda: find_spikes(np.zeros((2, 8), np.int16), 6, np.nan), "jump_k"),
        (lambda: correct_spikes(np.zeros((2, 8), np.int16), np.zeros((2, 7), np.uint8)), "mask"),
        (lambda: correct_spikes(np.zeros((2, 8), np.int16), np.zeros((2, 8), bool), adc_bits=17), "adc_bits"),
        (lambda: correct_spikes(np.zeros((2, 8), np.int16), np.zeros((2, 8))), "mask"),
        (lambda: correct_spikes(np.zeros((2, 8), np.int16), np.zeros((2, 8), np.uint8), keep_k=-1), "keep_k"),
        (lambda: compare_copies(np.zeros((2, 1, 8), np.int16)), "traces"),
        (lambda: compare_copies(np.zeros((2, 8), np.int16)), "traces"),
        (lambda: clean_events(np.zeros((2, 4, 8), np.int16), max_spikes=-1), "max_spikes"),
    ],
)
def test_bad_input(call, arg):
    with pytest.raises(InputError) as err:
        call()
    assert f"'{arg}'" in str(err.value)


def test_bindings_validate_on_their_own():
    from icecore import _core

    with pytest.raises(ValueError, match="'msb_bit'"):
        _core.radio.correct_spikes(np.zeros((1, 8), np.int16), np.zeros((1, 8), np.uint8), 15, 5.0)
    with pytest.raises(ValueError, match="'traces'"):
        _core.radio.find_spikes(np.zeros((1, 2), np.int16), 6.0, 6.0)
    with pytest.raises(ValueError, match="'amp_k'"):
        _core.radio.find_spikes(np.zeros((1, 8), np.int16), -1.0, 6.0)
    with pytest.raises(ValueError, match="'traces'"):
        _core.radio.compare_copies(np.zeros((2, 1, 8), np.int16))
