"""Old skymap_scanner files: the layout is detected, the declination convention demanded, and a
catalogue position that disagrees is an error (issue #13, item 4); E_in/E_tot NaN when not computed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from icecore.catalog import load_icecat1, read_catalog
from icecore.scan.association import PositionMismatchError, associate, check_catalog_position, find_event_entry
from icecore.scan.skyreader import (
    NAN_SENTINEL,
    LegacyLayoutError,
    event_from_filename,
    is_legacy_layout,
    read,
    read_json,
    read_npz,
    to_skyreader_dict,
    write_json,
    write_npz,
)

FIXTURE = "fixtures/skyscan/run00136766-evt000007637140-GOLD-8_64_512.npz"
ICECAT = "fixtures/icecat1/IceCube_Gold_Bronze_Tracks.csv"
JSONS = "data/real/scans/skymap_scanner/results_json"


def test_old_layout_demands_a_convention(shared_dir):
    path = shared_dir / FIXTURE
    assert is_legacy_layout(path)
    with pytest.raises(LegacyLayoutError, match="scanner-legacy") as exc:
        read_npz(path)
    msg = str(exc.value)
    assert "--legacy-dec" in msg and "no 'header' array" in msg and "pixel version 0" in msg
    assert "run 136766, event 7637140" in msg
    with pytest.raises(LegacyLayoutError):
        read(path)
    # an explicit convention is applied as given, and recorded
    leg = read_npz(path, dec_convention="scanner-legacy")
    std = read_npz(path, dec_convention="standard")
    assert leg.best_fit["dec_deg"] == pytest.approx(41.31, abs=0.03)
    assert std.best_fit["dec_deg"] == pytest.approx(-41.31, abs=0.03)
    assert leg.info == {"dec_convention": "scanner-legacy", "legacy_layout": True}
    with pytest.raises(ValueError, match="'dec_convention'"):
        read_npz(path, dec_convention="south")


def test_event_from_filename():
    assert event_from_filename("a/run00136766-evt000007637140-GOLD-8_64_512.npz") == {
        "run_id": 136766, "event_id": 7637140, "event_type": "GOLD"}
    assert event_from_filename("run00136766.evt000007637140.neutrino_1.json")["event_type"] == "neutrino_"
    assert event_from_filename("scan.npz") is None


def test_current_layouts_read_standard(shared_dir, synthetic_result, tmp_path):
    # real skymap_scanner JSON results carry event metadata: standard convention, no error
    f = shared_dir / JSONS / "splinempe/run00136766.evt000007637140.neutrino_1.json"
    assert not is_legacy_layout(f)
    r = read_json(f)
    assert r.meta["run_id"] == 136766 and r.best_fit["dec_deg"] > 0  # IC220624A is at Dec +41.31
    assert r.info["dec_convention"] == "standard" and not r.info["legacy_layout"]
    # files written by icecore have a header
    p = write_npz(synthetic_result, tmp_path / "s.npz")
    assert not is_legacy_layout(p)
    assert read_npz(p).best_fit["dec_deg"] == pytest.approx(synthetic_result.best_fit["dec_deg"])
    # JSON blocks without event metadata are the old layout too
    d = to_skyreader_dict(synthetic_result)
    for block in d.values():
        block["metadata"] = {"nside": block["metadata"]["nside"]}
    q = tmp_path / "old.json"
    q.write_text(json.dumps(d))
    assert is_legacy_layout(q)
    with pytest.raises(LegacyLayoutError):
        read_json(q)
    assert read_json(q, dec_convention="standard").pixels_per_nside == synthetic_result.pixels_per_nside


@pytest.mark.parametrize("loader", [read_catalog, load_icecat1])
def test_catalogue_position_must_agree(shared_dir, loader):
    cat = loader(shared_dir / ICECAT)
    leg = read_npz(shared_dir / FIXTURE, dec_convention="scanner-legacy")
    std = read_npz(shared_dir / FIXTURE, dec_convention="standard")
    ids = (136766, 7637140)
    assert cat.name[find_event_entry(cat, run_id=ids[0], event_id=ids[1])] == "IC220624A"
    ok = check_catalog_position(leg, cat, event=ids)
    assert ok["name"] == "IC220624A" and ok["offset_deg"] < 1.0 and ok["max_offset_deg"] >= 5.0
    assert check_catalog_position(leg, cat, event="IC220624A")["offset_deg"] == ok["offset_deg"]
    with pytest.raises(PositionMismatchError, match="scanner-legacy") as exc:
        check_catalog_position(std, cat, event=ids)
    assert exc.value.offset_deg > 80 and exc.value.mirrored_offset_deg < 1.0 and exc.value.name == "IC220624A"
    # association with the event named: the disagreement is an error, the agreement associates
    with pytest.raises(PositionMismatchError):
        associate(std, cat, event=ids)
    assert [h["name"] for h in associate(leg, cat, convention="icecube-calibrated", event=ids)] == ["IC220624A"]
    # an event not in the catalogue: nothing to check
    assert check_catalog_position(leg, cat, event=(1, 2)) is None


def test_association_checks_ids_from_metadata(synthetic_result, shared_dir):
    """A result with run/event ids is checked automatically when its event is in the catalogue."""
    import copy

    from icecore.catalog import Catalog, CatalogSource

    r = copy.copy(synthetic_result)
    r.meta = dict(synthetic_result.meta)
    b = r.best_fit
    far = Catalog([CatalogSource("EV", b["ra_deg"], -b["dec_deg"] + 1.0)], columns={
        "RUNID": np.array([r.meta["run_id"]]), "EVENTID": np.array([r.meta["event_id"]])})
    with pytest.raises(PositionMismatchError, match="EV"):
        associate(r, far)
    near = Catalog([CatalogSource("EV", b["ra_deg"], b["dec_deg"])], columns={
        "RUNID": np.array([r.meta["run_id"]]), "EVENTID": np.array([r.meta["event_id"]])})
    assert [h["name"] for h in associate(r, near)] == ["EV"]


def test_energies_not_computed_are_nan(synthetic_result, tmp_path):
    from skyreader import SkyScanResult

    r = synthetic_result
    assert not np.any(r.energy_in)  # the scan computes no energies
    s = SkyScanResult.read_npz(write_npz(r, tmp_path / "e.npz"))
    for ns in (8, 64, 512):
        a = s.get_results_per_nside(ns)
        assert np.all(np.isnan(a["E_in"])) and np.all(np.isnan(a["E_tot"]))
    text = write_json(r, tmp_path / "e.json").read_text()
    assert NAN_SENTINEL in text and "NaN" not in text.replace(NAN_SENTINEL, "")
    assert np.all(np.isnan(SkyScanResult.read_json(tmp_path / "e.json").get_results_per_nside(8)["E_tot"]))
    back = read_json(tmp_path / "e.json")
    assert np.all(np.isnan(back.energy_in))
    # measured energies are kept
    import copy

    r2 = copy.copy(r)
    r2.energy_in = np.arange(1.0, len(r.nside) + 1.0)
    r2.energy_tot = 2 * r2.energy_in
    back2 = read_npz(write_npz(r2, tmp_path / "e2.npz"))
    order = np.lexsort((r2.pixel, r2.nside))
    order_b = np.lexsort((back2.pixel, back2.nside))
    np.testing.assert_array_equal(back2.energy_tot[order_b], r2.energy_tot[order])


def test_cli_refuses_an_old_layout_file_without_a_convention_flag(shared_dir, capsys):
    from icecore.cli import main

    npz = shared_dir / FIXTURE
    assert main(["scan", "contours", str(npz)]) == 2
    err = capsys.readouterr().err
    assert "--legacy-dec" in err and err.count("\n") == 1
    assert main(["scan", "contours", str(npz), "--standard-dec", "--json"]) == 0


def test_truncated_npz_is_a_data_format_error_naming_the_file(tmp_path, shared_dir):
    from icecore.errors import DataFormatError
    from icecore.scan.skyreader import read_npz

    bad = tmp_path / "truncated.npz"
    bad.write_bytes((shared_dir / FIXTURE).read_bytes()[:300])
    with pytest.raises(DataFormatError, match="truncated.npz"):
        read_npz(bad, dec_convention="standard")
