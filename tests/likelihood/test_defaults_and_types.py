"""One source of defaults (the C++ structs) and typed data across the likelihood binding."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from icecore import _core
from icecore.likelihood import DEFAULT_ICE, IceModel, TrackLikelihood, fit_track, simulate_track, track_geometry
from icecore.likelihood.fit import DEFAULT_SIGMA_NS


def test_ice_model_defaults_are_the_cxx_ones():
    cxx = _core.likelihood.IceParams()
    for name in ("absorption_m", "tau_ns", "scattering_m", "n_phase", "n_group", "c_m_per_ns", "deff_coefficients"):
        assert getattr(IceModel(), name) == getattr(cxx, name), name
    assert DEFAULT_ICE.rho == cxx.rho
    assert DEFAULT_ICE.rho == 1.0 / cxx.tau_ns + cxx.c_m_per_ns / (cxx.n_group * cxx.absorption_m)
    p = IceModel(absorption_m=120.0, deff_coefficients=(1.0, 0.9, 0.0, 0.0)).to_params()
    assert p.absorption_m == 120.0 and p.deff_coefficients == (1.0, 0.9, 0.0, 0.0) and p.problem is None


def test_likelihood_defaults_are_the_cxx_ones():
    spe, mpe = _core.likelihood.LikelihoodOptions("spe"), _core.likelihood.LikelihoodOptions("mpe")
    assert (spe.mode, mpe.mode) == ("spe", "mpe")
    assert DEFAULT_SIGMA_NS == {"spe": spe.sigma_ns, "mpe": mpe.sigma_ns} == {"spe": 15.0, "mpe": 4.0}
    sig = inspect.signature(TrackLikelihood.__init__).parameters
    for name in ("noise_rate_hz", "window_ns", "n_ring", "ring_radius_m", "max_iter"):
        assert sig[name].default == getattr(mpe, name), name
    assert inspect.signature(fit_track).parameters["noise_rate_hz"].default == mpe.noise_rate_hz
    ev = simulate_track(100.0, 60.0, 20.0, seed=1)
    for mode in ("spe", "mpe"):
        llh = TrackLikelihood(ev, mode)
        assert llh.sigma_ns == DEFAULT_SIGMA_NS[mode] and llh.options.mode == mode
    assert TrackLikelihood(ev, "spe", sigma_ns=7.0).options.sigma_ns == 7.0


def test_options_and_ice_report_problems():
    o = _core.likelihood.LikelihoodOptions()
    assert o.problem is None
    o.n_ring = 65
    assert "n_ring" in o.problem
    with pytest.raises(ValueError, match="'mode'"):
        _core.likelihood.LikelihoodOptions("xyz")
    ice = _core.likelihood.IceParams()
    ice.deff_coefficients = [3.0, -1.0, 0.0, 0.0]
    assert "slope" in ice.problem
    with pytest.raises(ValueError, match="'deff_coefficients'"):
        ice.deff_coefficients = [1.0, 2.0]
    ev = simulate_track(100.0, 60.0, 20.0, seed=1)
    h = ev.hit_doms()
    with pytest.raises(ValueError, match="'ice'"):
        _core.likelihood.PandelTrackLikelihood(h["position"], h["first_time_ns"], h["charge_pe"], ice)
    with pytest.raises(ValueError, match="'options'"):
        _core.likelihood.PandelTrackLikelihood(h["position"], h["first_time_ns"], h["charge_pe"], options=o)


def test_binding_defaults_match_the_python_wrapper():
    # the compiled class with its own defaults is the same likelihood as the wrapper's MPE default
    ev = simulate_track(100.0, 60.0, 20.0, seed=2)
    h = ev.hit_doms()
    raw = _core.likelihood.PandelTrackLikelihood(h["position"], h["first_time_ns"], h["charge_pe"])
    wrapped = TrackLikelihood(ev)
    v = ev.meta["truth"]["vertex"]
    f_raw, g_raw = raw.neg_llh(*v, 1.0, 0.4)
    f_wrapped, g_wrapped = wrapped.neg_llh(*v, 1.0, 0.4)
    assert f_raw == f_wrapped and np.array_equal(g_raw, g_wrapped)


@pytest.mark.kernel
def test_track_geometry_is_a_structured_array():
    pos = np.random.default_rng(3).uniform(-400, 400, (7, 3))
    g = track_geometry(pos, [0.0, 0.0, 0.0, 100.0], 40.0, 10.0)
    assert isinstance(g, np.ndarray) and g.shape == (7,)
    assert g.dtype.names == ("distance", "t_geo", "cos_eta", "along")
    assert all(g.dtype[name] == np.float64 for name in g.dtype.names)
    assert np.all(g["distance"] > 0) and np.all(np.abs(g["cos_eta"]) <= 1)
