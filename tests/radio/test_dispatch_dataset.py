"""dtype dispatch of the _core.radio overloads, the folder-level library functions behind the
CLI, and missing extras reported through icecore._optional."""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pytest

from icecore import _core, _progress
from icecore.radio import (
    clean_files,
    find_data_files,
    isolation_forest_spikes,
    load_noise_tables,
    rms_spread,
    simulate_dataset,
    windowed_rms,
)
from icecore.radio.cli import _gps


def _noise(shape, seed=0):
    return np.random.default_rng(seed).normal(0, 20, shape).round().astype(np.int16)


@pytest.mark.kernel
def test_each_dtype_has_its_own_overload():
    x = _noise((6, 300))
    ref = _core.radio.windowed_rms_min(x, 40)
    for dt in (np.int32, np.float32, np.float64):
        np.testing.assert_allclose(_core.radio.windowed_rms_min(x.astype(dt), 40), ref, rtol=1e-6)
    # the integer overloads sum exactly: int16 and int32 agree bit for bit
    assert np.array_equal(_core.radio.windowed_rms_min(x.astype(np.int32), 40), ref)
    r16, s16 = _core.radio.windowed_rms_spread(x, 300, 40, 5)
    r32, s32 = _core.radio.windowed_rms_spread(x.astype(np.int32), 300, 40, 5)
    assert np.array_equal(r16, r32) and np.array_equal(s16, s32)
    # cleaning overloads keep the sample type
    m = _core.radio.find_spikes(x, 6.0, 6.0)
    assert m.dtype == np.uint8
    for dt in (np.int16, np.int32):
        out, *_ = _core.radio.correct_spikes(x.astype(dt), m, 10, 5.0)
        assert out.dtype == dt
        assert _core.radio.compare_copies(x.astype(dt).reshape(3, 2, 300))[0].dtype == dt


@pytest.mark.kernel
def test_other_dtypes_fall_back_to_float64_or_are_refused():
    x = _noise((4, 200))
    # windowed RMS: any other array (int64, a non-contiguous int16 view) goes to the float64 overload
    f64 = _core.radio.windowed_rms_min(x.astype(np.float64), 30)
    assert np.array_equal(_core.radio.windowed_rms_min(x.astype(np.int64), 30), f64)
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    assert not wide.flags.c_contiguous
    assert np.array_equal(_core.radio.windowed_rms_min(wide, 30), f64)
    # the Python wrapper makes kernel dtypes contiguous first, so the int16 overload is used
    assert np.array_equal(windowed_rms(wide, 30), _core.radio.windowed_rms_min(x, 30))
    assert np.array_equal(rms_spread(wide, 40, 3, combine_copies=False)[1],
                          _core.radio.windowed_rms_spread(x, 200, 40, 3)[1])
    # cleaning kernels only take int16/int32: no silent cast of float samples
    with pytest.raises(TypeError):
        _core.radio.find_spikes(x.astype(np.float64), 6.0, 6.0)
    with pytest.raises(TypeError):
        _core.radio.robust_stats(x.astype(np.int64))


def test_gps_flag_parsing():
    assert _gps(None) is None
    assert _gps(["60"]) == 60.0
    assert _gps(["1=60", "2=70.5"]) == {1: 60.0, 2: 70.5}
    for bad in (["60", "1=70"], ["a=60"], ["1=x"], ["60,70"]):
        with pytest.raises(ValueError, match="--gps"):
            _gps(bad)


def test_simulate_clean_load_in_the_library(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(_progress, "_DEFAULT", None)  # whatever an earlier `icecore -q` test set
    caplog.set_level(logging.INFO, logger="icecore.progress")
    ds = simulate_dataset(tmp_path / "sim", "2024-03-31", 1.5, seed=2, arm_azimuth_deg=30.0, events_per_hour=6.0)
    assert [f.name for f in ds.files] == ["radio_2024-03.npz", "radio_2024-04.npz"]
    assert ds.channels == {"A1P0": 30.0, "A1P1": 120.0}
    assert json.loads(ds.truth_file.read_text()) == ds.to_dict()
    assert find_data_files([tmp_path / "sim"]) == ds.files  # truth.json is not a data file
    done = clean_files([tmp_path / "sim"], tmp_path / "noise", threads=1)
    assert [c.noise_table.name for c in done] == ["noise_radio_2024-03.npz", "noise_radio_2024-04.npz"]
    assert sum(c.events for c in done) == ds.events
    table = load_noise_tables([tmp_path / "noise"])
    assert table.times_mjd.size == ds.events and np.all(np.diff(table.times_mjd) > 0)
    # the month/file loops report through _progress (batch-log lines when stderr is not a terminal)
    lines = [r.getMessage() for r in caplog.records if r.name == "icecore.progress"]
    for desc in ("radio simulate", "radio clean", "radio files"):
        assert any(m.startswith(f"{desc}: 2/2 (100.0 %)") and m.endswith("(done)") for m in lines), (desc, lines)
    assert not any(m.startswith("radio channels") for m in lines)  # the per-file channel loop is silent
    caplog.clear()
    load_noise_tables([tmp_path / "noise"], progress=False)
    assert not [r for r in caplog.records if r.name == "icecore.progress"]
    with pytest.raises(FileNotFoundError):
        find_data_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="'data'"):
        find_data_files([tmp_path / "empty"])


def test_missing_extra_is_reported_by_require(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"icecore\[ml\]"):
        isolation_forest_spikes(_noise((2, 50)))
