"""Long jobs show progress: a bar on a terminal, log lines (fraction, rate, ETA) in a batch log, nothing with -q."""

from __future__ import annotations

import logging

import pytest

from icecore import _progress
from icecore._progress import LogProgress, progress_bar
from icecore.cli import main


@pytest.fixture(autouse=True)
def _reset():
    yield
    _progress.configure(enabled=None, log_every_s=30.0)


def test_log_lines_have_fraction_rate_and_eta(caplog):
    caplog.set_level(logging.INFO, logger="icecore.progress")
    with LogProgress(total=200, desc="trials", unit="trial", every_s=0.0) as bar:
        for _ in range(4):
            bar.update(50)
    lines = [r.getMessage() for r in caplog.records if r.name == "icecore.progress"]
    assert lines[0].startswith("trials: 50/200 (25.0 %)") and "trial/s" in lines[0] and "ETA" in lines[0]
    assert lines[-1].endswith("(done)") and "200/200 (100.0 %)" in lines[-1]


def test_unknown_total_reports_count_and_rate(caplog):
    caplog.set_level(logging.INFO, logger="icecore.progress")
    for _ in LogProgress(iter(range(3)), desc="scan nside 8", unit="px", every_s=0.0):
        pass
    assert "scan nside 8: 3 px" in caplog.records[-1].getMessage()


def test_not_a_tty_means_log_lines_and_quiet_means_nothing(monkeypatch):
    monkeypatch.setattr(_progress, "_isatty", lambda: False)
    assert isinstance(progress_bar(range(3), total=3), LogProgress)
    monkeypatch.setattr(_progress, "_isatty", lambda: True)
    assert not isinstance(progress_bar(range(3), total=3), LogProgress)
    _progress.configure(enabled=False)
    bar = progress_bar(range(3), total=3)
    assert not isinstance(bar, LogProgress) and bar.disable
    monkeypatch.setattr(_progress, "_isatty", lambda: False)
    assert progress_bar(range(3), total=3).disable  # -q also silences the log lines


def test_cli_job_in_a_batch_log_reports_progress(caplog, capsys, monkeypatch):
    monkeypatch.setattr(_progress, "_isatty", lambda: False)
    caplog.set_level(logging.INFO, logger="icecore.progress")
    real = _progress.configure
    monkeypatch.setattr(_progress, "configure", lambda **kw: real(**{**kw, "log_every_s": 0.0}))
    assert main(["scan", "coverage", "--synthetic", "--n", "4", "--nsides", "8,64", "--extensions", "12",
                 "--threads", "1", "--json"]) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "icecore.progress"]
    assert any(ln.startswith("coverage: ") and "/4 (" in ln and "ETA" in ln for ln in lines), lines
    caplog.clear()
    assert main(["-q", "scan", "coverage", "--synthetic", "--n", "2", "--nsides", "8,64", "--extensions", "12",
                 "--threads", "1", "--json"]) == 0
    assert not [r for r in caplog.records if r.name == "icecore.progress"]
