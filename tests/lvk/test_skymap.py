"""Sky maps: flat (RING/NESTED, any nside) and multi-order read into one representation; areas."""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from icecore.errors import DataFormatError
from icecore.lvk.skymap import order_ipix_to_uniq, read_skymap, uniq_to_order_ipix


def _gaussian_map(nside: int, ra: float, dec: float, width_deg: float) -> np.ndarray:
    ipix = np.arange(hp.nside2npix(nside))
    v = np.array(hp.ang2vec(ra, dec, lonlat=True))
    pv = np.array(hp.pix2vec(nside, ipix, nest=True)).T
    psi = np.degrees(np.arccos(np.clip(pv @ v, -1, 1)))
    p = np.exp(-0.5 * (psi / width_deg) ** 2)
    return p / p.sum()


def _write_flat(path, prob, ordering, extra=None):
    cols = [fits.Column(name="PROB", format="D", array=prob)]
    for k, v in (extra or {}).items():
        cols.append(fits.Column(name=k, format="D", array=v))
    h = fits.BinTableHDU.from_columns(cols)
    h.header["ORDERING"] = ordering
    h.header["NSIDE"] = hp.npix2nside(prob.size)
    fits.HDUList([fits.PrimaryHDU(), h]).writeto(path)


def test_uniq_round_trip_all_orders():
    order = np.array([0, 0, 1, 5, 10, 20, 28, 29, 29])
    ipix = np.array([0, 11, 47, 12 * 4**5 - 1, 3, 7, 12 * 4**28 - 1, 0, 12 * 4**29 - 1])
    o, i = uniq_to_order_ipix(order_ipix_to_uniq(order, ipix))
    assert np.array_equal(o, order) and np.array_equal(i, ipix)


def test_ring_and_nested_flat_maps_are_the_same_map(tmp_path):
    p = _gaussian_map(64, 120.0, -30.0, 3.0)
    _write_flat(tmp_path / "n.fits", p, "NESTED")
    _write_flat(tmp_path / "r.fits", hp.reorder(p, n2r=True), "RING")
    a, b = read_skymap(tmp_path / "n.fits"), read_skymap(tmp_path / "r.fits")
    assert np.allclose(a.probdensity, b.probdensity)
    assert a.credible_area_deg2(0.9) == pytest.approx(b.credible_area_deg2(0.9))


def test_multiorder_and_flat_agree_and_rasterise(tmp_path):
    p = _gaussian_map(128, 10.0, 45.0, 2.0)
    flat_path = tmp_path / "f.fits"
    _write_flat(flat_path, p, "NESTED")
    # multi-order: merge groups of 4 where the map is faint (order 6), keep order 7 elsewhere
    parent = p.reshape(-1, 4).sum(axis=1)
    faint = parent < 1e-6
    uniq = np.concatenate([order_ipix_to_uniq(np.full(faint.sum(), 6), np.nonzero(faint)[0]),
                           order_ipix_to_uniq(np.full(4 * (~faint).sum(), 7),
                                              (4 * np.nonzero(~faint)[0][:, None] + np.arange(4)).ravel())])
    dens = np.concatenate([parent[faint] / hp.nside2pixarea(64),
                           p.reshape(-1, 4)[~faint].ravel() / hp.nside2pixarea(128)])
    h = fits.BinTableHDU.from_columns([fits.Column(name="UNIQ", format="K", array=uniq),
                                       fits.Column(name="PROBDENSITY", format="D", array=dens)])
    h.header["ORDERING"] = "NUNIQ"
    fits.HDUList([fits.PrimaryHDU(), h]).writeto(tmp_path / "m.fits")
    f, m = read_skymap(flat_path), read_skymap(tmp_path / "m.fits")
    assert f.credible_area_deg2() == pytest.approx(m.credible_area_deg2(), rel=1e-3)
    for nside in (32, 64):  # exact where the multi-order map is at least as fine
        assert np.allclose(f.rasterize(nside).prob, m.rasterize(nside).prob, rtol=1e-12, atol=1e-15)
    for nside in (128, 256):  # the merged faint pixels (each < 1e-6) are split evenly
        assert np.allclose(f.rasterize(nside).prob, m.rasterize(nside).prob, atol=1e-6)
    assert f.rasterize(32).prob.sum() == pytest.approx(1.0)


def test_not_a_probability_map_is_rejected(tmp_path):
    (tmp_path / "x.fits").write_bytes(b"not fits")
    with pytest.raises(DataFormatError):
        read_skymap(tmp_path / "x.fits")


def _healpy_area90(path) -> float:
    """Independent oracle: healpy reads the flat map, greedy 90 % region by sorting."""
    prob = hp.read_map(path, field=0, nest=True, dtype=np.float64)
    nside = hp.npix2nside(prob.size)
    order = np.argsort(-prob)
    cum = np.cumsum(prob[order])
    return float((cum <= 0.9 * cum[-1]).sum() * hp.nside2pixarea(nside, degrees=True))


@pytest.mark.parametrize("name", ["GW150914_bayestar_gstlal_C01_nside512.fits.gz", "S190425z_bayestar_nside256.fits.gz",
                                  "S190425z_LALInference_nside256.fits.gz"])
def test_real_flat_areas_match_healpy(real, name):
    path = real / "gw" / "flat" / name
    assert read_skymap(path).credible_area_deg2(0.9) == pytest.approx(_healpy_area90(path), rel=0.005)


@pytest.mark.parametrize("name", ["S190814bv_LALInference.v1.multiorder.fits", "S190814bv_bayestar.multiorder.fits",
                                  "G483432_O4_bayestar.multiorder.fits"])
def test_real_multiorder_areas_match_ligo_skymap(real, name):
    pytest.importorskip("ligo.skymap")
    import astropy_healpix as ah
    from ligo.skymap.io import read_sky_map

    path = real / "gw" / "multiorder" / name
    t = read_sky_map(str(path), moc=True)
    lev, _ = ah.uniq_to_level_ipix(t["UNIQ"])
    area = ah.nside_to_pixel_area(ah.level_to_nside(lev)).to_value("sr")
    dens = np.asarray(t["PROBDENSITY"])
    order = np.argsort(-dens)
    cum = np.cumsum((dens * area)[order])
    ref = float(area[order][cum <= 0.9].sum() * (180 / np.pi) ** 2)
    assert read_skymap(path).credible_area_deg2(0.9) == pytest.approx(ref, rel=0.005)


def test_distance_posterior_is_normalised(s190814bv_moc):
    ra, dec = s190814bv_moc.max_direction_deg()
    r = np.linspace(0, 1000, 20001)
    pdf = s190814bv_moc.distance_pdf(ra, dec, r)
    assert np.trapezoid(pdf, r) == pytest.approx(1.0, rel=1e-3)
    assert 150 < r[np.argmax(pdf)] < 350  # S190814bv at ~270 Mpc


def test_kafka_embedded_skymap_area(real):
    from icecore.lvk.alert import read_lvk_alert

    a = read_lvk_alert(real / "gcn" / "lvk_kafka_json" / "igwn_gwalert_preliminary_MS260605l.json")
    m = a.skymap()
    assert m.meta["creator"] == "BAYESTAR"
    assert 1.0 < m.credible_area_deg2(0.9) < 100.0
