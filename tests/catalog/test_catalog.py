"""icecore.catalog: one Catalog for the ICECAT-1 reader and the generic CSV/FITS reader."""

from __future__ import annotations

import numpy as np
import pytest

from icecore.catalog import Catalog, CatalogEvent, CatalogSource, load_icecat1, read_catalog
from icecore.errors import InputError

ICECAT = "fixtures/icecat1/IceCube_Gold_Bronze_Tracks.csv"


@pytest.fixture(scope="module")
def icecat_path(shared_dir):
    p = shared_dir / ICECAT
    if not p.is_file():
        pytest.skip("ICECAT-1 fixture not present")
    return p


def test_both_readers_give_the_same_catalogue(icecat_path):
    full, plain = load_icecat1(icecat_path), read_catalog(icecat_path)
    assert isinstance(full, Catalog) and isinstance(plain, Catalog)
    assert len(full) == len(plain) == 348
    assert full.name.tolist() == plain.name.tolist()
    np.testing.assert_array_equal(full.ra_deg, plain.ra_deg)
    np.testing.assert_array_equal(full.dec_deg, plain.dec_deg)
    assert isinstance(full["IC190730A"], CatalogEvent) and isinstance(plain["IC190730A"], CatalogSource)
    assert set(full.columns) == set(plain.columns) and "OTHER_I3TYPES" in full.columns
    assert full.columns["NAME"].tolist() == plain.columns["NAME"].tolist()
    assert full.events is full.entries


def test_generic_catalogue_matches_by_position_only(icecat_path):
    plain, full = read_catalog(icecat_path), load_icecat1(icecat_path)
    assert np.isnan(plain.mjd).all() and (plain.max_error_deg == 0).all()
    m = plain.crossmatch(225.7899, 10.47, radius_deg=5.0)
    assert [x.event.name for x in m] == [x.event.name for x in full.crossmatch(225.7899, 10.47, radius_deg=5.0)]
    assert m[0].event.name == "IC190730A" and m[0].dt_days is None
    # without errors, the default radius is the alert's own error only
    assert plain.crossmatch(226.14, 10.77, error_deg=0.01)[0].distance_deg == 0.0
    assert plain.crossmatch(226.64, 10.77) == []
    with pytest.raises(InputError, match="no time"):
        plain.crossmatch(226.14, 10.77, 58694.86853)


def test_hand_built_catalogue(tmp_path):
    cat = Catalog([CatalogSource("A", 10.0, 20.0, mjd=60000.0, max_error_deg=1.0),
                   CatalogSource("B", 10.5, 20.0, mjd=60001.0)], source="hand")
    assert "hand" in repr(cat) and [e.name for e in cat] == ["A", "B"]
    [m] = cat.crossmatch(10.0, 20.5, 60000.5, time_window_days=0.6)
    assert m.event.name == "A" and m.dt_days == pytest.approx(-0.5)
    assert len(Catalog([])) == 0 and Catalog([]).crossmatch(1.0, 2.0) == []
