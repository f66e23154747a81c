"""End to end: simulated waveforms -> cleaning -> filtering -> RMS -> cut -> orientations."""

import numpy as np
import pytest
from scipy import stats

from icecore.radio import NoiseTable, orient, process, simulate_months
from icecore.radio.orientation import axial_difference


@pytest.fixture(scope="module")
def two_months():
    arms = [25.0, 140.0]
    tables = [process(d, threads=2) for d, _ in simulate_months(
        "2024-03-01", 61, seed=21, antennas=2, arm_azimuth_deg=arms, swapped=[1], events_per_hour=2.0)]
    return NoiseTable.concatenate(tables), arms


def test_two_months_recover_truth_and_flag_swapped_cable(two_months):
    table, arms = two_months
    res = orient(table, gps_deg={1: arms[0], 2: arms[1]})
    truth = {"A1P0": arms[0], "A1P1": arms[0] + 90, "A2P0": arms[1] + 90, "A2P1": arms[1]}  # antenna 2 swapped
    for label, y in res.yearly.items():
        err = axial_difference(y.arm_deg, truth[label])
        assert abs(err) < 3 * y.sigma_scaled_deg, (label, err, y.sigma_scaled_deg)
        assert y.n_months == 2 and y.sigma_deg < 3.0
    assert res.antennas[1]["perpendicular"] and res.antennas[2]["perpendicular"]
    assert res.antennas[1]["swapped"] is False and res.antennas[1]["gps_consistent"]
    assert res.antennas[2]["swapped"] is True
    # the cut removed the loud/bursty events but not many others
    rep = res.cut_report
    assert "cleanest month" in rep["cut"]["source"]
    for ch in rep["channels"].values():
        assert 0 < ch["removed"] < 0.05 * ch["usable"]
    d = res.to_dict()
    assert set(d["yearly"]) == set(truth)


def test_explicit_cut_and_plots(two_months, tmp_path):
    pytest.importorskip("matplotlib")
    from icecore.radio.plots import plot_monthly_fits, plot_summary

    table, arms = two_months
    res = orient(table, cut=(0.0, 1e9, 1e9))
    assert all(ch["removed"] == 0 for ch in res.cut_report["channels"].values())
    paths = plot_monthly_fits(table, res, tmp_path)
    paths.append(plot_summary(res, tmp_path / "summary.png", gps_deg=arms[0]))
    assert len(paths) == 5
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10000


def test_rejected_events_and_counters(two_months):
    table, _ = two_months
    assert table.rejected.any() and table.rejected.mean() < 0.03
    assert table.n_flipped.sum() > 0 and table.n_copy_repaired.sum() > 0
    assert np.all(np.isfinite(table.rms)) and np.all(table.rms > 0)


@pytest.mark.slow
def test_one_year_at_default_rates():
    """Done-when: a year at the default rates recovers the arms within the uncertainty and 1 deg,
    and the monthly estimates scatter as their errors say."""
    arm = 37.0
    tables = [process(d, threads=2) for d, _ in simulate_months("2024-01-01", 366, seed=11, arm_azimuth_deg=arm)]
    table = NoiseTable.concatenate(tables)
    res = orient(table, gps_deg=arm)
    truth = {"A1P0": arm, "A1P1": arm + 90}
    pulls = []
    for label, y in res.yearly.items():
        err = axial_difference(y.arm_deg, truth[label])
        assert y.n_months == 12
        assert abs(err) < 1.0
        assert abs(err) < 2 * y.sigma_deg, (label, err, y.sigma_deg)
        assert stats.chi2.sf(y.chi2, y.ndof) > 1e-3
        pulls += [axial_difference(f.arm_deg, truth[label]) / f.sigma_deg for f in res.monthly[label].values()]
    pulls = np.array(pulls)
    assert pulls.size == 24
    assert 0.6 < pulls.std() < 1.5 and abs(pulls.mean()) < 0.6
    assert res.antennas[1]["perpendicular"] and res.antennas[1]["gps_consistent"] and not res.antennas[1]["swapped"]


def test_orient_reports_month_progress_in_batch_logs(two_months, caplog, monkeypatch):
    import logging

    monkeypatch.setattr("icecore._progress._isatty", lambda: False)
    table, _ = two_months
    with caplog.at_level(logging.INFO, logger="icecore.progress"):
        orient(table)
    done = [r.getMessage() for r in caplog.records if "radio months" in r.getMessage() and "(done)" in r.getMessage()]
    assert done and "8/8 (100.0 %)" in done[-1]  # 4 channels x 2 months
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="icecore.progress"):
        orient(table, progress=False)
    assert not [r for r in caplog.records if "radio months" in r.getMessage()]
