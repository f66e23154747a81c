"""Result objects of the point-source analysis: sky map and trial files, plots, engine columns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore.ps import PointSourceAnalysis, SkyMap, sky_scan
from icecore.ps.engine import EVENT_DTYPE, kernel_columns
from icecore.ps.results import TrialResults


def test_sky_map_result_and_writer(small_data, tmp_path):
    sky = sky_scan(small_data, nside=2, dec_range=(-30.0, 30.0), threads=1)
    assert isinstance(sky, SkyMap) and sky.nside == 2 and len(sky) == 48
    assert sky["ts"] is sky.ts and sky["seconds"] == sky.seconds >= 0
    with pytest.raises(KeyError):
        sky["nope"]
    assert np.all(sky.status[np.abs(sky.dec) > 30] == 2) and sky.status.dtype == np.int32
    hot = sky.hottest()
    assert sky.ts[hot] == sky.ts.max()
    z = np.load(sky.to_npz(tmp_path / "sky.npz"))
    assert sorted(z.files) == ["dec", "gamma", "ns", "ra", "status", "ts"]
    np.testing.assert_array_equal(z["ts"], sky.ts)


def test_trial_results_writers(tmp_path):
    t = TrialResults(np.array([0.0, 1.5]), np.array([0.0, 2.0]), np.array([2.0, 2.5]), np.array([0, 1], np.int32),
                     np.array([0, 3]))
    j = json.loads(t.write(tmp_path / "t.json").read_text())
    assert j == {"ts": [0.0, 1.5], "ns": [0.0, 2.0], "gamma": [2.0, 2.5], "status": [0, 1], "n_injected": [0, 3]}
    z = np.load(t.write(tmp_path / "t.npz"))
    np.testing.assert_array_equal(z["n_injected"], [0, 3])


def test_one_column_builder_for_data_and_injection(small_data):
    """Injected events go through the same kernel_columns as the recorded ones."""
    ana = PointSourceAnalysis(small_data, 77.35, 5.7)
    eng = ana._eng
    m = eng.models[0]
    s = m.season
    cols = kernel_columns(m, None, s.ra_deg[:5], s.dec_deg[:5], s.log10_e[:5], s.angerr_deg[:5])
    assert cols.dtype == EVENT_DTYPE and np.all(cols["cos_r"] == -2.0)
    np.testing.assert_array_equal(cols["sin_dec"], np.sin(np.radians(s.dec_deg[:5])))
    inj, n_inj = eng.inject(np.random.default_rng(1), 3, 5.0, [1 / 3] * 3, 77.35, 5.7, 2.0)
    assert inj.n_trials == 3 and inj.n_events == n_inj.sum()
    none, n0 = eng.inject(np.random.default_rng(1), 2, 1e-12, [1 / 3] * 3, 77.35, 5.7, 2.0)
    assert none.n_events == 0 and none.n_trials == 2 and n0.sum() == 0


def test_plot_background_with_and_without_tail(tmp_path):
    pytest.importorskip("matplotlib")
    from icecore.ps.plots import plot_background
    from icecore.stats import BackgroundTS

    rng = np.random.default_rng(2)
    bg = BackgroundTS(tail="exponential").add(np.where(rng.random(3000) < 0.5, 0.0, rng.chisquare(1.3, 3000)))
    png = plot_background(bg, tmp_path / "bg.png", thresholds={"median": bg.median()}, title="t")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"  # the PDF beside it, like the other plots
    few = BackgroundTS().add([0.0, 0.0, 1.0])  # too few non-zero trials for a tail fit: trials only
    assert plot_background(few, tmp_path / "few.png").exists()
