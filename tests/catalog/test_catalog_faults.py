"""Issue #11.13 for the catalogue loaders: corrupt inputs are DataFormatError naming the file."""

from __future__ import annotations

import pytest

from icecore.catalog import load_icecat1, read_catalog
from icecore.errors import DataFormatError


def test_truncated_fits_catalog_is_a_data_format_error(tmp_path):
    from astropy.table import Table

    good = tmp_path / "good.fits"
    Table({"NAME": ["a", "b"], "RA": [1.0, 2.0], "DEC": [3.0, 4.0]}).write(good)
    assert len(read_catalog(good)) == 2
    data = good.read_bytes()
    for i, cut in enumerate((10, 2880, len(data) - 100)):
        bad = tmp_path / f"bad{i}.fits"
        bad.write_bytes(data[:cut])
        with pytest.raises(DataFormatError, match=f"bad{i}.fits"):
            read_catalog(bad)
    junk = tmp_path / "junk.fits.gz"
    junk.write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(DataFormatError, match="junk.fits.gz"):
        read_catalog(junk)


def test_non_utf8_and_malformed_csv_are_data_format_errors(tmp_path):
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"NAME,RA,DEC\n\xe9,1,2\n")
    with pytest.raises(DataFormatError, match="latin.csv"):
        read_catalog(bad)
    with pytest.raises(DataFormatError, match="latin.csv"):
        load_icecat1(bad)
    huge = tmp_path / "huge.csv"
    huge.write_text("NAME,RA,DEC\n\"" + "x" * 200_000 + "\",1,2\n")
    with pytest.raises(DataFormatError, match="huge.csv"):
        read_catalog(huge)
    with pytest.raises(DataFormatError):
        load_icecat1(huge)
