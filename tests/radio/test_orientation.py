import numpy as np
import pytest

from icecore.errors import FitError, InputError
from icecore.radio.cuts import RmsCut, choose_cut
from icecore.radio.orientation import (
    YearlyEstimate,
    axial_difference,
    check_antenna,
    combine_axial,
    fit_sinusoid,
    month_labels,
)


def test_axial_difference_and_months():
    np.testing.assert_allclose(axial_difference([179.0, 1.0, 90.0, 270.0], [1.0, 179.0, 0.0, 0.0]), [-2, 2, 90, 90])
    assert month_labels(np.array([60310.0, 60341.0, 60340.99])).tolist() == ["2024-01", "2024-02", "2024-01"]


def test_fit_recovers_arm_and_error_matches_monte_carlo():
    rng = np.random.default_rng(0)
    arm, n, sigma = 37.0, 800, 0.3
    arms, errs = [], []
    for _ in range(300):
        phi = rng.uniform(0, 360, n)
        y = 2.0 - 0.2 * np.cos(2 * np.radians(phi - arm)) + rng.normal(0, sigma, n)
        f = fit_sinusoid(phi, y)
        arms.append(axial_difference(f.arm_deg, arm))
        errs.append(f.sigma_deg)
    arms = np.array(arms)
    assert abs(arms.mean()) < 0.3
    # the covariance error agrees with the actual scatter (predicted: 0.5 sigma/B sqrt(2/n) rad)
    expected = np.degrees(0.5 * sigma / 0.2 * np.sqrt(2 / n))
    assert np.mean(errs) == pytest.approx(expected, rel=0.1)
    assert np.std(arms) == pytest.approx(np.mean(errs), rel=0.15)
    f = fit_sinusoid(phi, y)
    assert f.phi_max_deg == pytest.approx(np.mod(arm + 90, 180), abs=5)
    assert f.model(np.array([arm + 90]))[0] == pytest.approx(f.A + f.amplitude, rel=1e-2)


def test_fit_errors():
    with pytest.raises(InputError, match="'rms'"):
        fit_sinusoid([1, 2, 3], [1, 2, 3])
    with pytest.raises(InputError, match="'rms'"):
        fit_sinusoid([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(FitError):
        fit_sinusoid([10.0] * 5, [1, 2, 3, 4, 5])


def test_combine_axial_wraps_and_weights():
    y = combine_axial([179.0, 1.0], [1.0, 1.0])
    assert axial_difference(y.arm_deg, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert y.sigma_deg == pytest.approx(1 / np.sqrt(2))
    assert y.chi2 == pytest.approx(2.0)
    y = combine_axial([10.0, 20.0], [1.0, 3.0])
    assert 10.0 < y.arm_deg < 12.0
    with pytest.raises(InputError, match="'sigmas_deg'"):
        combine_axial([1.0], [0.0])


def test_combined_pulls_are_unit_width():
    rng = np.random.default_rng(1)
    pulls = []
    for _ in range(400):
        s = rng.uniform(1, 4, 12)
        y = combine_axial(np.mod(100 + rng.normal(0, s), 180), s)
        pulls.append(axial_difference(y.arm_deg, 100) / y.sigma_deg)
    assert np.std(pulls) == pytest.approx(1.0, abs=0.1)


def _est(a, s=0.5):
    return YearlyEstimate(arm_deg=a, sigma_deg=s, sigma_scaled_deg=s, chi2=0, ndof=0, n_months=1)


def test_antenna_checks():
    ok = check_antenna(_est(30.2), _est(119.5), gps_deg=30.0)
    assert ok["perpendicular"] and ok["gps_consistent"] and ok["swapped"] is False
    sw = check_antenna(_est(120.3), _est(29.6), gps_deg=30.0)
    assert sw["perpendicular"] and sw["swapped"] is True and not sw["gps_consistent"]
    bad = check_antenna(_est(30.0), _est(100.0))
    assert not bad["perpendicular"] and bad["perpendicular_deviation_deg"] == pytest.approx(-20.0)
    assert bad["swapped"] is None  # no reference: axial angles cannot tell


def test_cut_from_cleanest_month():
    rng = np.random.default_rng(2)
    n = 3000
    months = np.repeat(["2024-01", "2024-02", "2024-03"], n // 3)
    rms = rng.normal(10, 1, (2, n))
    spread = np.abs(rng.normal(1, 0.2, (2, n)))
    dirty = (months == "2024-02") & (rng.random(n) < 0.1)
    rms[:, dirty] *= 3
    spread[:, months == "2024-03"] *= np.where(rng.random(n // 3) < 0.03, 4, 1)
    usable = np.ones((2, n), bool)
    cut, frac = choose_cut(rms, spread, months, usable, k=5)
    assert min(frac, key=frac.get) == "2024-01" and "2024-01" in cut.source
    assert 14 < cut.rms_max < 17 and cut.spread_max < 2.2
    assert not cut.passes(rms, spread)[:, dirty].any()
    with pytest.raises(InputError, match="'rms_max'"):
        RmsCut(5.0, 4.0, 1.0)
