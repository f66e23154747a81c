"""Reading and writing the public-release layout."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecore.errors import DataFormatError, InputError
from icecore.ps import load_public_data, simulate_public_data
from icecore.ps.io import (
    EVENT_COLUMNS,
    available_seasons,
    irf_names,
    read_table,
    write_table,
)
from icecore.ps.irf import EffectiveArea, SmearingMatrix
from icecore.ps.toy import toy_effective_area, toy_smearing


def test_10y_layout_files_and_seasons(small_release, small_data):
    names = {p.name for p in (small_release / "irfs").iterdir()}
    assert names == {f"{s}_{k}.csv" for s in ("IC79", "IC86_I", "IC86_II") for k in ("effectiveArea", "smearing")}
    assert small_data.release == "10y"
    assert small_data.names == ["IC79", "IC86_I", "IC86_II"]
    for s in small_data:
        assert 20_000 <= len(s) <= 20_200  # background + Poisson share of the 40 source events
        assert s.aeff.aeff_cm2.shape == (90, 28)
        assert s.smearing.shape == (14, 3, 10, 5, 5)
        # livetime is the sum of the good runs: 1095 runs of 0.95 * 8 h
        assert s.livetime_days == pytest.approx(1095 * 0.95 * 8 / 24, rel=1e-9)


def test_14y_layout_shares_ic86_irfs(tmp_path):
    p = tmp_path / "d14"
    simulate_public_data(p, seasons=("IC79", "IC86_I", "IC86_V"), n_events=500, release="14y", seed=1)
    assert sorted(x.name for x in (p / "irfs").iterdir()) == sorted(
        ["IC79_effectiveArea.csv", "IC79_smearing.csv", "IC86_effectiveArea.csv", "IC86_smearing.csv"])
    d = load_public_data(p)
    assert d.release == "14y" and d.names == ["IC79", "IC86_I", "IC86_V"]
    assert d["IC86_I"].aeff is d["IC86_V"].aeff  # read once, shared
    assert irf_names("IC86_V", "14y") == "IC86" and irf_names("IC86_V", "10y") == "IC86_II"
    assert irf_names("IC86_I", "10y") == "IC86_I"
    sub = load_public_data(p, seasons=["IC86_V"])
    assert sub.names == ["IC86_V"]
    with pytest.raises(InputError, match="IC59"):
        load_public_data(p, seasons=["IC59"])


def test_simulation_is_seeded(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for p, seed in ((a, 5), (b, 5), (c, 6)):
        simulate_public_data(p, seasons=("IC40",), n_events=300, sources=[{"ra": 1, "dec": 2, "n": 5}], seed=seed)
    fa = (a / "events" / "IC40_exp.csv").read_bytes()
    assert fa == (b / "events" / "IC40_exp.csv").read_bytes()
    assert fa != (c / "events" / "IC40_exp.csv").read_bytes()
    with pytest.raises(InputError, match="already holds"):
        simulate_public_data(a, seasons=("IC40",), n_events=10, seed=1)


def test_irf_round_trip(tmp_path):
    a = toy_effective_area("IC59")
    a.to_file(tmp_path / "a.csv")
    b = EffectiveArea.from_file(tmp_path / "a.csv")
    np.testing.assert_allclose(b.aeff_cm2, a.aeff_cm2, rtol=1e-6)
    np.testing.assert_allclose(b.dec_edges_deg, a.dec_edges_deg)
    s = toy_smearing("IC59")
    s.to_file(tmp_path / "s.csv")
    t = SmearingMatrix.from_file(tmp_path / "s.csv")
    np.testing.assert_allclose(t.frac, s.frac, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(t.reco_lo, s.reco_lo, atol=1e-6)
    np.testing.assert_allclose(t.angerr_hi, s.angerr_hi, atol=1e-6)
    # fractional counts of every (E_nu, dec_nu) parent bin sum to one
    np.testing.assert_allclose(t.frac.sum(axis=(2, 3, 4)), 1.0, rtol=1e-4)


def test_uptime_cuts_events(tmp_path, small_release):
    p = tmp_path / "d"
    shutil.copytree(small_release, p)
    up = p / "uptime" / "IC79_exp.csv"
    lines = up.read_text().splitlines()
    up.write_text("\n".join(lines[:101]) + "\n")  # keep the first 100 runs only
    d = load_public_data(p, seasons=["IC79"])
    s = d["IC79"]
    assert s.livetime_days == pytest.approx(100 * 0.95 * 8 / 24)
    assert s.n_cut > 0 and np.all(s.mjd <= s.uptime_mjd[-1, 1])
    assert len(s) + s.n_cut == len(read_table(p / "events" / "IC79_exp.csv", EVENT_COLUMNS))


@pytest.mark.parametrize(
    "mutate, where, match",
    [
        (lambda L: ["MJD log10E"] + L[1:], 1, "header"),
        (lambda L: L[:5] + ["55348.1 2.5 abc 10 10 10 10"] + L[6:], 6, "not a number"),
        (lambda L: L[:7] + ["55348.1 2.5 1.0 10 10 10"] + L[8:], 8, "expected 7 values"),
        (lambda L: L[:9] + ["55348.1 2.5 nan 10 10 10 10"] + L[10:], 10, "not finite"),
        (lambda L: L[:3] + ["55348.1 2.5 1.0 10 95.0 10 10"] + L[4:], 4, "Dec"),
        (lambda L: L[:4] + ["55348.1 2.5 -1.0 10 5.0 10 10"] + L[5:], 5, "AngErr"),
    ],
)
def test_malformed_event_file_names_file_and_line(tmp_path, small_release, mutate, where, match):
    p = tmp_path / "d"
    shutil.copytree(small_release, p)
    ev = p / "events" / "IC86_I_exp.csv"
    ev.write_text("\n".join(mutate(ev.read_text().splitlines())) + "\n")
    with pytest.raises(DataFormatError, match=match) as exc:
        load_public_data(p)
    assert isinstance(exc.value, ValueError)
    assert exc.value.path.endswith("IC86_I_exp.csv") and exc.value.line == where
    assert f"IC86_I_exp.csv:{where}" in str(exc.value)


def test_inconsistent_irfs(tmp_path, small_release):
    p = tmp_path / "d"
    shutil.copytree(small_release, p)
    f = p / "irfs" / "IC79_effectiveArea.csv"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:50] + lines[51:]) + "\n")  # one bin missing
    with pytest.raises(DataFormatError, match="missing"):
        load_public_data(p)
    f.write_text("\n".join(lines[:50] + [lines[49]] + lines[51:]) + "\n")  # a bin listed twice
    with pytest.raises(DataFormatError, match="duplicate") as exc:
        load_public_data(p)
    assert exc.value.path.endswith("IC79_effectiveArea.csv") and exc.value.line == 51
    g = p / "irfs" / "IC86_I_smearing.csv"
    sl = g.read_text().splitlines()
    g.write_text("\n".join(sl[:-1]) + "\n")  # truncated table
    with pytest.raises(DataFormatError, match="IC86_I_smearing.csv"):
        load_public_data(p, seasons=["IC86_I"])
    (p / "irfs" / "IC86_II_smearing.csv").unlink()
    with pytest.raises(DataFormatError, match="missing"):
        load_public_data(p, seasons=["IC86_II"])


def test_bad_paths(tmp_path):
    with pytest.raises(InputError):
        load_public_data(tmp_path / "nope")
    with pytest.raises(InputError, match="events"):
        available_seasons(tmp_path)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=30),
       st.integers(0, 29), st.sampled_from(["x", "1.0.0", "nan", "inf", "", "1 2"]))
def test_read_table_property(tmp_path_factory, rows, bad_row, token):
    d = tmp_path_factory.mktemp("rt")
    cols = ("a", "b", "c")
    arr = np.array(rows)
    write_table(d / "t.csv", cols, arr, "%.17g")
    np.testing.assert_array_equal(read_table(d / "t.csv", cols), arr)
    # corrupt one row: the error names that line
    lines = (d / "t.csv").read_text().splitlines()
    k = 1 + bad_row % len(rows)
    parts = lines[k].split()
    parts[1] = token
    lines[k] = " ".join(parts)
    (d / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as exc:
        read_table(d / "t.csv", cols)
    assert exc.value.line == k + 1


def test_overlapping_good_runs_are_not_double_counted():
    import numpy as np

    from icecore.ps.dataset import uptime_union_days

    runs = np.array([[10.0, 11.0], [10.5, 12.0], [20.0, 21.0], [11.5, 11.8], [30.0, 30.5]])
    assert uptime_union_days(runs) == pytest.approx(2.0 + 1.0 + 0.5)
    assert uptime_union_days(runs[[2, 0, 4]]) == pytest.approx(2.5)  # unsorted, disjoint: the plain sum
    assert uptime_union_days(np.zeros((0, 2))) == 0.0


def test_real_10year_ic86_v_livetime_counts_overlaps_once(shared_dir):
    import numpy as np

    from icecore.ps.dataset import uptime_union_days

    f = shared_dir / "data/real/ps/icecube_10year_ps/uptime/IC86_V_exp.csv"
    if not f.exists():
        pytest.skip("10-year uptime files not present")
    up = np.loadtxt(f, comments="#")
    plain = float(np.sum(up[:, 1] - up[:, 0]))
    union = uptime_union_days(up)
    assert union < plain  # the file has overlapping runs
    assert union == pytest.approx(plain, rel=0.01)
