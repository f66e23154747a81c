"""The alert pipeline: notices -> stored alert -> plan -> products; idempotency, revisions, retraction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers.service_wait import settle

GOLD_BRONZE = "gcn-schema/main/gcn/notices/icecube/single_neutrino_alerts.gold_bronze_track_alerts.example.json"
ALL_NOTICES = (
    GOLD_BRONZE,
    "gcn-schema/main/gcn/notices/icecube/lvk_nu_track_search.example.json",
    "gcn-schema/v1.0.0/gcn/notices/icecube/GoldAndBronze.update.example.json",
    "voevent/amon_icecube_gold_190730_rev1.xml",
    "voevent/amon_icecube_cascade_200701b_rev0.xml",
    "classic_text/DERIVED_hermes_docstring_ICECUBE_ASTROTRACK_GOLD_138283_14780365.txt",
)


@pytest.fixture(scope="session")
def ps_data(tmp_path_factory):
    """Toy public data (one IC86_I season, MJD 55694-56059) in the release layout."""
    from icecore.ps import simulate_public_data

    return simulate_public_data(tmp_path_factory.mktemp("ps"), seasons=("IC86_I",), n_events=20000, seed=1)


def notice(gcn_dir: Path, **changes) -> bytes:
    d = json.loads((gcn_dir / GOLD_BRONZE).read_bytes())
    d.update(changes)
    return json.dumps(d).encode()


@pytest.fixture
def catalogues(catalogues_dir):
    return {"4FGL-DR4": catalogues_dir / "fermi" / "gll_psc_v35_4FGL-DR4.fit",
            "ICECAT-1": catalogues_dir / "icecat" / "IceCube_Gold_Bronze_Tracks_2011-2023.csv",
            "1LHAASO": catalogues_dir / "tev" / "1LHAASO_catalogue.csv",
            "HESS": catalogues_dir / "tev" / "hess_source.csv"}


_settle = settle


def test_fixture_notices_through_the_plan(db_url, make_service, client_for, gcn_dir, catalogues, ps_data, auth):
    svc = make_service(database=db_url, catalogues=catalogues, ps_data=ps_data, ps_trials=50)
    c = client_for(svc)
    for name in ALL_NOTICES:
        r = c.post("/api/alerts", content=(gcn_dir / name).read_bytes(), headers=auth)
        assert r.status_code == 201, (name, r.text)
    assert c.post("/api/alerts", content=b'{"truncated": ', headers=auth).status_code == 422
    assert len(svc.orchestrator.store.dead_letters()) == 1
    _settle(svc)
    alerts = c.get("/api/alerts").json()
    keys = {a["event_key"] for a in alerts}
    assert "bronze_137840_57034692" in keys and any(k.startswith("lvk_") for k in keys)
    assert all(a["status"] == "done" for a in alerts), alerts

    a = c.get("/api/alerts/bronze_137840_57034692").json()
    # the v1.0.0 "update" has no record number: the store keeps it beside revision 0 (an alternate), no new plan
    assert [r["revision"] for r in a["revisions"]] == [0]
    steps = {s["step"]: s["status"] for s in a["plan"]}
    assert steps == {"significance": "done", "association": "done", "ps_followup": "done"}
    sig = a["products"]["significance"]["summary"]
    assert sig["significance"]["sigma_post"] == pytest.approx(a["record"]["significance"]["sigma_post"])
    assoc = a["products"]["association"]["summary"]
    cats = {t["catalogue"]: t for t in assoc["catalogues"]}
    assert set(cats) == set(catalogues)
    for t in cats.values():  # a circle of 0.5 deg: inside means closer than 0.5 deg
        assert 0.0 <= t["chance_probability"] <= 1.0 and t["region"]["type"] == "circle"
        assert all(s["inside"] == (s["separation_deg"] <= 0.5) for s in t["sources"])
    assert cats["4FGL-DR4"]["n_sources"] == 7195
    meta = a["products"]["association"]["metadata"]
    assert {r["name"] for r in meta["data_releases"]} >= {"Fermi-LAT 4FGL-DR4", "IceCube ICECAT-1"}
    assert all(len(r["sha256"]) == 64 for r in meta["data_releases"])
    ps = a["products"]["ps_followup"]["summary"]
    assert [w["window_s"] for w in ps["windows"]] == [[-500.0, 500.0], [-86400.0, 86400.0]]
    assert all(w["status"] == "no_coverage" for w in ps["windows"])  # 2023 alert, toy data of 2011-12
    lvk = next(x for x in alerts if x["event_key"].startswith("lvk_"))
    plan = {s["step"]: s["status"] for s in c.get(f"/api/alerts/{lvk['event_key']}").json()["plan"]}
    assert plan == {"significance": "done"}  # the LVK follow-up runs for the GW alert itself (test_lvk.py)
    # products on disk: the documented layout with a metadata record each
    for p in svc.products.list_products():
        d = svc.products.directory(p)
        assert (d / "metadata.json").is_file() and (d / "summary.json").is_file()
        assert d.relative_to(svc.config.products_dir).parts[0] == p["kind"]
    m = c.get("/api/metrics").json()
    assert m["alerts"]["alert_to_products_p99_s"] is not None


def test_idempotent_revisions_and_retraction(make_service, client_for, gcn_dir, catalogues, auth):
    svc = make_service(catalogues=catalogues)
    c = client_for(svc)
    key = "bronze_137840_57034692"
    first = notice(gcn_dir)
    assert c.post("/api/alerts", content=first, headers=auth).json()["created"] is True
    assert c.post("/api/alerts", content=first, headers=auth).json()["created"] is False  # same alert twice
    _settle(svc)
    a0 = c.get(f"/api/alerts/{key}").json()
    n_products = len(svc.products.list_products())
    assert n_products == 2  # significance + association
    # a revision with the same position and FAR reuses both products
    c.post("/api/alerts", content=notice(gcn_dir, record_number=2, alert_type="update"), headers=auth)
    _settle(svc)
    a1 = c.get(f"/api/alerts/{key}").json()
    assert a1["revision"] == 1
    assert a1["products"]["association"]["id"] == a0["products"]["association"]["id"]
    assert len(svc.products.list_products()) == n_products
    # a revision that moves the alert re-runs the association (version 2), not the significance
    c.post("/api/alerts", content=notice(gcn_dir, record_number=3, alert_type="update", ra=346.5), headers=auth)
    _settle(svc)
    a2 = c.get(f"/api/alerts/{key}").json()
    assert a2["products"]["association"]["version"] == 2
    assert a2["products"]["significance"]["id"] == a0["products"]["significance"]["id"]
    # retraction: the alert, its plan and products are marked retracted
    c.post("/api/alerts", content=notice(gcn_dir, record_number=4, alert_type="retraction"), headers=auth)
    _settle(svc)
    ar = c.get(f"/api/alerts/{key}").json()
    assert ar["retracted"] is True and ar["status"] == "retracted"
    assert all(r["retracted"] for r in ar["revisions"])
    prods = svc.products.list_products(subject=key)
    assert prods and all(p["retracted"] and p["metadata"]["retracted"] for p in prods)
    meta = json.loads((svc.products.directory(prods[0]) / "metadata.json").read_text())
    assert meta["retracted"] is True
    assert c.post(f"/api/alerts/{key}/rerun", headers=auth).status_code == 422


def test_ps_followup_inside_the_data(make_service, gcn_dir, ps_data):
    svc = make_service(start=False, ps_data=ps_data, ps_trials=50)
    svc.orchestrator.ingest(notice(gcn_dir, trigger_time="2012-01-01T07:12:00.00Z"))
    assert svc.orchestrator.run_pending() == 2
    a = svc.orchestrator.alert("bronze_137840_57034692")
    summ = a["products"]["ps_followup"]["summary"]
    assert "FlareSearch" in summ["method"]
    ws = summ["windows"]
    assert [w["status"] for w in ws] == ["ok", "ok"]
    short, long_ = ws
    assert short["livetime_s"] == pytest.approx(1000.0, rel=1e-6) and long_["livetime_s"] > 1e5
    assert long_["n_events"] > 0 and 0.0 <= long_["p_value"] <= 1.0 and long_["n_trials"] == 50
    assert long_["n_expected_background"] == pytest.approx(20000 / ps_data_livetime(ps_data) * long_["livetime_s"],
                                                           rel=0.05)
    assert long_["seasons"] == ["IC86_I"] and long_["ts"] >= 0.0
    meta = a["products"]["ps_followup"]["metadata"]
    assert meta["data_releases"][0]["seasons"] == ["IC86_I"]
    # the numbers are icecore.ps's: FlareSearch with the window fixed, trials through BackgroundTS
    from icecore.ps import FlareSearch, load_public_data

    data = load_public_data(ps_data)
    fs = FlareSearch(data, a["ra_deg"], a["dec_deg"])
    t0 = a["record"]["mjd"]
    r = fs.fit_window(t0 - 1.0, t0 + 1.0)
    assert long_["ts"] == pytest.approx(r.ts, rel=1e-9, abs=1e-12) and long_["ns"] == pytest.approx(r.ns, abs=1e-9)
    bg = fs.background(50, kind="box", seed=summ["seed"] + 1000, window=(t0 - 1.0, t0 + 1.0))
    assert long_["p_value"] == pytest.approx(bg.pvalue_detail(r.ts).value)
    # deterministic: the same inputs, the same numbers (seed from the input hash)
    from icecore.service.followup import ps_followup

    again = ps_followup(data, a["ra_deg"], a["dec_deg"], t0, error90_deg=a["error90_deg"],
                        windows_s=svc.config.windows_s, n_trials=50, seed=summ["seed"])
    assert again["windows"][1]["ts"] == long_["ts"] and again["windows"][1]["p_value"] == long_["p_value"]


def ps_data_livetime(path):
    from icecore.ps import load_public_data

    data = load_public_data(path)
    return len(data.seasons[0]) and data.seasons[0].livetime_s


def test_scan_submitted_for_an_alert(make_service, client_for, gcn_dir, synthetic_event, quick, auth):
    svc = make_service()
    c = client_for(svc)
    c.post("/api/alerts", content=notice(gcn_dir), headers=auth)
    key = "bronze_137840_57034692"
    assert c.post("/api/alerts/nope/event", json={"event": synthetic_event, "settings": quick},
                  headers=auth).status_code == 404
    r = c.post(f"/api/alerts/{key}/event", json={"event": synthetic_event, "settings": quick}, headers=auth)
    assert r.status_code == 201
    sid = r.json()["id"]
    _settle(svc)
    a = c.get(f"/api/alerts/{key}").json()
    plan = {s["step"]: s for s in a["plan"]}
    assert plan["scan"]["status"] == "done" and plan["scan"]["scan_id"] == sid
    assert a["products"]["scan"]["subject"] == sid and a["status"] == "done"
    assert a["scans"] == [{"id": sid, "status": "done"}]


def test_association_uses_the_scan_contour_once_the_scan_is_done(make_service, gcn_dir, catalogues,
                                                                  synthetic_event, quick):
    """A finished scan of the alert's event re-runs the association on the scan's 90 % contour (a new version)."""
    from icecore.scan.skyreader import read_npz
    from icecore.service.catalogues import read_sources

    fermi = read_sources(catalogues["4FGL-DR4"], "4FGL-DR4")
    i = int(np.argmin(np.abs(fermi.dec_deg - 20.0)))  # a 4FGL source far from the notice's position
    ev = synthetic_event
    ev["synthetic_event"].update(ra_deg=float(fermi.ra_deg[i]) + 0.3, dec_deg=float(fermi.dec_deg[i]))
    svc = make_service(start=False, catalogues={"4FGL-DR4": catalogues["4FGL-DR4"]})
    o = svc.orchestrator
    key = o.ingest(notice(gcn_dir))["event_key"]
    o.run_pending()
    first = o.alert(key)["products"]["association"]
    assert first["summary"]["region_from"] == "notice" and first["version"] == 1
    sid = o.submit_event(key, ev, quick)
    svc.start(orchestrator=False, listener=False)
    assert svc.scans.wait(sid, 60)["status"] == "done"
    o.run_pending()  # syncs the scan step: association pending again
    o.run_pending()
    a = o.alert(key)
    assert a["status"] == "done"
    assoc = a["products"]["association"]
    assert assoc["version"] == 2 and assoc["summary"]["region_from"] == "scan_contour"
    assert assoc["metadata"]["inputs"]["scan_product"]["id"] == a["products"]["scan"]["id"]
    table = assoc["summary"]["catalogues"][0]
    assert table["region"]["type"] == "scan_contour"
    p = svc.products.get(a["products"]["scan"]["id"])
    result = read_npz(svc.products.file(p, next(f["name"] for f in p["metadata"]["files"]
                                                 if f["name"].endswith(".npz"))))
    assert table["region"]["area_deg2"] == pytest.approx(result.areas_deg2("wilks")["90"])
    names = {s["name"]: s for s in table["sources"]}
    src = names[str(fermi.name[i])]
    assert src["inside"] is True and src["inside_notice_region"] is False  # in the contour, not the notice circle
    inside = result.contains([s["ra_deg"] for s in table["sources"]], [s["dec_deg"] for s in table["sources"]])
    assert [s["inside"] for s in table["sources"]] == list(inside)
    assert table["n_inside"] == int(np.count_nonzero(result.contains(fermi.ra_deg, fermi.dec_deg)))


def test_association_rectangle_and_chance_probability(catalogues):
    import numpy as np

    from icecore.service.catalogues import SourceList, associate_region, read_sources

    fgl = read_sources(catalogues["4FGL-DR4"], "4FGL")
    txs = associate_region(fgl, 77.43, 5.72, error90_deg=1.0)  # IceCube-170922A near TXS 0506+056
    names = [s["name"] for s in txs["sources"] if s["inside"]]
    assert "4FGL J0509.4+0542" in names
    assert txs["release"]["name"] == "Fermi-LAT 4FGL-DR4" and txs["release"]["doi"]
    # a uniform toy catalogue: the chance probability is 1 - exp(-density x area)
    rng = np.random.default_rng(1)
    n = 20000
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    toy = SourceList("toy", np.array([f"s{i}" for i in range(n)], dtype=object), ra, dec, {"name": "toy"})
    rect = {"ra_minus": 1.5, "ra_plus": 1.4, "dec_minus": 1.2, "dec_plus": 1.3}
    t = associate_region(toy, 100.0, 20.0, error90_deg=None, rect=rect)
    assert t["region"]["type"] == "rectangle"
    assert t["density_per_deg2"] == pytest.approx(n / 41252.96, rel=0.05)
    assert t["chance_probability"] == pytest.approx(1 - np.exp(-t["density_per_deg2"] * t["region"]["area_deg2"]))
    for s in t["sources"]:
        dra = (s["ra_deg"] - 100.0 + 180) % 360 - 180
        assert s["inside"] == (-1.5 <= dra <= 1.4 and 18.8 <= s["dec_deg"] <= 21.3)
    assert t["n_inside"] == pytest.approx(t["expected_in_region"], abs=4 * np.sqrt(t["expected_in_region"]) + 1)
