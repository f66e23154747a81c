"""The contour area's resolution interval (issue #13, item 6): rule in contours.AreaEstimate."""

from __future__ import annotations

import numpy as np
import pytest

from icecore.scan import contours as c
from icecore.scan.result import ScanResult
from icecore.scan.skyreader import read_npz

FIXTURE = "fixtures/skyscan/run00136766-evt000007637140-GOLD-8_64_512.npz"


@pytest.fixture(scope="module")
def gold(shared_dir):
    return read_npz(shared_dir / FIXTURE, dec_convention="scanner-legacy")


def _estimate(r, conv, label):
    cv = c.get_convention(conv)
    return c.area_with_resolution(r.nside, r.pixel, r.statistic_surface(cv.statistic), cv.levels[label])


def test_interval_brackets_the_area_on_the_real_scan(gold):
    e = _estimate(gold, "icecube-calibrated", "90")
    assert e.area_deg2 == pytest.approx(gold.areas_deg2("icecube-calibrated")["90"])
    assert e.lo_deg2 < e.whole_pixels_deg2 < e.hi_deg2 and e.lo_deg2 < e.area_deg2 < e.hi_deg2
    assert set(e.boundary_nsides) == {512} and not e.unresolved
    d = e.as_dict()
    assert d["resolution_error_deg2"] == pytest.approx(0.5 * (e.hi_deg2 - e.lo_deg2))
    assert "resolution interval" in str(e)
    # Wilks 90 % here is a dozen nside-512 pixels, all on the line: an upper bound only
    w = _estimate(gold, "wilks", "90")
    assert w.unresolved and w.lo_deg2 == 0.0 and w.hi_deg2 > w.area_deg2 and str(w).startswith("<")


def test_coarser_scan_gives_a_wider_interval_that_still_contains_the_fine_area(gold):
    fine = _estimate(gold, "icecube-calibrated", "90")
    keep = gold.nside <= 64
    coarse = ScanResult(gold.nside[keep], gold.pixel[keep], gold.neg_llh[keep], gold.vertex[keep],
                        gold.n_eval[keep], gold.status[keep], gold.energy_in[keep], gold.energy_tot[keep])
    e = _estimate(coarse, "icecube-calibrated", "90")
    assert 64 in e.boundary_nsides
    assert e.hi_deg2 - e.lo_deg2 > 2 * (fine.hi_deg2 - fine.lo_deg2)
    assert e.lo_deg2 <= fine.area_deg2 <= e.hi_deg2


def test_no_region_and_bad_input(gold):
    sm = gold.statistic_map("2dllh")
    e = c.area_with_resolution(gold.nside, gold.pixel, sm - 1.0 + np.nan * (sm > 0), 1e-12)
    assert e.unresolved and e.hi_deg2 >= 0
    with pytest.raises(ValueError, match="'nside'"):
        c.area_with_resolution(gold.nside[gold.nside < 512], gold.pixel[gold.nside < 512], sm, 4.6)
