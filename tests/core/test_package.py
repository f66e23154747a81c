import json
import os
import stat
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
    assert icecore._core.__version__ == __version__


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


def test_demo_writes_summary(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--json"]) == 0
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary == json.loads(capsys.readouterr().out)
    names = [s["name"] for s in summary["steps"]]
    assert "radio noise level" in names
    radio = summary["steps"][names.index("radio noise level")]
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
