"""Shared synthetic datasets for the point-source tests (written once per session into tmp dirs)."""

from __future__ import annotations

import pytest

from icecore.ps import load_public_data, simulate_public_data

SRC = {"ra": 77.35, "dec": 5.7, "n": 40, "gamma": 2.0}


@pytest.fixture(scope="session")
def small_release(tmp_path_factory):
    """10-year layout, 3 seasons x 20 000 background events, one source of 40 events at (77.35, 5.7)."""
    path = tmp_path_factory.mktemp("ps10y") / "data"
    simulate_public_data(path, seasons=("IC79", "IC86_I", "IC86_II"), n_events=20_000, sources=[SRC], seed=11)
    return path


@pytest.fixture(scope="session")
def small_data(small_release):
    return load_public_data(small_release)
