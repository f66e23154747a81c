"""The top-level CLI: every area's sub-command group is registered (explicit list), errors are one line."""

from __future__ import annotations

import argparse

from icecore.cli import build_parser, main


def test_every_area_is_registered():
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {"demo", "alerts", "significance", "likelihood", "scan", "ps", "lvk", "radio", "serve"} <= set(sub.choices)


def test_library_errors_are_one_line(capsys, tmp_path):
    assert main(["alerts", "list", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("icecore: error: ") and err.count("\n") == 1
