"""The refinement loop on the synthetic fitter (known answer): pixels, best fit, determinism."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest

from icecore import _core
from icecore.coords import angular_distance_deg, equatorial_to_icecube
from icecore.scan import ScanSettings, SyntheticEvent, make_problem, run_problem, scan

pytestmark = pytest.mark.kernel


def test_levels_and_best_fit(synthetic_event, synthetic_result):
    r = synthetic_result
    ppl = r.info["pixels_per_level"]
    assert ppl[0] == 768
    # each refinement level: whole sets of children (64 per parent), several parents
    assert ppl[1] % 64 == 0 and 6 * 64 <= ppl[1] <= 40 * 64
    assert ppl[2] % 64 == 0 and 10 * 64 <= ppl[2] <= 60 * 64
    assert r.info["fits"] == sum(ppl) == len(r.pixel)
    best = r.best_fit
    assert best["nside"] == 512
    # the best nside-512 pixel contains (or neighbours) the true direction: within one pixel size
    d = angular_distance_deg(best["ra_deg"], best["dec_deg"], synthetic_event.ra_deg, synthetic_event.dec_deg)
    assert d < np.degrees(hp.max_pixrad(512)) * 1.01
    # no pixel is evaluated twice, all NESTED pixels valid
    keys = set(zip(r.nside.tolist(), r.pixel.tolist()))
    assert len(keys) == len(r.pixel)
    assert np.all(r.pixel < 12 * r.nside**2)


def test_pixel_directions_use_the_event_rotation(synthetic_result):
    r = synthetic_result
    problem_time = r.meta["mjd"]
    sel = np.arange(0, len(r.pixel), 97)
    ra, dec = r.radec()
    zen, azi = equatorial_to_icecube(ra[sel], dec[sel], problem_time)
    # -lnL = kappa (1 - cos psi) (+ small vertex term): recompute from astropy's local directions
    prob = make_problem(SyntheticEvent(ra_deg=123.4, dec_deg=-12.3, mjd=60000.5, kappa=3000.0))
    p = prob.spec["params"]
    u = np.array([np.sin(p["zenith"]) * np.cos(p["azimuth"]), np.sin(p["zenith"]) * np.sin(p["azimuth"]),
                  np.cos(p["zenith"])])
    zr, ar = np.radians(zen), np.radians(azi)
    v = np.stack([np.sin(zr) * np.cos(ar), np.sin(zr) * np.sin(ar), np.cos(zr)], axis=1)
    expected = 3000.0 * (1 - v @ u)
    vtx = np.asarray(r.vertex[sel]) - np.array([10.0, -20.0, 30.0, 1000.0])
    expected += 1e-4 * np.sum(vtx[:, :3] ** 2, axis=1)
    # agreement to the aberration residual of the rotation matrix (< 1e-4 rad)
    np.testing.assert_allclose(r.neg_llh[sel], expected, atol=3000 * 1e-4 * 2 + 1e-9, rtol=1e-3)


def test_deterministic_whatever_threads_or_driver(synthetic_event, synthetic_result):
    r1 = scan(synthetic_event, threads=1, progress=False)
    assert r1.equal_pixels(synthetic_result)
    # the same state machine driven batch by batch from Python (as a remote executor does),
    # with batches fitted in shuffled chunks
    prob = make_problem(synthetic_event)

    class ChunkedSession:
        def evaluate(self, batch):
            n = len(batch["pixel"])
            out = {"neg_llh": np.empty(n), "vertex": np.empty((n, 4)), "n_eval": np.empty(n, np.int32),
                   "status": np.empty(n, np.int32)}
            idx = np.random.default_rng(n).permutation(n)
            for chunk in np.array_split(idx, 7):
                res = prob.fitter.fit_batch(batch["zenith"][chunk], batch["azimuth"][chunk],
                                            batch["seeds"][chunk], threads=1)
                for k in out:
                    out[k][chunk] = res[k]
            return out

        def close(self):
            pass

    class Exec:
        def open(self, problem):
            return ChunkedSession()

    r2 = run_problem(prob, ScanSettings(), executor=Exec(), progress=False)
    assert r2.equal_pixels(synthetic_result)
    assert r2.info["pixels_per_level"] == synthetic_result.info["pixels_per_level"]


def test_children_seeded_from_parent_vertex(synthetic_result):
    r = synthetic_result
    # with vertex_pull 0.5 toward v_true from the parent's fitted vertex:
    # level 0 from (0,0,0,0) -> v/2; level 1 -> 3v/4; level 2 (parents at nside 64) -> 7v/8
    v = np.array([10.0, -20.0, 30.0, 1000.0])
    for level, frac in ((0, 0.5), (1, 0.75), (2, 0.875)):
        sel = np.flatnonzero(r.nside == (8, 64, 512)[level])
        np.testing.assert_allclose(r.vertex[sel], np.tile(frac * v, (sel.size, 1)), rtol=1e-12)


def test_state_machine_protocol_errors():
    d = _core.scan.ScanDriver([8, 64], [12.0], np.eye(3), np.zeros(4))
    with pytest.raises(ValueError, match="pending"):
        d.submit(np.zeros(1), np.zeros((1, 4)), np.zeros(1, np.int32), np.zeros(1, np.int32))
    b = d.next_batch()
    assert len(b["pixel"]) == 768 and np.array_equal(b["pixel"], np.arange(768))
    with pytest.raises(ValueError, match="submitted"):
        d.next_batch()
    with pytest.raises(ValueError, match="neg_llh"):
        d.submit(np.zeros(3), np.zeros((3, 4)), np.zeros(3, np.int32), np.zeros(3, np.int32))
    # all -lnL infinite: nothing to refine around, the scan ends after level 0
    d.submit(np.full(768, np.inf), np.zeros((768, 4)), np.zeros(768, np.int32), np.ones(768, np.int32))
    assert len(d.next_batch()["pixel"]) == 0 and d.finished


@pytest.mark.parametrize("kwargs, arg", [
    ({"nsides": (8, 4)}, "nsides"),
    ({"nsides": (8, 60)}, "nsides"),
    ({"extensions": (12.0,)}, "extensions"),
    ({"extensions": (12.0, -1.0)}, "extensions"),
])
def test_bad_settings_raise(synthetic_event, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        scan(synthetic_event, progress=False, **kwargs)


def test_bare_fitter_needs_time():
    f = _core.scan.AnalyticDirectionFitter(1.0, 2.0)
    with pytest.raises(ValueError, match="time"):
        scan(f, progress=False)
    r = scan(f, time=60000.0, nsides=(4, 16), extensions=(8.0,), progress=False, threads=1)
    assert r.info["pixels_per_level"][0] == 192


def test_neighbour_threshold_refines_more(synthetic_event, synthetic_result):
    r = scan(synthetic_event, llh_diff_threshold=20.0, max_refine_radius_deg=25.0, progress=False, threads=2)
    assert r.info["fits"] > synthetic_result.info["fits"]
    assert r.best_fit["pixel"] == synthetic_result.best_fit["pixel"]
