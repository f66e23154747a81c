"""``icecore likelihood`` sub-commands (registered through likelihood/cli.py)."""

from __future__ import annotations

import argparse
import json

from icecore.likelihood import Event
from icecore.likelihood.cli import register


def _parser():
    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command"))
    return p


def test_simulate_then_fit(tmp_path, capsys):
    out = tmp_path / "ev.json"
    args = _parser().parse_args(["likelihood", "simulate", "--energy-tev", "300", "--zenith", "50", "--azimuth", "80",
                                 "--seed", "3", "--mjd", "60000", "--out", str(out)])
    assert args.func(args) == 0
    ev = Event.load(out)
    assert ev.meta["truth"]["zenith_deg"] == 50
    args = _parser().parse_args(["likelihood", "fit", str(out), "--json", "--threads", "2"])
    capsys.readouterr()
    assert args.func(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert abs(res["zenith_deg"] - 50) < 2 and res["ra_deg"] is not None
