"""The scan's seams: what can be scanned (adapt.py), typed data across the binding, one layer per rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore import _core
from icecore.scan import Scannable, ScanProblem, ScanSettings, SyntheticEvent, fitter_from_spec, make_problem, scan
from icecore.scan.adapt import as_scannable
from icecore.scan.contours import region_area_deg2
from icecore.scan.problem import equatorial_rotation
from icecore.scan.synthetic import analytic_spec

pytestmark = pytest.mark.kernel


def test_structured_arrays_mirror_the_kernel_structs():
    d = _core.scan.ScanDriver([1, 2], [4.0], np.eye(3), np.array([1.0, 2.0, 3.0, 4.0]))
    batch = d.next_batch()
    assert isinstance(batch, np.ndarray) and batch.dtype == _core.scan.SCAN_TASK_DTYPE
    assert batch.dtype.names == ("level", "nside", "pixel", "zenith", "azimuth", "seeds")
    assert batch.dtype.itemsize == 72 and batch["seeds"].shape == (12, 4)
    assert np.array_equal(batch["pixel"], np.arange(12)) and np.all(batch["seeds"] == [1.0, 2.0, 3.0, 4.0])
    f = _core.scan.AnalyticDirectionFitter(0.5, 1.0, vertex=[1.0, 2.0, 3.0, 4.0])
    res = f.fit_batch(batch["zenith"], batch["azimuth"], batch["seeds"], threads=1)
    assert res.dtype == _core.scan.FIT_RESULT_DTYPE and res.dtype.itemsize == 48
    assert res.dtype.names == ("neg_llh", "vertex", "n_eval", "status")
    assert res["vertex"].shape == (12, 4) and res["n_eval"].dtype == np.int32
    d.submit(res["neg_llh"], res["vertex"], res["n_eval"], res["status"])
    rec = d.records()
    assert rec.dtype == _core.scan.SCAN_RECORD_DTYPE and rec.dtype.itemsize == 88
    assert rec.dtype.names == ("level", "nside", "pixel", "zenith", "azimuth", "neg_llh", "vertex", "n_eval",
                               "status")
    assert np.array_equal(rec["neg_llh"], res["neg_llh"]) and np.array_equal(rec["vertex"], res["vertex"])
    assert np.array_equal(rec["zenith"], batch["zenith"])
    empty = f.fit_batch(np.zeros(0), np.zeros(0), np.zeros((0, 4)))
    assert empty.shape == (0,) and empty.dtype == _core.scan.FIT_RESULT_DTYPE


def test_kernel_invariants_reach_python_as_value_error():
    # the bindings only convert: these come from std::invalid_argument in the kernels
    with pytest.raises(ValueError, match="nsides"):
        _core.scan.ScanDriver([8, 4], [12.0], np.eye(3), np.zeros(4))
    with pytest.raises(ValueError, match="nside must be a power of two"):
        _core.scan.ScanDriver([8, 60], [12.0], np.eye(3), np.zeros(4))
    with pytest.raises(ValueError, match="initial_seed"):
        _core.scan.ScanDriver([8], [], np.eye(3), np.array([0.0, 0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="max_refine_radius"):
        _core.scan.ScanDriver([8], [], np.eye(3), np.zeros(4), 1.0, -1.0)
    with pytest.raises(ValueError, match="zenith"):
        _core.scan.AnalyticDirectionFitter(4.0, 0.0)
    with pytest.raises(ValueError, match="vertex"):
        _core.scan.AnalyticDirectionFitter(1.0, 0.0, vertex=[0.0, np.inf, 0.0, 0.0])
    with pytest.raises(ValueError, match="nside"):
        _core.healpix.pix2ang_nest(3, np.array([0]))
    with pytest.raises(ValueError, match="out of range"):
        _core.healpix.pix2vec_nest(8, np.array([768]), 2)  # thrown in a worker thread, re-thrown
    with pytest.raises(ValueError, match="nside"):
        _core.healpix.max_pixrad(0)


def test_user_facing_rules_name_the_argument():
    from icecore.scan import healpix as H

    with pytest.raises(ValueError, match="argument 'nsides'"):
        ScanSettings(nsides=(8, 4))
    with pytest.raises(ValueError, match="argument 'nside_parent'"):
        H.parent_nest(8, [0], 16)
    with pytest.raises(ValueError, match="argument 'vec'"):
        H.query_disc_nest(8, [0.0, 0.0, 0.0], 0.1)
    with pytest.raises(ValueError, match="argument 'vec'"):
        H.vec2pix_nest(8, [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="argument 'smap'.*12 nside"):
        region_area_deg2(np.zeros(10), 1.0)
    with pytest.raises(ValueError, match="argument 'initial_seed'"):
        make_problem(SyntheticEvent(ra_deg=1.0, dec_deg=2.0), initial_seed=[0.0, 0.0])


def test_bare_analytic_fitter_spec_round_trip():
    f = _core.scan.AnalyticDirectionFitter(0.7, 5.5, 2000.0, np.array([1.0, 2.0, 3.0, 4.0]), 0.25, 1e-3, 2)
    assert (f.zenith, f.azimuth, f.kappa, f.vertex, f.vertex_pull, f.vertex_weight, f.work) == \
        (0.7, 5.5, 2000.0, [1.0, 2.0, 3.0, 4.0], 0.25, 1e-3, 2)
    prob = make_problem(f, time=60000.0)
    assert prob.spec == analytic_spec(f)
    g = fitter_from_spec(json.loads(json.dumps(prob.spec)))
    zen, azi, seeds = np.array([0.1, 0.7, 2.0]), np.array([0.0, 5.5, 3.0]), np.zeros((3, 4))
    assert f.fit_batch(zen, azi, seeds).tobytes() == g.fit_batch(zen, azi, seeds).tobytes()

    class Opaque(_core.scan.AnalyticDirectionFitter):
        pass

    assert make_problem(Opaque(0.7, 5.5), time=60000.0).spec is None


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="event"):
        make_problem(object())
    with pytest.raises(ValueError, match="'analytic', 'likelihood'"):  # both registered at import
        fitter_from_spec({"kind": "nope"})
    with pytest.raises(ValueError, match="spec"):
        fitter_from_spec({"kind": "analytic", "params": {}})


def test_any_scannable_can_be_scanned(synthetic_event):
    """A third-party event type only implements the Scannable protocol."""

    class Wrapped:
        def __init__(self, inner):
            self.inner = inner

        def scan_problem(self, *, time=None, initial_seed=None, fitter_options=None):
            p = self.inner.scan_problem(time=time, initial_seed=initial_seed)
            return ScanProblem(p.fitter, p.spec, p.mjd, p.rotation, p.initial_seed, {**p.meta, "event_type": "WRAPPED"})

        def to_json(self):
            return self.inner.to_json()

        def true_direction(self):
            return None

    w = Wrapped(synthetic_event)
    assert isinstance(w, Scannable) and as_scannable(w) is w
    r = scan(w, nsides=(8, 64), extensions=(12.0,), progress=False, threads=1)
    ref = scan(synthetic_event, nsides=(8, 64), extensions=(12.0,), progress=False, threads=1)
    assert r.equal_pixels(ref) and r.meta["event_type"] == "WRAPPED"


def test_problems_are_complete(synthetic_event):
    p = make_problem(synthetic_event)
    assert np.array_equal(p.rotation, equatorial_rotation(synthetic_event.mjd))
    assert p.rotation.flags.c_contiguous and p.initial_seed.shape == (4,)


def test_likelihood_bridge_returns_a_complete_problem():
    from icecore.scan.events import simulate_event
    from icecore.scan.likelihood_bridge import problem_from_likelihood_event

    ev = simulate_event(seed=4, energy_tev=200.0, mjd=60010.0)
    p = problem_from_likelihood_event(ev)
    assert isinstance(p, ScanProblem) and p.spec["kind"] == "likelihood"
    assert np.array_equal(p.rotation, equatorial_rotation(60010.0))
    assert make_problem(ev, time=60011.0).mjd == pytest.approx(60011.0)
