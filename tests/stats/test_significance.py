import json

import mpmath
import numpy as np
import pytest
from scipy import stats

from icecore.cli import main
from icecore.stats import (
    far_from_p,
    logp_to_sigma,
    p_from_far,
    p_to_sigma,
    poisson_p_from_far,
    post_trial_p,
    sigma_to_p,
    significance,
)

mpmath.mp.dps = 50


def mp_one_sided_p(sigma):
    return float(mpmath.erfc(mpmath.mpf(sigma) / mpmath.sqrt(2)) / 2)


@pytest.mark.parametrize("sigma", [0.0, 0.5, 1, 2, 3, 5, 7.5, 10, 20, 30, 37])
def test_sigma_to_p_matches_high_precision(sigma):
    assert sigma_to_p(sigma) == pytest.approx(mp_one_sided_p(sigma), rel=1e-12)
    assert sigma_to_p(sigma, sided=2) == pytest.approx(2 * mp_one_sided_p(sigma), rel=1e-12)


def test_p_to_sigma_accurate_down_to_1e_300():
    ps = np.logspace(-300, np.log10(0.5), 400)
    sig = p_to_sigma(ps)
    back = np.array([mp_one_sided_p(s) for s in sig])
    np.testing.assert_allclose(back, ps, rtol=1e-11)
    assert p_to_sigma(1e-300) == pytest.approx(37.047096, abs=1e-5)
    assert p_to_sigma(0.5) == 0.0


def test_against_scipy_many_points():
    rng = np.random.default_rng(0)
    ps = 10 ** rng.uniform(-15, 0, 1000)
    np.testing.assert_allclose(p_to_sigma(ps), stats.norm.isf(ps), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p_to_sigma(ps, sided=2), stats.norm.isf(ps / 2), rtol=1e-12, atol=1e-12)
    sig = rng.uniform(0, 8, 1000)
    np.testing.assert_allclose(sigma_to_p(sig), stats.norm.sf(sig), rtol=1e-12)


def test_two_sided_table():
    # the classic table p = erfc(sigma / sqrt 2)
    table = {1: 0.31731050786291415, 2: 0.04550026389635842, 3: 0.0026997960632601866, 5: 5.733031437583878e-07}
    for s, p in table.items():
        assert sigma_to_p(s, sided=2) == pytest.approx(p, rel=1e-12)
        assert p_to_sigma(p, sided=2) == pytest.approx(s, rel=1e-12)


def test_log_p_beyond_float_range():
    # p = exp(-1000): sigma from the asymptotic series, checked with mpmath
    s = logp_to_sigma(-1000.0)
    assert float(mpmath.log(mpmath.erfc(mpmath.mpf(s) / mpmath.sqrt(2)) / 2)) == pytest.approx(-1000.0, rel=1e-10)
    assert logp_to_sigma(np.log(1e-10)) == pytest.approx(p_to_sigma(1e-10), rel=1e-12)


def test_post_trial_stable():
    exact = float(1 - (1 - mpmath.mpf("1e-12")) ** 1000000)
    got = post_trial_p(1e-12, 1e6)
    assert got == pytest.approx(exact, rel=1e-9)
    assert 1 - (1 - 1e-12) ** 1e6 != pytest.approx(exact, rel=1e-6)  # the naive formula fails
    assert post_trial_p(0.5, 1) == 0.5
    assert post_trial_p(0.1, 2) == pytest.approx(0.19, rel=1e-14)
    assert post_trial_p(1.0, 10) == 1.0
    assert post_trial_p(0.0, 10) == 0.0
    np.testing.assert_allclose(post_trial_p(np.array([0.01, 0.02]), 3), 1 - (1 - np.array([0.01, 0.02])) ** 3)


def test_far_routes():
    assert far_from_p(0.01, 300) == pytest.approx(3.0)
    assert p_from_far(3.0, 300) == pytest.approx(0.01)
    assert poisson_p_from_far(1.0, 1e-12) == pytest.approx(1e-12, rel=1e-9)
    with pytest.raises(ValueError, match="far_per_year"):
        p_from_far(400.0, 300)


def test_significance_labels():
    s = significance(sigma_to_p(5.5), n_trials=1)
    assert s.evidence == "discovery" and s.sigma_pre == pytest.approx(5.5)
    s = significance(sigma_to_p(5.5), n_trials=1000)
    assert s.p_post == pytest.approx(post_trial_p(sigma_to_p(5.5), 1000))
    assert s.evidence == "strong"
    assert significance(0.03).evidence == "weak"
    assert significance(0.02).evidence == "moderate"
    assert significance(0.0).to_dict()["sigma_pre"] == "inf"
    # label uses the one-sided post-trial sigma even when two-sided sigmas are quoted
    s2 = significance(sigma_to_p(3.1), sided=2)
    assert s2.sigma_pre == pytest.approx(3.2998, abs=1e-4) and s2.evidence == "strong"


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: p_to_sigma(1.5), "'p'"),
        (lambda: p_to_sigma(-0.1), "'p'"),
        (lambda: p_to_sigma(np.nan), "'p'"),
        (lambda: p_to_sigma(0.1, sided=3), "'sided'"),
        (lambda: sigma_to_p(-1, sided=2), "'sigma'"),
        (lambda: post_trial_p(0.1, 0.5), "'n_trials'"),
        (lambda: post_trial_p("x", 2), "'p'"),
        (lambda: logp_to_sigma(0.1), "'log_p'"),
    ],
)
def test_bad_input(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_cli(capsys):
    assert main(["significance", "1e-4", "--trials", "10", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["p_post"] == pytest.approx(post_trial_p(1e-4, 10))
    assert d["sigma_pre"] == pytest.approx(3.719016485455709)
    assert main(["significance", "2.8e-7"]) == 0
    out = capsys.readouterr().out
    assert "5.005 sigma" in out and "discovery" in out
    assert main(["significance", "2"]) == 2
