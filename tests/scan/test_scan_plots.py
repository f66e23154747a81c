"""Plots one would put in a talk: PNG + PDF, event id and time in the title, contours, truth, signed axes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")


def test_plots_write_png_and_pdf_with_truth(synthetic_result, tmp_path):
    from icecore.scan.plot import plot_mollweide, plot_zoom

    best = synthetic_result.best_fit
    for fn, name in ((plot_mollweide, "sky.png"), (plot_zoom, "zoom.png")):
        png = fn(synthetic_result, tmp_path / name, truth=(best["ra_deg"] + 0.3, best["dec_deg"]))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_zoom_axes_colour_range_and_title(synthetic_result, monkeypatch, tmp_path):
    from icecore.scan import plot

    seen = {}
    real_save = plot._save

    def spy(fig, path):
        seen["fig"] = fig
        return real_save(fig, path)

    monkeypatch.setattr(plot, "_save", spy)
    best = synthetic_result.best_fit
    plot.plot_zoom(synthetic_result, tmp_path / "z.png", truth=(best["ra_deg"] + 0.2, best["dec_deg"]))
    ax = seen["fig"].axes[0]
    lo, hi = ax.get_xlim()
    assert lo > 0 > hi  # east offsets, positive to the left where RA increases
    assert "east offset" in ax.get_xlabel() and "[deg]" in ax.get_xlabel()
    title = ax.get_title()
    m = synthetic_result.meta
    assert f"run {m['run_id']} event {m['event_id']}" in title and "UTC" in title
    mesh = ax.collections[0]
    vmax = mesh.get_clim()[1]
    levels = [synthetic_result.contours(c).convention.levels["90"] for c in ("wilks", "icecube-calibrated")]
    assert vmax == pytest.approx(2 * max(levels))  # contours sit in distinct shades, not one colour
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("wilks 90 %" in t and "deg²" in t for t in labels) and any(t.startswith("truth") for t in labels)


def test_sky_map_of_any_healpix_map(tmp_path):
    from icecore.scan.plot import plot_healpix_map

    ts = np.random.default_rng(1).exponential(1.0, 12 * 16**2)
    png, pdf = plot_healpix_map(ts, tmp_path / "ts.png", hottest=(10.0, 20.0), title="TS", label="TS")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"


def test_ps_scan_plot(tmp_path, capsys):
    from icecore.cli import main

    d = tmp_path / "rel"
    assert main(["ps", "simulate", "--out", str(d), "--seasons", "IC86_I", "--n-events", "2000"]) == 0
    png = tmp_path / "ts.png"
    assert main(["ps", "scan", "--data", str(d), "--nside", "4", "--threads", "1", "--out", str(tmp_path / "s.npz"),
                 "--plot", str(png)]) == 0
    assert png.exists() and png.with_suffix(".pdf").exists()
