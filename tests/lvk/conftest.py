"""Fixtures of the LVK tests: the real IC86-2011 sample and real GW maps (skipped without ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "real"
    if not (path / "gw").is_dir():
        pytest.skip(f"real data not found under {path}")
    return path


@pytest.fixture(scope="session")
def sample(real: Path):
    from icecore.lvk.events import load_ic86_2011

    return load_ic86_2011(real / "ps" / "IC86-2011_PS-release")


@pytest.fixture(scope="session")
def background(sample):
    from icecore.lvk.events import BackgroundModel

    return BackgroundModel(sample)


@pytest.fixture(scope="session")
def s190814bv_moc(real: Path):
    from icecore.lvk.skymap import read_skymap

    return read_skymap(real / "gw" / "multiorder" / "S190814bv_LALInference.v1.multiorder.fits")


@pytest.fixture(scope="session")
def search128(s190814bv_moc, background):
    from icecore.lvk.region import SearchRegion
    from icecore.lvk.search import PixelSearch

    region = SearchRegion.from_map(s190814bv_moc, nside=128)
    return PixelSearch(region, background)
