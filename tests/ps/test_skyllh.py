"""Agreement with SkyLLH (PyPI ``skyllh``) on release-format data written by simulate_public_data.

SkyLLH reads the folder with its own dataset definitions and runs ``create_analysis`` +
``unblind`` unchanged. With ``selection="box", energy_weighting="skyllh"`` we use SkyLLH's event
selection (declination band and RA box of the same half-width) and its product-of-bin-averages
weighting of the true-energy bins; the default model keeps events outside the RA box whose S/B is
not negligible (large AngErr; moves ns by a few per cent) and weights true-energy bins with the
exact A_eff x E^-gamma integral (moves gamma by up to ~0.06 in the south). See README.
"""

from __future__ import annotations

import pytest

pytest.importorskip("skyllh")

from icecore.ps import PointSourceAnalysis, load_public_data, simulate_public_data  # noqa: E402
from icecore.ps.skyllh_ref import skyllh_unblind  # noqa: E402

pytestmark = pytest.mark.slow

SEASONS = ("IC79", "IC86_I", "IC86_II")
CASES = [
    ("10y", 77.35, 5.7, 40, 2.0, 1),
    ("10y", 200.0, -30.0, 40, 2.5, 2),
    ("14y", 150.0, 40.0, 30, 2.0, 3),
]


@pytest.fixture(scope="module", params=CASES, ids=[f"{c[0]}-dec{c[2]:+.0f}" for c in CASES])
def case(request, tmp_path_factory):
    release, ra, dec, n, gamma, seed = request.param
    path = tmp_path_factory.mktemp(f"skyllh{seed}") / "data"
    simulate_public_data(path, seasons=SEASONS, n_events=50_000, sources=[{"ra": ra, "dec": dec, "n": n,
                                                                           "gamma": gamma}],
                         release=release, seed=seed)
    ref = skyllh_unblind(str(path), SEASONS, ra, dec)
    return path, ra, dec, ref


def _report(tag, ours, ref):
    print(f"{tag}: ours TS={ours.ts:.3f} ns={ours.ns:.2f} gamma={ours.gamma:.3f} | "
          f"SkyLLH TS={ref['ts']:.3f} ns={ref['ns']:.2f} gamma={ref['gamma']:.3f}")


def test_agreement_skyllh_compatible(case):
    """SkyLLH's event selection and true-energy weighting: the remaining differences are numerical."""
    path, ra, dec, ref = case
    ours = PointSourceAnalysis(load_public_data(path), ra, dec, selection="box", energy_weighting="skyllh").unblind()
    _report(f"compatible dec={dec}", ours, ref)
    assert ref["ts"] > 25  # the injected source is seen by both
    assert abs(ours.ts - ref["ts"]) <= max(0.02 * ref["ts"], 0.2)
    assert ours.ns == pytest.approx(ref["ns"], rel=0.03)
    assert ours.gamma == pytest.approx(ref["gamma"], abs=0.05)


def test_agreement_default_model(case):
    path, ra, dec, ref = case
    ours = PointSourceAnalysis(load_public_data(path), ra, dec).unblind()
    _report(f"band dec={dec}", ours, ref)
    assert abs(ours.ts - ref["ts"]) <= max(0.02 * ref["ts"], 0.2)
    # more events contribute (large-AngErr events outside SkyLLH's RA box): ns a few % higher;
    # exact A_eff x E^-gamma weighting of the true-energy bins: gamma differs by up to ~0.06 where
    # the effective area is steep within a smearing bin (southern sky)
    assert ours.ns == pytest.approx(ref["ns"], rel=0.10)
    assert ours.gamma == pytest.approx(ref["gamma"], abs=0.08)
