"""``icecore ps`` command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore.cli import main


def test_simulate_fit_trials_sensitivity(tmp_path, capsys):
    d = tmp_path / "rel"
    assert main(["ps", "simulate", "--out", str(d), "--seasons", "IC86_I", "IC86_II", "--n-events", "8000",
                 "--source", "150,20,30,2.0", "--seed", "3", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sources"][0]["dec"] == 20.0
    assert (d / "events" / "IC86_II_exp.csv").exists()

    assert main(["ps", "fit", "--data", str(d), "--ra", "150", "--dec", "20", "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["status"] == "ok" and fit["ts"] > 10 and 10 < fit["ns"] < 60
    assert set(fit["ns_seasons"]) == {"IC86_I", "IC86_II"}
    assert main(["ps", "fit", "--data", str(d), "--ra", "150", "--dec", "20", "--seasons", "IC86_II"]) == 0
    assert "TS" in capsys.readouterr().out

    out = tmp_path / "bg.npz"
    assert main(["ps", "trials", "--data", str(d), "--ra", "150", "--dec", "20", "--n", "200", "--out", str(out),
                 "--seed", "2", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    z = np.load(out)
    assert len(z["ts"]) == 200 and s["median_ts"] == pytest.approx(np.median(z["ts"]))

    png = tmp_path / "bg.png"
    assert main(["ps", "sensitivity", "--data", str(d), "--ra", "150", "--dec", "20", "--n-background", "1000",
                 "--n-trials", "60", "--plot", str(png), "--json"]) == 0
    sens = json.loads(capsys.readouterr().out)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0 < sens["sensitivity"]["ns"] < sens["discovery_potential"]["ns"]
    # the tail model is chosen by a goodness-of-fit test (issue #13) and reported with its quality
    assert sens["tail_fit"]["model"] in ("chi2", "exponential")
    assert 0 <= sens["tail_fit"]["gof_pvalue"] <= 1


def test_cli_errors(tmp_path, capsys):
    assert main(["ps", "fit", "--data", str(tmp_path / "missing"), "--ra", "1", "--dec", "2"]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["ps", "simulate", "--out", str(tmp_path / "x"), "--seasons", "IC99"]) == 2


def test_cli_scan_trials_json_and_lists(small_release, tmp_path, capsys):
    out = tmp_path / "scan.npz"
    assert main(["ps", "scan", "--data", str(small_release), "--seasons", "IC86_I,IC86_II", "--nside", "2",
                 "--threads", "1", "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    z = np.load(out)
    assert len(z["ts"]) == 48 and s["max_ts"] == pytest.approx(z["ts"].max())
    tj = tmp_path / "t.json"
    assert main(["ps", "trials", "--data", str(small_release), "--seasons", "IC86_II", "--ra", "77.35", "--dec", "5.7",
                 "--n", "20", "--out", str(tj)]) == 0
    assert "20 trials" in capsys.readouterr().out
    assert len(json.loads(tj.read_text())["ts"]) == 20
    with pytest.raises(SystemExit):
        main(["ps", "simulate", "--out", str(tmp_path / "x"), "--source", "1,2,x"])
    assert "--source" in capsys.readouterr().err
