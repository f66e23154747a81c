"""FITS products other tools read without help: ligo.skymap and healpy open them directly."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from icecore.scan.products import (
    probability_map,
    write_fits,
    write_multiorder_fits,
    write_probability_fits,
)

skymap_io = pytest.importorskip("ligo.skymap.io")


def test_header_has_standard_time_best_fit_and_areas(synthetic_result, tmp_path):
    p = write_fits(synthetic_result, tmp_path / "scan.fits")
    hdr = fits.getheader(p, 1)
    mjd = synthetic_result.meta["mjd"]
    assert hdr["MJD-OBS"] == pytest.approx(mjd)
    assert Time(hdr["DATE-OBS"], scale="utc").mjd == pytest.approx(mjd, abs=1e-8)
    best = synthetic_result.best_fit
    assert hdr["RA"] == pytest.approx(best["ra_deg"], abs=1e-5) and hdr["DEC"] == pytest.approx(best["dec_deg"], abs=1e-5)
    assert hdr["CONV1"] == "wilks" and hdr["CONV2"] == "icecube-calibrated"
    cal = synthetic_result.contours("icecube-calibrated").areas_deg2
    assert hdr["AR90_2"] == pytest.approx(cal["90"], rel=1e-5) and hdr["AR50_2"] == pytest.approx(cal["50"], rel=1e-5)
    assert hdr["RUNID"] == synthetic_result.meta["run_id"] and "deg2" in hdr.comments["AR90_2"]


def test_probability_map_reads_back_with_ligo_skymap(synthetic_result, tmp_path):
    from ligo.skymap.postprocess import find_greedy_credible_levels

    p = write_probability_fits(synthetic_result, tmp_path / "prob.fits")
    prob, meta = skymap_io.read_sky_map(str(p), nest=True)
    assert prob.sum() == pytest.approx(1.0) and np.all(prob >= 0)
    np.testing.assert_allclose(prob, probability_map(synthetic_result))
    assert meta["gps_time"] == pytest.approx(Time(synthetic_result.meta["mjd"], format="mjd").gps, abs=1e-3)
    nside = hp.npix2nside(prob.size)
    area90 = np.count_nonzero(find_greedy_credible_levels(prob) <= 0.9) * hp.nside2pixarea(nside, degrees=True)
    cal90 = synthetic_result.contours("icecube-calibrated").areas_deg2["90"]
    assert area90 == pytest.approx(cal90, rel=0.1)  # the 90 % credible region is the calibrated 90 % contour


def test_multiorder_map_reads_back_and_matches_the_flat_map(synthetic_result, tmp_path):
    from ligo.skymap import moc

    p = write_multiorder_fits(synthetic_result, tmp_path / "multiorder.fits")
    hdr = fits.getheader(p, 1)
    assert hdr["ORDERING"] == "NUNIQ" and hdr["MJD-OBS"] == pytest.approx(synthetic_result.meta["mjd"])
    t = skymap_io.read_sky_map(str(p), moc=True)
    assert set(t.colnames) >= {"UNIQ", "PROBDENSITY"}
    assert np.sum(t["PROBDENSITY"] * moc.uniq2pixarea(t["UNIQ"])) == pytest.approx(1.0)
    flat = probability_map(synthetic_result)
    assert len(t) < flat.size / 10  # merged where the scan was coarse
    nside = hp.npix2nside(flat.size)
    back = moc.rasterize(t, order=int(np.log2(nside)))
    np.testing.assert_allclose(np.asarray(back["PROBDENSITY"]) * hp.nside2pixarea(nside), flat, atol=1e-15)


def test_write_products_lists_every_fits(synthetic_result, tmp_path, monkeypatch):
    from icecore.scan import products

    calls = []
    real = products.probability_map
    monkeypatch.setattr(products, "probability_map", lambda *a, **k: calls.append(1) or real(*a, **k))
    s = products.write_products(synthetic_result, tmp_path / "o", plots=False)
    assert len(calls) == 1  # one probability map for the flat and the multi-order file
    names = [f.rsplit("/", 1)[-1] for f in s["files"]]
    for suffix in (".fits", ".prob.fits", ".multiorder.fits"):
        assert any(n.endswith(suffix) for n in names), suffix
    # the same files as written one by one (each computing its own map)
    flat = next(f for f in s["files"] if f.endswith(".prob.fits"))
    mo = next(f for f in s["files"] if f.endswith(".multiorder.fits"))
    np.testing.assert_array_equal(fits.getdata(flat, 1)["PROB"].ravel(),
                                  fits.getdata(write_probability_fits(synthetic_result, tmp_path / "p.fits"), 1)["PROB"]
                                  .ravel())
    alone = fits.getdata(write_multiorder_fits(synthetic_result, tmp_path / "m.fits"), 1)
    got = fits.getdata(mo, 1)
    np.testing.assert_array_equal(got["UNIQ"], alone["UNIQ"])
    np.testing.assert_array_equal(got["PROBDENSITY"], alone["PROBDENSITY"])
    with pytest.raises(ValueError, match="'prob'"):
        write_probability_fits(synthetic_result, tmp_path / "bad.fits", prob=np.ones(12))
