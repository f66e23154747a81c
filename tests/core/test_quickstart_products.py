"""Quick-start command 1 keeps its promise: ``icecore demo`` writes the PNG plots on a plain install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from icecore.cli import main

REPO = Path(__file__).resolve().parents[2]


def _core_dependencies() -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


def test_matplotlib_is_a_core_dependency():
    # `python -m pip install .` (README quick start) must bring what the demo needs for its PNGs
    assert any(dep.split(">")[0].split("=")[0].strip() == "matplotlib" for dep in _core_dependencies())


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    assert main(["demo", "--out", str(out), "--quick", "--seed", "2"]) == 0
    return out


def test_demo_writes_the_promised_plots(demo_out):
    pngs = sorted(p.name for p in (demo_out / "scan").glob("*.png"))
    assert any(n.endswith(".sky.png") for n in pngs) and any(n.endswith(".zoom.png") for n in pngs)
    for p in (demo_out / "scan").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
