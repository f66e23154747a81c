"""Fixtures of the LVK tests: the real IC86-2011 sample and real GW maps (skipped without ../shared)."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="session")
def notice_validator(shared_dir: Path):
    """A jsonschema validator of the gcn-schema ``lvk_nu_track_search`` notice (fixtures)."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    root = shared_dir / "fixtures" / "gcn" / "gcn-schema" / "main" / "gcn" / "notices"
    res = []
    for f in root.rglob("*.schema.json"):
        d = json.loads(f.read_text())
        res.append((d["$id"], referencing.Resource.from_contents(d)))
    schema = json.loads((root / "icecube" / "lvk_nu_track_search.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, registry=referencing.Registry().with_resources(res))
