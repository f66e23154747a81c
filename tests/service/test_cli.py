"""``icecore serve`` (tested through icecore.service.cli: the lead adds it to the icecore CLI list)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import icecore
from icecore.service import cli


def _parse(argv):
    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers(dest="command"))
    return p.parse_args(argv)


def test_arguments_to_config(tmp_path):
    args = _parse(["serve", "--data-dir", str(tmp_path), "--token", "a-long-token", "--kafka",
                   "bootstrap.servers=h:9092", "--catalogue", "4fgl=x.fit", "--ps-data", "ps", "--trials", "3",
                   "--database", "postgresql://u:p@h/d", "--amqp", "amqp://g:g@h/%2F", "--no-plots"])
    cfg = cli.config_from_args(args)
    assert cfg.data_dir == tmp_path.resolve() and cfg.tokens == ("a-long-token",)
    assert cfg.kafka == {"bootstrap.servers": "h:9092"} and cfg.catalogues == {"4fgl": Path("x.fit")}
    assert cfg.ps_data == Path("ps") and cfg.n_trials == 3 and not cfg.scan_plots
    assert cfg.database_url == "postgresql://u:p@h/d" and cfg.amqp_url.startswith("amqp://")
    lvk = cli.config_from_args(_parse(["serve", "--lvk-events", "e.csv", "--lvk-background", "ic86", "--lvk-topic",
                                       "x.igwn.gwalert", "--lvk-trials", "300"]))
    assert lvk.lvk_events == Path("e.csv") and lvk.lvk_background == Path("ic86") and lvk.lvk_trials == 300
    assert lvk.lvk_topics == ("x.igwn.gwalert",) and lvk.lvk_nside == 128
    default = cli.config_from_args(_parse(["serve", "--data-dir", str(tmp_path)]))
    assert default.database_url == f"sqlite:///{tmp_path.resolve() / 'service.sqlite'}"
    with pytest.raises(ValueError, match="--kafka"):
        cli.config_from_args(_parse(["serve", "--kafka", "nonsense"]))


def test_icecore_serve_runs_on_a_fresh_data_dir(tmp_path, synthetic_event):
    httpx = pytest.importorskip("httpx")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(Path(icecore.__file__).resolve().parents[1]) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "icecore.service.cli", "serve", "--data-dir", str(tmp_path / "d"),
                             "--port", str(port), "--token", "cli-token-123456", "--no-plots", "--threads", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        while True:
            try:
                h = httpx.get(base + "/api/health", timeout=10).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() - t0 < 60
                time.sleep(0.2)
        assert h["status"] == "ok" and h["database_dialect"] == "sqlite"
        assert "icecore realtime" in httpx.get(base + "/", timeout=30).text
        r = httpx.post(base + "/api/scans", json={"event": synthetic_event, "settings": {"nsides": [8, 16],
                       "extensions": [12.0]}}, headers={"Authorization": "Bearer cli-token-123456"}, timeout=30)
        sid = r.json()["id"]
        while httpx.get(f"{base}/api/scans/{sid}", timeout=30).json()["status"] not in ("done", "failed"):
            assert time.monotonic() - t0 < 90
            time.sleep(0.1)
        assert httpx.get(f"{base}/api/scans/{sid}/result", timeout=30).json()["summary"]["best_fit"]["nside"] == 16
        assert (tmp_path / "d" / "service.sqlite").is_file()
    finally:
        proc.terminate()
        proc.wait(20)
        proc.stdout.close()
        proc.stderr.close()
