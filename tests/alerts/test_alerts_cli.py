"""icecore alerts parse / list."""

from __future__ import annotations

import json

import jsonschema

from icecore.alerts import alert_schema
from icecore.cli import main


def test_parse_readable_and_json(gcn_dir, capsys, tmp_path):
    f = gcn_dir / "voevent/amon_icecube_gold_190730_rev1.xml"
    assert main(["alerts", "parse", str(f), "--n-trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "gold_132910_57145925" in out and "RA 225.7899" in out and "Dec +10.4700" in out
    assert "N = 2" in out
    assert main(["alerts", "parse", str(f), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    rec.pop("file")
    jsonschema.validate(rec, alert_schema())
    assert rec["significance"]["route"] == "far_poisson"


def test_parse_error_exit_code_and_dead_letter(gcn_dir, capsys, tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes((gcn_dir / "voevent/amon_icecube_gold_190730_rev1.xml").read_bytes()[:300])
    good = gcn_dir / "classic_binary/ICECUBE_CASCADE_IC240518A.bin"
    store = tmp_path / "store"
    assert main(["alerts", "parse", str(bad), str(good), "--store", str(store)]) == 2
    out = capsys.readouterr().out
    assert "ERROR" in out and "IceCubeCascade-240518a" in out
    assert len(list((store / "dead_letter").glob("*.raw"))) == 1
    assert main(["alerts", "list", str(store), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["event_name"] for r in rows] == ["IceCubeCascade-240518a"]
    assert main(["alerts", "list", str(store), "--kind", "gold"]) == 0
    assert "no alerts" in capsys.readouterr().out


def test_strict_and_missing_store(gcn_dir, capsys, tmp_path):
    f = gcn_dir / "voevent/EDITED_fastresponse_sample_astrotrack_alert_2021.xml"
    assert main(["alerts", "parse", "--strict", str(f)]) == 2
    assert "inconsistent" in capsys.readouterr().out
    assert main(["alerts", "list", str(tmp_path / "nope")]) == 2


def test_list_never_turns_a_folder_into_a_store(tmp_path, capsys):
    from icecore.cli import main

    folder = tmp_path / "photos"
    folder.mkdir()
    assert main(["alerts", "list", str(folder)]) == 2
    assert "not an alert store" in capsys.readouterr().err
    assert list(folder.iterdir()) == []


def test_listen_without_credentials_names_the_environment_and_the_flag(tmp_path, capsys, monkeypatch):
    from icecore.cli import main

    monkeypatch.delenv("GCN_CLIENT_ID", raising=False)
    monkeypatch.delenv("GCN_CLIENT_SECRET", raising=False)
    assert main(["alerts", "listen", "--store", str(tmp_path / "s"), "--group-id", "g"]) == 2
    err = capsys.readouterr().err
    assert "GCN_CLIENT_ID" in err and "--bootstrap-servers" in err and "client_id" not in err.replace("GCN_CLIENT_ID", "")
