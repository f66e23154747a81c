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
