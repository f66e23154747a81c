"""Stacking: a stack of one is the single-source fit; injection into a stack is recovered; source lists.

The data here are the synthetic 10-year-layout fixtures of conftest.py (toy detector, not real
data), except the 4FGL and IC86-2011 test, which reads the real files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icecore.errors import DataFormatError, InputError
from icecore.ps import PointSourceAnalysis
from icecore.ps.sources import SourceList, read_4fgl, read_source_csv
from icecore.ps.stacking import StackingAnalysis

from .conftest import SRC

REAL = Path("/work/shared/data/real")


def test_stack_of_one_equals_single_source_fit(small_data):
    single = PointSourceAnalysis(small_data, SRC["ra"], SRC["dec"], threads=1)
    stack = StackingAnalysis(small_data, SourceList.single(SRC["ra"], SRC["dec"]))
    for ns, g in ((10.0, 2.0), (30.0, 2.5)):
        assert stack.log_likelihood_ratio(ns, g) == pytest.approx(single.log_likelihood_ratio(ns, g), rel=1e-4)
    a, b = single.unblind(), stack.unblind()
    assert b.ts == pytest.approx(a.ts, rel=0.02)
    assert b.ns == pytest.approx(a.ns, rel=0.03)
    assert b.gamma == pytest.approx(a.gamma, abs=0.03)
    # season shares of the shared ns are the acceptance shares of the single-source analysis
    f, mix = stack.shares(2.0)
    np.testing.assert_allclose(f, list(single.season_shares(2.0).values()), rtol=2e-3)
    assert all(m[0] == 1.0 for m in mix)


def test_injection_into_a_stack_of_20_is_recovered(small_data):
    rng = np.random.default_rng(4)
    k = 20
    src = SourceList(rng.uniform(0, 360, k), np.degrees(np.arcsin(rng.uniform(-0.7, 0.7, k))), rng.uniform(0.5, 2, k),
                     [f"s{i}" for i in range(k)])
    st = StackingAnalysis(small_data, src)
    res = st.trials(4, seed=3, ns_inject=60.0, gamma_inject=2.0, backend="numpy")  # the reference path
    ns = np.array([r.ns for r in res])
    inj = np.array([r.n_injected for r in res])
    assert np.all(inj > 30)
    assert np.mean(ns) == pytest.approx(np.mean(inj), rel=0.3)
    assert np.mean([r.gamma for r in res]) == pytest.approx(2.0, abs=0.3)
    bg = st.trials(3, seed=9, backend="numpy")
    assert np.mean([r.ts for r in bg]) < np.min([r.ts for r in res])


def test_source_csv(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("name,RA,dec,weight\na,10,20,1\nb,30,-40,3\n")
    s = read_source_csv(p)
    assert s.name == ["a", "b"] and list(s.weight) == [1.0, 3.0]
    p.write_text("ra,dec\n10,20\n30,x\n")
    with pytest.raises(DataFormatError, match=r"s.csv:3"):
        read_source_csv(p)
    p.write_text("ra,dec\n10,95\n")
    with pytest.raises(DataFormatError, match=r"s.csv:2"):
        read_source_csv(p)


@pytest.mark.skipif(not (REAL / "catalogues" / "fermi").is_dir(), reason="real 4FGL catalogue absent")
def test_4fgl_selection_stack_on_real_ic86_2011():
    from icecore.ps.releases import load_release

    src = read_4fgl(REAL / "catalogues" / "fermi" / "gll_psc_v35_4FGL-DR4.fit", classes=("bll", "fsrq"),
                    n_brightest=10, dec_range=(-5.0, 60.0))
    assert len(src) == 10 and np.all(src.weight > 0)
    assert np.all(np.diff(src.weight) <= 0)  # brightest first (Energy_Flux100)
    data = load_release(REAL / "ps" / "IC86-2011_PS-release")
    st = StackingAnalysis(data, src)
    r = st.unblind()
    assert np.isfinite(r.ts) and r.ts >= 0 and r.ns >= 0
    eq = StackingAnalysis(data, src, weighting="equal")
    assert np.isfinite(eq.unblind().ts)


@pytest.mark.kernel
def test_cpp_trials_equal_numpy_on_the_same_scrambles(small_data):
    rng = np.random.default_rng(8)
    k = 12
    src = SourceList(rng.uniform(0, 360, k), np.degrees(np.arcsin(rng.uniform(-0.6, 0.6, k))), rng.uniform(0.5, 2, k),
                     [f"s{i}" for i in range(k)])
    st = StackingAnalysis(small_data, src)
    kern = st.kernel()
    rec = [np.radians(ss.m.season.ra_deg) for ss in st.seasons]
    for ns, g in ((10.0, 2.0), (40.0, 2.63)):  # the likelihood itself, term by term
        assert kern.log_lambda(rec, ns, g) == pytest.approx(st.log_likelihood_ratio(ns, g), rel=1e-10, abs=1e-10)
    seeds = np.array([5, 6, 7], dtype=np.uint64)
    out = kern.trials(seeds, None, 1)
    for s, r in zip(seeds, out):
        ref = st.fit_with_ra(kern.scramble(int(s)), backend="numpy")  # numpy on the kernel's own scramble
        assert r["ts"] == pytest.approx(ref.ts, rel=1e-5, abs=1e-6)
        assert r["ns"] == pytest.approx(ref.ns, rel=1e-3, abs=1e-3)
        assert r["gamma"] == pytest.approx(ref.gamma, abs=2e-3)  # Brent tolerance 1e-3 on both sides
    np.testing.assert_array_equal(kern.trials(seeds, None, 2), out)  # any thread count, same results
    # injected events enter the C++ trials: same seed and threads 1 vs 2 identical, signal recovered
    a = st.trials(3, seed=2, ns_inject=50.0, threads=1)
    b = st.trials(3, seed=2, ns_inject=50.0, threads=2)
    assert a == b and all(x.n_injected > 25 and x.ns > 15 for x in a)
    with pytest.raises(InputError, match="backend"):
        st.trials(1, backend="fortran")
