import json
import subprocess
import sys

import numpy as np
import pytest

import icecore
from icecore import errors
from icecore._io import atomic_write, safe_child, safe_name
from icecore._validation import rng_from_seed
from icecore.cli import main


def test_version_single_source():
    from icecore._version import __version__

    assert icecore.__version__ == __version__
    from icecore import _core

    assert _core.__version__ == __version__


def test_error_hierarchy():
    for cls in (errors.ParseError, errors.InputError, errors.DataFormatError):
        assert issubclass(cls, ValueError) and issubclass(cls, errors.IcecoreError)
    e = errors.DataFormatError("bad column", path="x.csv", line=7)
    assert "x.csv:7" in str(e)


def test_cli_help_and_version(capsys):
    with pytest.raises(SystemExit) as ex:
        main(["--version"])
    assert ex.value.code == 0
    assert icecore.__version__ in capsys.readouterr().out
    out = subprocess.run([sys.executable, "-m", "icecore", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout


def test_demo_runs_the_chain(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --out, as in the README
    out = tmp_path / "d"
    assert main(["demo", "--out", "d", "--json", "--quick", "--seed", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    steps = {s["name"]: s for s in summary["steps"]}
    assert list(steps) == ["simulated alert -> scan -> contours", "point-source follow-up", "alert record",
                           "radio noise level"]
    scan = steps["simulated alert -> scan -> contours"]
    assert scan["scan_error_deg"] < 5.0  # a coarse nside-32 scan of a 200 TeV muon
    assert scan["areas_deg2"]["icecube-calibrated"]["90"] > scan["areas_deg2"]["icecube-calibrated"]["50"]
    for f in scan["files"]:
        assert (out / f).stat().st_size > 0
    follow = steps["point-source follow-up"]
    assert 0 < follow["p_pre"] <= 1 and follow["background_trials"] == 500
    rec = json.loads((out / steps["alert record"]["record"]).read_text())
    assert rec["kind"] == "gold" and rec["significance"]["route"] == "ps_followup_time_integrated"
    assert abs(rec["ra_deg"] - scan["scan_best_fit"]["ra_deg"]) < 1e-3
    assert steps["alert record"]["idempotent_restore"] is True
    radio = steps["radio noise level"]
    # noise sigma 20 ADC: the quietest window is a bit below 20, the full trace is raised by the pulse
    assert 15 < radio["median_min_window_rms_adc"] < 20 < radio["median_full_trace_rms_adc"]


def test_safe_names_cannot_escape(tmp_path):
    for evil in ["../../x", "/etc/passwd", "..", ".", "", "a/../../b", "\x00\n"]:
        p = safe_child(tmp_path, evil)
        assert p.parent == tmp_path.resolve()
    assert safe_name("IceCube-230416A rev 1") == "IceCube-230416A_rev_1"


def test_atomic_write(tmp_path):
    p = tmp_path / "a" / "f.json"
    atomic_write(p, "one")
    atomic_write(p, b"two")
    assert p.read_text() == "two"
    with pytest.raises(FileExistsError):
        atomic_write(p, "three", overwrite=False)
    assert p.read_text() == "two"
    assert [q.name for q in p.parent.iterdir()] == ["f.json"]  # no temp files left


def test_seed_handling():
    a = rng_from_seed(5).normal(size=3)
    b = rng_from_seed(5).normal(size=3)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert rng_from_seed(g) is g
    with pytest.raises(ValueError, match="'seed'"):
        rng_from_seed("x")
    with pytest.raises(ValueError, match="'seed'"):
        rng_from_seed(-1)


def test_missing_compiled_core_says_how_to_build_it():
    import subprocess
    import sys

    code = ("import sys; sys.modules['icecore._core'] = None\n"
            "try:\n    import icecore\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "icecore._core could not be imported" in out.stdout
    assert "tools/dev-build.sh" in out.stdout and "pip install ." in out.stdout
