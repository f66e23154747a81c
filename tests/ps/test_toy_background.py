"""The toy generator's background must be one the data-driven background PDFs can describe.

Before the fix (issue #13 item 3) the toy's background and soft signal both had a hard edge at
log10 E = 2; the 3-bin-smoothed background energy PDF underestimated the background on that edge
by up to 1.7x, and background trials on ``icecore ps simulate`` defaults fitted a median ns of
17-18 (gamma ~ 3.8) with TS = 0 in only 15 % of trials in the northern sky. With the true
background law in the likelihood the same files gave TS = 0 in 64 %.

Session 4: the data-built background energy PDF is smoothed only in sparse bins (fewer than 100
events) by default. Smoothing every bin biased it at the selection threshold (where soft signal
lives) and lowered TS = 0 in 2000 background trials at +5.7 deg from 35.8 +- 1.1 % to 30.5 +- 1.0 %
(gamma free) and from 56 % to 46 % (gamma fixed at 4); with the toy's background law built from
10^6 events: 38.7 +- 1.1 % and 60 %. The rest of the difference from 50 % is expected: TS = 0 needs
the score to be <= 0 at every gamma, and on this toy the scores at hard and soft gamma are nearly
independent (TS = 0 in 72 % at gamma = 2 fixed, 56 % at 4 fixed). Simulation throughout.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore.errors import InputError
from icecore.ps import PointSourceAnalysis, load_public_data, simulate_public_data
from icecore.ps.model import SeasonModel
from icecore.ps.toy import selection_efficiency


@pytest.fixture(scope="module")
def toy_defaults(tmp_path_factory):
    """The `icecore ps simulate` defaults: IC79, IC86_I, IC86_II x 50 000 background events."""
    path = tmp_path_factory.mktemp("toydef") / "data"
    simulate_public_data(path, seed=7)
    return path


@pytest.mark.parametrize("dec", [5.7, 30.0])
def test_background_trials_not_signal_like_in_the_north(toy_defaults, dec):
    # old toy: median ns 17-18, TS = 0 in 12-16 % (300 trials: 15 %); now ~3-4 and ~29 %
    tr = PointSourceAnalysis(toy_defaults, 77.35, dec, threads=1).trials(200, seed=3, progress=False)
    assert np.median(tr.ns) < 8.0
    assert np.mean(tr.ts <= 0) > 0.2


def test_soft_fixed_gamma_background_score_has_no_positive_bias(toy_defaults):
    # At fixed gamma, TS = 0 exactly when the score sum_i (S_i / B_i - 1) at ns = 0 is <= 0. With a
    # background PDF that describes the (scrambled) data its mean is 0 and its skew positive, so
    # P(TS = 0) >= 1/2. Smoothing every bin of the background energy histogram (SkyLLH's choice)
    # puts the PDF 5-12 % below the data at log10 E 2.3-2.6, under the toy's selection threshold,
    # where the gamma = 4 signal peaks: the score is biased up and P(TS = 0) drops to 0.46
    # (2000 trials: 0.463 +- 0.011; "sparse": 0.561 +- 0.011)
    def ts0(smoothing):
        ana = PointSourceAnalysis(toy_defaults, 77.35, 5.7, threads=1, gamma_range=(4.0, 4.0),
                                  energy_smoothing=smoothing)
        return float(np.mean(ana.trials(600, seed=3, progress=False).ts <= 0))

    assert ts0(None) > 0.52  # the default: "sparse" (0.573 +- 0.020)
    assert ts0("all") < 0.48  # the fault this catches (0.455 +- 0.020)


def test_energy_smoothing_choice(toy_defaults):
    from icecore.ps.model import default_energy_smoothing

    assert default_energy_smoothing("exact", None) == "sparse"
    assert default_energy_smoothing("skyllh", None) == "all"  # the SkyLLH-compatible model
    assert default_energy_smoothing("skyllh", "sparse") == "sparse"
    s = load_public_data(toy_defaults).seasons[1]
    grid = np.array([1.9, 2.0, 2.1])
    a, b = SeasonModel(s, grid, energy_smoothing="all"), SeasonModel(s, grid)  # b: the default, "sparse"
    x = np.r_[np.linspace(2.3, 2.6, 7), 7.0]  # dense bins at the threshold, a sparse one far up the tail
    sd = np.full(x.size, 0.1)
    r = a.bkg_energy(x, sd) / b.bkg_energy(x, sd)
    assert np.max(np.abs(r[:-1] - 1)) > 0.03  # differs where the bins are dense ...
    assert r[-1] == pytest.approx(1.0, rel=0.05)  # ... both smoothed where sparse (up to the norm)
    with pytest.raises(InputError, match="'energy_smoothing'"):
        SeasonModel(s, grid, energy_smoothing="kde")


def test_background_trials_south(toy_defaults):
    tr = PointSourceAnalysis(toy_defaults, 77.35, -30.0, threads=1).trials(200, seed=3, progress=False)
    assert np.mean(tr.ts <= 0) > 0.5


def test_soft_signal_to_background_energy_ratio_averages_to_one(toy_defaults):
    # E_bkg[S_E / B_E] = 1 when B_E describes the background; the old toy gave 1.08 +- 0.02 at
    # gamma 3.8 (IC86_I, |dec - 5.7| < 3 deg), here the band is wider for a smaller error
    s = load_public_data(toy_defaults).seasons[1]
    grid = np.round(np.arange(2.9, 4.11, 0.1), 2)
    m = SeasonModel(s, grid)
    sel = np.abs(s.dec_deg - 10.0) < 10.0
    x, sd = s.log10_e[sel], np.sin(np.radians(s.dec_deg[sel]))
    tab = m.signal_energy_table(10.0)[int(np.argmin(np.abs(grid - 3.8)))]
    eb, ef = m.energy_index(x)
    r = (tab[eb] * (1 - ef) + tab[np.minimum(eb + 1, len(tab) - 1)] * ef) / m.bkg_energy(x, sd)
    err = r.std() / np.sqrt(r.size)
    assert abs(r.mean() - 1.0) < max(0.03, 3 * err)


def test_selection_efficiency_is_a_smooth_threshold():
    e = selection_efficiency(np.array([1.9, 2.0, 2.3, 2.6, 5.0]))
    np.testing.assert_allclose(e, [0.0, 0.0, 0.5, 1.0, 1.0])


def test_writer_writes_exactly_k_signal_events_and_records_them(tmp_path):
    src = {"ra": 77.35, "dec": 5.7, "n": 7, "gamma": 2.0, "exact": True}
    path = simulate_public_data(tmp_path / "d", seasons=("IC79", "IC86_I"), n_events=[500, 600], sources=[src], seed=2)
    truth = json.loads((path / "truth.json").read_text())
    s = truth["sources"][0]
    assert s["n_written"] == 7 and sum(s["n_written_per_season"].values()) == 7 and s["exact"]
    data = load_public_data(path)
    assert [len(x) for x in data.seasons] == [500 + s["n_written_per_season"]["IC79"],
                                              600 + s["n_written_per_season"]["IC86_I"]]
    poisson = simulate_public_data(tmp_path / "p", seasons=("IC79",), n_events=500, seed=2,
                                   sources=[dict(src, exact=False, n=7.5)])
    assert json.loads((poisson / "truth.json").read_text())["sources"][0]["n_written"] == len(
        load_public_data(poisson).seasons[0]) - 500
    with pytest.raises(InputError, match="non-integer"):
        simulate_public_data(tmp_path / "x", seasons=("IC79",), n_events=500, sources=[dict(src, n=7.5)])
