"""Scan progress in batch logs: every level reports a total (and so an ETA), ending at 100 %."""

from __future__ import annotations

import logging

from icecore.scan import SyntheticEvent, scan


def test_scan_levels_log_totals_and_finish_at_100_percent(caplog, monkeypatch):
    monkeypatch.setattr("icecore._progress._isatty", lambda: False)
    with caplog.at_level(logging.INFO, logger="icecore.progress"):
        r = scan(SyntheticEvent(ra_deg=77.0, dec_deg=5.0, mjd=60000.0), nsides=(8, 64), extensions=(12.0,),
                 threads=1, progress=None)
    done = [rec.getMessage() for rec in caplog.records if "(done)" in rec.getMessage()]
    assert any("scan nside 8: 768/768 (100.0 %)" in m for m in done)
    n64 = r.info["pixels_per_level"][1]
    assert any(f"scan nside 64: {n64}/{n64} (100.0 %)" in m for m in done)
    assert all("ETA" in m for m in done)
