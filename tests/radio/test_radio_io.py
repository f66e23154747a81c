import numpy as np
import pytest

from icecore.errors import DataFormatError, InputError
from icecore.radio import NoiseTable, RadioData, load, load_noise_table, save, save_noise_table
from icecore.radio.io import FORMAT


def small(n_ev=5, dtype=np.int16):
    rng = np.random.default_rng(0)
    return RadioData(
        times_mjd=60000.0 + np.arange(n_ev) * 0.01,
        traces=rng.integers(-100, 100, size=(2, n_ev, 4, 64)).astype(dtype),
        antenna=np.array([3, 3]),
        polarisation=np.array([0, 1]),
        sampling_rate_hz=1e9,
        adc_bits=12,
        station="test",
    )


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_round_trip(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    d = small()
    p = save(d, tmp_path / f"x{suffix}")
    e = load(p)
    np.testing.assert_array_equal(e.traces, d.traces)
    np.testing.assert_array_equal(e.times_mjd, d.times_mjd)
    assert e.traces.dtype == np.int16
    assert (e.sampling_rate_hz, e.adc_bits, e.station) == (1e9, 12, "test")
    assert e.channel_label(1) == "A3P1"


def _write(path, **override):
    d = small()
    fields = dict(format=np.array(FORMAT), times_mjd=d.times_mjd, traces=d.traces, antenna=d.antenna,
                  polarisation=d.polarisation, sampling_rate_hz=np.array(1e9), adc_bits=np.array(12))
    fields.update(override)
    fields = {k: v for k, v in fields.items() if v is not None}
    np.savez(path, **fields)
    return path


@pytest.mark.parametrize(
    "override, field",
    [
        (dict(format=np.array("something-else")), "format"),
        (dict(times_mjd=None), "times_mjd"),
        (dict(times_mjd=np.array([1.0, 3.0, 2.0, 4.0, 5.0])), "times_mjd"),
        (dict(times_mjd=np.array([1.0, 2.0, 2.0, 4.0, 5.0])), "times_mjd"),
        (dict(times_mjd=np.array([1.0, 2.0, np.nan, 4.0, 5.0])), "times_mjd"),
        (dict(traces=np.zeros((2, 5, 4, 64))), "traces"),
        (dict(traces=np.zeros((2, 5, 64), np.int16)), "traces"),
        (dict(traces=np.zeros((2, 4, 4, 64), np.int16)), "traces"),
        (dict(traces=np.full((2, 5, 4, 64), 3000, np.int16)), "traces"),  # outside 12 bits
        (dict(antenna=np.array([1])), "antenna"),
        (dict(polarisation=np.array([0, 0])), "antenna"),  # duplicate channel
        (dict(polarisation=np.array([0, 2])), "polarisation"),
        (dict(sampling_rate_hz=np.array(-1.0)), "sampling_rate_hz"),
        (dict(adc_bits=np.array(20)), "adc_bits"),
        (dict(adc_bits=np.array([12, 12])), "adc_bits"),
    ],
)
def test_validation_names_file_and_field(tmp_path, override, field):
    p = _write(tmp_path / "bad.npz", **override)
    with pytest.raises(DataFormatError) as err:
        load(p)
    assert field in str(err.value) and "bad.npz" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_not_a_file_and_garbage(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataFormatError, match="junk.npz"):
        load(tmp_path / "junk.npz")


def test_in_memory_validation_raises_input_error():
    d = small()
    with pytest.raises(InputError, match="'times_mjd'"):
        RadioData(times_mjd=d.times_mjd[::-1], traces=d.traces, antenna=d.antenna, polarisation=d.polarisation)


def test_noise_table_round_trip_and_concatenate(tmp_path):
    n = 6
    t = NoiseTable(times_mjd=60000 + np.arange(n) * 0.1, antenna=np.array([1, 1]), polarisation=np.array([0, 1]),
                   rms=np.ones((2, n)), spread=np.full((2, n), 0.1), rejected=np.zeros((2, n), bool),
                   n_spikes=np.zeros((2, n), np.int32), n_flipped=np.zeros((2, n), np.int32),
                   n_replaced=np.zeros((2, n), np.int32), n_copy_repaired=np.zeros((2, n), np.int32),
                   meta={"band_mhz": [150, 170]})
    p = save_noise_table(t, tmp_path / "noise.npz")
    u = load_noise_table(p)
    np.testing.assert_array_equal(u.rms, t.rms)
    assert u.meta == {"band_mhz": [150, 170]}
    both = NoiseTable.concatenate([u, load_noise_table(p)])
    assert both.rms.shape == (2, 2 * n)
    with pytest.raises(DataFormatError, match="format"):
        load_noise_table(_write(tmp_path / "wave.npz"))


def test_truncated_npz_is_a_data_format_error_naming_the_file(tmp_path):
    import numpy as np

    from icecore.errors import DataFormatError
    from icecore.radio.io import load

    good = tmp_path / "good.npz"
    np.savez(good, a=np.arange(1000))
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataFormatError, match="truncated.npz"):
        load(bad)
