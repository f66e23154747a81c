"""Shared test fixtures.

Real data lives in ``../shared`` beside the repository (read-only); tests that need it use the
``shared_dir`` fixture and are skipped cleanly when it is absent. ICECORE_SHARED overrides the
location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_path() -> Path:
    env = os.environ.get("ICECORE_SHARED")
    return Path(env) if env else REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = _shared_path()
    if not (path / "DESIGN.md").exists() and not (path / "fixtures").is_dir():
        pytest.skip(f"shared data folder not found at {path} (set ICECORE_SHARED)")
    return path


def _offline_earth_orientation() -> None:
    """The test machines (and CI) have no internet: astropy must use its bundled IERS tables.

    icecore itself falls back to them by its own policy (tested in tests/core/test_coords.py);
    the independent astropy oracles in the tests call astropy directly and need the same setting.
    """
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "ignore"


_offline_earth_orientation()
