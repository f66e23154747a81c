"""The ``icecore scan`` command line on synthetic events and the real fixture."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore.cli import main
from icecore.scan.skyreader import read_npz


def test_simulate_run_contours_synthetic(tmp_path, capsys):
    ev = tmp_path / "ev.json"
    assert main(["scan", "simulate", "--synthetic", "--seed", "3", "--ra", "10", "--dec", "20", "--out", str(ev)]) == 0
    assert "synthetic_event" in json.loads(ev.read_text())
    assert "wrote" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["scan", "run", str(ev), "--out", str(out), "--threads", "2", "--nsides", "8,64,512", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pixels_per_nside"]["8"] == 768
    assert set(summary["contours"]) == {"wilks", "icecube-calibrated"}
    rect = summary["contours"]["wilks"]["rectangles"]["90"]
    assert rect["ra_plus"] > 0 and rect["dec_minus"] > 0
    names = sorted(p.name for p in out.iterdir())
    assert "summary.json" in names
    for suffix in (".npz", ".json", ".fits", ".sky.png", ".zoom.png"):
        assert any(n.endswith(suffix) and n != "summary.json" for n in names), suffix
    npz = next(out.glob("*.npz"))
    r = read_npz(npz)
    assert r.best_fit["ra_deg"] == pytest.approx(summary["best_fit"]["ra_deg"])
    assert main(["scan", "contours", str(npz), "--convention", "wilks", "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert c["contours"]["wilks"]["areas_deg2"]["90"] == pytest.approx(summary["contours"]["wilks"]["areas_deg2"]["90"])


def test_contours_on_fixture_with_catalog(shared_dir, capsys):
    npz = shared_dir / "fixtures/skyscan/run00136766-evt000007637140-GOLD-8_64_512.npz"
    cat = shared_dir / "fixtures/icecat1/IceCube_Gold_Bronze_Tracks.csv"
    assert main(["scan", "contours", str(npz), "--legacy-dec", "--catalog", str(cat)]) == 0
    text = capsys.readouterr().out
    assert "RA 224.12" in text and "+41.31" in text and "IC220624A" in text


def test_contours_interpolation_flag_on_fixture(shared_dir, capsys):
    npz = shared_dir / "fixtures/skyscan/run00136766-evt000007637140-GOLD-8_64_512.npz"
    areas = {}
    for interp in ("quadratic", "bilinear"):
        assert main(["scan", "contours", str(npz), "--legacy-dec", "--convention", "skyreader-wilks",
                     "--interpolation", interp, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["interpolation"] == interp
        areas[interp] = out["contours"]["skyreader-wilks"]["areas_deg2"]["50"]
    # the sub-pixel Wilks 50 % region: the bilinear surface lies above the minimum between pixel centres
    assert areas["quadratic"] > 1.3 * areas["bilinear"]
    with pytest.raises(SystemExit) as ex:
        main(["scan", "contours", str(npz), "--legacy-dec", "--interpolation", "cubic"])
    assert ex.value.code == 2 and "--interpolation" in capsys.readouterr().err


def test_coverage_synthetic_small(capsys):
    # toy with mismatch scale 1.5: 2 dLLH at the truth ~ 2.25 chi2(2) -> Wilks 90 % covers ~64 %
    assert main(["scan", "coverage", "--synthetic", "--n", "12", "--nsides", "8,64", "--extensions", "12",
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["n_events"] == 12
    w = rep["coverage"]["wilks"]["90"]
    assert 0 <= w["fraction"] <= 1 and w["error"] == pytest.approx(np.sqrt(w["fraction"] * (1 - w["fraction"]) / 12))


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["scan", "contours", str(tmp_path / "missing.npz")]) == 2
    assert main(["scan", "run", str(tmp_path / "missing.json"), "--out", str(tmp_path)]) == 2
    bad = tmp_path / "ev.json"
    bad.write_text('{"synthetic_event": {"ra_deg": 1, "dec_deg": 95}}')
    assert main(["scan", "run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "dec_deg" in capsys.readouterr().err


def test_coverage_calibration_recovers_the_mismatch_scale():
    """Synthetic toy: 2 dLLH at the truth = 2.25 chi2(2) with mismatch, so calibrated levels ~
    2.25 x (1.386, 4.605) and they cover as advertised on a fresh sample."""
    from icecore.scan.coverage import calibrated_convention, coverage_study

    kw = {"synthetic": True, "nsides": (8, 64, 512), "extensions": (12.0, 24.0), "progress": False}
    rep = coverage_study(n_events=40, seed=5, energy_tev=(50.0, 500.0), energy_bins=2, **kw)
    cv = calibrated_convention(rep)
    assert cv.levels["90"] == pytest.approx(2.25 * 4.605, rel=0.35)
    assert rep["calibrated_levels"]["per_energy_bin"] and calibrated_convention(rep, energy_tev=60.0).name.endswith("TeV")
    # Wilks under-covers with the mismatched (wider) scatter: expected 1 - exp(-4.605 / 4.5) = 0.64
    assert rep["coverage"]["wilks"]["90"]["fraction"] < 0.85
