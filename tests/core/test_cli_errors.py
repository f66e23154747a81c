"""Errors in the user's words: one line naming the flag, before any work is done."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore._cli import HelpFormatter, user_message
from icecore.cli import build_parser, main
from icecore.errors import InputError


def _run(argv) -> int:
    """Exit status of ``icecore ARGV`` (usage errors exit through argparse's SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv, flag, words", [
    (["scan", "simulate", "--out", "{dir}"], "--out", "is a directory"),
    (["ps", "trials", "--data", "{dir}", "--ra", "1", "--dec", "1", "--n", "1", "--out", "{dir}"], "--out",
     "is a directory"),
    (["ps", "sensitivity", "--data", "{dir}", "--ra", "1", "--dec", "1", "--plot", "{dir}"], "--plot",
     "is a directory"),
    (["radio", "orient", "{file}", "--plot", "{file}"], "--plot", "is a file"),
    (["radio", "clean", "{file}", "--out", "{file}"], "--out", "is a file"),
    (["demo", "--out", "{file}"], "--out", "is a file"),
    (["scan", "run", "{file}", "--out", "{file}"], "--out", "is a file"),
    (["scan", "run", "{dir}", "--out", "{dir}/o"], "EVENT", "is a directory"),
    (["scan", "contours", "{dir}"], "RESULT", "is a directory"),
    (["ps", "fit", "--data", "{file}", "--ra", "1", "--dec", "1"], "--data", "is a file"),
    (["ps", "fit", "--data", "{dir}/absent", "--ra", "1", "--dec", "1"], "--data", "no such directory"),
    (["ps", "trials", "--data", "{dir}", "--ra", "1", "--dec", "1", "--n", "1", "--out", "{dir}/bg.txt"], "--out",
     ".npz or .json"),
])
def test_path_mistakes_are_one_line_naming_the_flag(tmp_path, capsys, argv, flag, words):
    (tmp_path / "f.txt").write_text("x")
    argv = [a.format(dir=tmp_path, file=tmp_path / "f.txt") for a in argv]
    assert _run(argv) == 2
    line = _one_error_line(capsys)
    assert flag in line and words in line


@pytest.mark.parametrize("argv, flag", [
    (["scan", "simulate", "--ra", "400", "--out", "x.json"], "--ra"),
    (["scan", "simulate", "--ra", "-1", "--out", "x.json"], "--ra"),
    (["scan", "simulate", "--ra", "360", "--out", "x.json"], "--ra"),
    (["scan", "simulate", "--dec", "95", "--out", "x.json"], "--dec"),
    (["ps", "fit", "--data", ".", "--ra", "400", "--dec", "0"], "--ra"),
    (["radio", "simulate", "--out", "r", "--arm", "400"], "--arm"),
    (["likelihood", "simulate", "--energy-tev", "10", "--zenith", "90", "--azimuth", "400", "--out", "e.json"],
     "--azimuth"),
    (["likelihood", "simulate", "--energy-tev", "10", "--zenith", "200", "--azimuth", "40", "--out", "e.json"],
     "--zenith"),
    (["radio", "orient", "x", "--gps", "A1=37"], "--gps"),
    (["radio", "orient", "x", "--gps", "0=400"], "--gps"),
])
def test_range_checks_are_consistent(tmp_path, monkeypatch, capsys, argv, flag):
    monkeypatch.chdir(tmp_path)
    assert _run(argv) == 2
    line = _one_error_line(capsys)
    assert flag in line and "invalid literal" not in line
    assert not (tmp_path / "x.json").exists()


def test_api_errors_are_mapped_to_flags():
    assert user_message(InputError("argument 'out': toy already holds data (pass overwrite=True)", "out")) == \
        "--out: toy already holds data (pass --overwrite)"
    assert user_message(InputError("argument 'path': nope is not a folder"), {"path": "--data"}) == \
        "--data: nope is not a folder"
    assert user_message(InputError("argument 'time': the event has no MJD; pass time=", "time"), {"time": "--mjd"}) == \
        "--mjd: the event has no MJD; pass --mjd"
    assert user_message(ValueError("argument 'zzz': unknown")) == "argument 'zzz': unknown"  # no flag: unchanged


def test_ps_simulate_twice_names_overwrite(tmp_path, capsys):
    d = str(tmp_path / "toy")
    args = ["ps", "simulate", "--out", d, "--seasons", "IC86_I", "--n-events", "500"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    line = _one_error_line(capsys)
    assert "--out" in line and "--overwrite" in line and "overwrite=True" not in line


def test_help_shows_defaults():
    parser = build_parser()
    sub = {a.dest: a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)}["command"]
    ps = sub.choices["ps"]
    ps_sub = [a for a in ps._actions if hasattr(a, "choices") and isinstance(a.choices, dict)][0]
    text = ps_sub.choices["sensitivity"].format_help().split("options:", 1)[1]
    for flag, default in (("--n-background", "5000"), ("--n-trials", "300"), ("--gamma", "2.0"),
                          ("--e0", "1000.0"), ("--sigma", "5.0")):
        block = text.split(f"  {flag} ", 1)[1].split("\n  -", 1)[0]
        assert f"default: {default}" in " ".join(block.split()), (flag, block)
    assert ps_sub.choices["sensitivity"].formatter_class is HelpFormatter


def test_scan_simulate_ids_are_unique_and_never_overwritten(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["scan", "simulate", "--synthetic", "--seed", "1", "--out", str(a)]) == 0
    assert main(["scan", "simulate", "--synthetic", "--seed", "2", "--out", str(b)]) == 0
    from icecore.scan.events import load_event

    ids = [(load_event(p).run_id, load_event(p).event_id) for p in (a, b)]
    assert ids[0] != ids[1] and all(e != 0 for _, e in ids)
    capsys.readouterr()
    before = a.read_text()
    assert _run(["scan", "simulate", "--synthetic", "--seed", "3", "--out", str(a)]) == 2
    assert "--overwrite" in _one_error_line(capsys) and a.read_text() == before
    assert main(["scan", "simulate", "--synthetic", "--seed", "3", "--out", str(a), "--overwrite"]) == 0
    assert a.read_text() != before


def test_scan_run_refuses_to_overwrite(tmp_path, capsys):
    ev, out = tmp_path / "ev.json", tmp_path / "out"
    assert main(["scan", "simulate", "--synthetic", "--seed", "4", "--out", str(ev)]) == 0
    run = ["scan", "run", str(ev), "--out", str(out), "--nsides", "2,8", "--extensions", "4", "--no-plots"]
    assert main(run) == 0
    capsys.readouterr()
    stamp = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(run) == 2
    assert "--overwrite" in _one_error_line(capsys)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamp
    assert main(run + ["--overwrite"]) == 0


def test_ps_sensitivity_reuses_background_and_trials_refuse_overwrite(tmp_path, capsys):
    d = tmp_path / "rel"
    assert main(["ps", "simulate", "--out", str(d), "--seasons", "IC86_I", "--n-events", "3000", "--seed", "2"]) == 0
    bg = tmp_path / "bg.npz"
    pos = ["--data", str(d), "--ra", "150", "--dec", "20"]
    assert main(["ps", "trials", *pos, "--n", "300", "--out", str(bg)]) == 0
    assert main(["ps", "trials", *pos, "--n", "300", "--out", str(bg)]) == 2
    capsys.readouterr()
    assert main(["ps", "sensitivity", *pos, "--background", str(bg), "--n-trials", "40", "--no-discovery",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_background"] == 300 and out["background_file"] == str(bg)
    assert out["background_median"] == pytest.approx(float(np.median(np.load(bg)["ts"])), abs=0.06)


def test_plot_without_matplotlib_fails_before_the_work(tmp_path, capsys, monkeypatch):
    import icecore._optional as opt

    real = opt.available
    monkeypatch.setattr(opt, "available", lambda m: False if m == "matplotlib" else real(m))
    d = tmp_path / "rel"
    d.mkdir()
    assert main(["ps", "sensitivity", "--data", str(d), "--ra", "1", "--dec", "1", "--plot",
                 str(tmp_path / "p.png")]) == 2
    line = _one_error_line(capsys)
    assert "--plot" in line and "matplotlib" in line


def test_every_help_page_renders():
    import argparse

    def walk(p):
        assert p.format_help()
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for child in a.choices.values():
                    walk(child)

    walk(build_parser())
