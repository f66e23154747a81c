import json

import numpy as np

from icecore.cli import main


def test_simulate_clean_orient(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["radio", "simulate", "--out", str(out), "--start", "2024-04-29", "--days", "6",
                 "--arm", "60", "--events-per-hour", "8", "--seed", "3", "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)
    assert len(sim["files"]) == 2 and sim["channels"] == {"A1P0": 60.0, "A1P1": 150.0}
    assert (out / "truth.json").exists()

    noise = tmp_path / "noise"
    assert main(["radio", "clean", str(out), "--out", str(noise), "--threads", "2", "--json"]) == 0
    cleaned = json.loads(capsys.readouterr().out)
    assert len(cleaned) == 2 and all(v["msb_flips_undone"] >= 0 for v in cleaned.values())
    assert sorted(p.name for p in noise.iterdir()) == ["noise_radio_2024-04.npz", "noise_radio_2024-05.npz"]

    plots = tmp_path / "plots"
    assert main(["radio", "orient", str(noise), "--gps", "60", "--json", "--plot", str(plots)]) == 0
    res = json.loads(capsys.readouterr().out)
    for label, truth in (("A1P0", 60.0), ("A1P1", 150.0)):
        y = res["yearly"][label]
        d = (y["arm_deg"] - truth + 90) % 180 - 90
        assert abs(d) < 4 * y["sigma_scaled_deg"] + 1.0
    assert res["antennas"]["1"]["gps_deg"] == 60.0
    assert len(res["plots"]) == 3 and all((plots / p.split("/")[-1]).exists() for p in res["plots"])

    # orient straight from waveform files, readable output, explicit cut
    assert main(["radio", "orient", str(out / "radio_2024-05.npz"), "--cut", "0", "100", "100", "--gps", "1=60"]) == 0
    text = capsys.readouterr().out
    assert "A1P0" in text and "vs GPS 60.00" in text and "cut removed 0 of" in text


def test_errors_are_reported(tmp_path, capsys):
    assert main(["radio", "orient", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "bad.npz").write_bytes(b"junk")
    assert main(["radio", "clean", str(tmp_path / "bad.npz"), "--out", str(tmp_path)]) == 2
    assert "bad.npz" in capsys.readouterr().err
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    assert main(["radio", "orient", str(tmp_path / "x.npz")]) == 2
    assert "format" in capsys.readouterr().err
