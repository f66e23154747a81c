import numpy as np
import pytest

from icecore.errors import InputError
from icecore.radio import gc_azimuth, simulate, simulate_months
from icecore.radio.orientation import month_labels


def test_seeded_and_truth_consistent():
    a, ta = simulate("2024-06-01", 0.5, seed=5, antennas=2, arm_azimuth_deg=[10.0, 100.0], swapped=[1])
    b, tb = simulate("2024-06-01", 0.5, seed=5, antennas=2, arm_azimuth_deg=[10.0, 100.0], swapped=[1])
    np.testing.assert_array_equal(a.traces, b.traces)
    np.testing.assert_array_equal(a.times_mjd, b.times_mjd)
    assert a.traces.shape[0] == 4 and a.traces.shape[2:] == (4, 1024)
    np.testing.assert_allclose(ta.arm_azimuth_deg, [10.0, 100.0, 10.0, 100.0])  # antenna 2 swapped
    np.testing.assert_allclose(ta.gc_azimuth_deg, gc_azimuth(a.times_mjd))
    assert a.antenna.tolist() == [1, 1, 2, 2] and a.polarisation.tolist() == [0, 1, 0, 1]
    c, _ = simulate("2024-06-01", 0.5, seed=6)
    assert c.times_mjd.size != a.times_mjd.size or not np.array_equal(c.times_mjd, a.times_mjd)


def test_rates_gaps_and_power_model():
    d, t = simulate("2024-01-01", 10, seed=1, events_per_hour=10, daily_gap_hours=6, daily_gap_start_hour=3,
                    arm_azimuth_deg=0.0, galactic_modulation=0.4)
    hours = np.mod(d.times_mjd * 24, 24)
    assert not np.any((hours >= 3) & (hours < 9))
    assert d.n_events == pytest.approx(10 * 18 * 10, rel=0.1)
    assert np.all(np.diff(d.times_mjd) > 0)
    # power: 1 - 0.4 cos 2(phi_GC - phi_arm)
    np.testing.assert_allclose(t.galactic_power[0], 1 - 0.4 * np.cos(2 * np.radians(t.gc_azimuth_deg)))
    # the raw noise level follows it: loudest when the GC is perpendicular to the arm
    x = d.traces[0, :, 0].astype(float)
    rms = x.std(axis=1)
    perp = np.abs(np.cos(np.radians(t.gc_azimuth_deg))) < 0.3
    para = np.abs(np.sin(np.radians(t.gc_azimuth_deg))) < 0.3
    assert np.median(rms[perp]) > 1.1 * np.median(rms[para])


def test_corruption_only_in_recorded_places():
    d, t = simulate("2024-01-01", 0.5, seed=2, keep_clean=True, msb_flip_rate=1.0, spike_rate=1.0, common_fraction=0.5)
    diff = d.traces != t.clean_traces
    where = set()
    for ch, ev, cp, s in np.concatenate([t.msb_flips, t.spikes]):
        for c in (range(4) if cp == -1 else [cp]):
            where.add((ch, ev, c, s))
    assert set(map(tuple, np.argwhere(diff))) <= where
    for ch, ev, cp, s in t.msb_flips:
        c = 0 if cp == -1 else cp
        assert d.traces[ch, ev, c, s] ^ t.clean_traces[ch, ev, c, s] == 1 << 10
    # clean copies are identical
    assert np.all(t.clean_traces == t.clean_traces[:, :, :1])


def test_months_split_at_calendar_boundaries():
    parts = list(simulate_months("2024-01-30", 3.0, seed=1, events_per_hour=2, arm_azimuth_deg=20.0))
    assert [month_labels(d.times_mjd[:1])[0] for d, _ in parts] == ["2024-01", "2024-02"]
    assert all(len(set(month_labels(d.times_mjd))) == 1 for d, _ in parts)


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        (dict(days=-1), "days"),
        (dict(galactic_modulation=1.0), "galactic_modulation"),
        (dict(adc_bits=20), "adc_bits"),
        (dict(band_mhz=(300, 200)), "band_mhz"),
        (dict(rfi_lines_mhz=(100.0,), rfi_amplitude_adc=(1.0, 2.0)), "rfi_amplitude_adc"),
        (dict(swapped=[3]), "swapped"),
        (dict(seed=-1), "seed"),
        (dict(start="nonsense"), "start"),
    ],
)
def test_bad_parameters(kwargs, arg):
    kw = dict(start="2024-01-01", days=0.1)
    kw.update(kwargs)
    with pytest.raises(InputError, match=f"'{arg}'"):
        simulate(**kw)
