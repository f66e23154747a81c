"""Fixtures of the alerts tests: the real GCN notices in ../shared/fixtures/gcn."""

from __future__ import annotations

from pathlib import Path

import pytest
from alerts_fixtures import NOTICES  # noqa: E402,F401


@pytest.fixture(scope="session")
def gcn_dir(shared_dir: Path) -> Path:
    d = shared_dir / "fixtures" / "gcn"
    if not d.is_dir():
        pytest.skip("GCN fixtures not present")
    return d


@pytest.fixture(scope="session")
def notices(gcn_dir: Path) -> dict[str, bytes]:
    """name -> raw bytes of every notice fixture."""
    return {n: (gcn_dir / n).read_bytes() for n in NOTICES}


@pytest.fixture(scope="session")
def icecat_dir(shared_dir: Path) -> Path:
    d = shared_dir / "fixtures" / "icecat1"
    if not d.is_dir():
        pytest.skip("ICECAT-1 fixtures not present")
    return d
