"""The scan's polishing pass: pixels stuck in a worse vertex minimum are re-fitted from a neighbour."""

from __future__ import annotations

import numpy as np
import pytest

from icecore import _core
from icecore.errors import InputError
from icecore.scan import ScanSettings
from icecore.scan.calibration import closest_approach

NSIDE = 4
GOOD_VERTEX = np.array([100.0, 50.0, -20.0, 10.0])


def _unit(zen, azi):
    return np.stack([np.sin(zen) * np.cos(azi), np.sin(zen) * np.sin(azi), np.cos(zen)], axis=-1)


class TrapFitter:
    """-lnL = 50 (1 - cos psi) around a fixed direction, a smooth surface; the fit of pixel
    ``trap`` from the initial seed (0, 0, 0, 0) ends in a local minimum 30 higher, from any
    other seed in the true one (every good fit returns GOOD_VERTEX)."""

    def __init__(self, trap: int) -> None:
        self.trap = trap
        self.u = _unit(1.0, 2.0)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        f = 50.0 * (1.0 - _unit(batch["zenith"], batch["azimuth"]) @ self.u)
        vertex = np.tile(GOOD_VERTEX, (len(batch), 1))
        trapped = (batch["pixel"] == self.trap) & np.all(batch["seeds"] == 0.0, axis=1)
        f = np.where(trapped, f + 30.0, f)
        vertex[trapped] = 0.0
        return {"neg_llh": f, "vertex": vertex, "n_eval": np.full(len(batch), 10, np.int32),
                "status": np.zeros(len(batch), np.int32)}


def _run(polish_threshold: float, trap: int, window: float = 100.0):
    d = _core.scan.ScanDriver([NSIDE], [], np.eye(3), np.zeros(4), polish_threshold=polish_threshold,
                              max_polish_rounds=3, polish_window=window)
    fit = TrapFitter(trap)
    batches = []
    while True:
        b = d.next_batch()
        if len(b) == 0:
            break
        batches.append((d.pending_is_polish, b))
        r = fit(b)
        d.submit(r["neg_llh"], r["vertex"], r["n_eval"], r["status"])
    return d, batches


def _trap_pixel() -> int:
    """A pixel a few pixels away from the minimum (on the slope, not at the edge of anything)."""
    import healpy as hp

    ipix = hp.vec2pix(NSIDE, *_unit(1.0, 2.0), nest=True)
    return int(hp.get_all_neighbours(NSIDE, ipix, nest=True)[0])


def test_polishing_recovers_the_neighbours_minimum():
    trap = _trap_pixel()
    off, _ = _run(0.0, trap)
    on, batches = _run(1.0, trap, window=10.0)
    rec_off, rec_on = off.records(), on.records()
    assert len(rec_on) == len(rec_off) == 12 * NSIDE**2  # polishing re-fits, it adds no pixel
    k = int(np.flatnonzero(rec_on["pixel"] == trap)[0])
    true = 50.0 * (1.0 - _unit(rec_on["zenith"][k], rec_on["azimuth"][k]) @ _unit(1.0, 2.0))
    assert rec_off["neg_llh"][k] == pytest.approx(true + 30.0)  # without polishing: the trap stays
    assert rec_on["neg_llh"][k] == pytest.approx(true)  # with it: the neighbour's minimum
    np.testing.assert_array_equal(rec_on["vertex"][k], GOOD_VERTEX)
    assert rec_on["n_eval"][k] == 20  # the first fit's evaluations and the re-fit's add up
    # only the trapped pixel improved; every other value is unchanged
    assert on.polish_improved == [1] and on.polish_fits == [1]
    others = rec_on["pixel"] != trap
    np.testing.assert_array_equal(rec_on["neg_llh"][others], rec_off["neg_llh"][others])
    assert off.polish_fits == [0] and on.polish_fits[0] >= 1 and on.rounds == [1]
    assert on.polish_evaluations == [10 * on.polish_fits[0]]
    # the re-fit's seed: the lowest neighbour's vertex moved along its track to the closest
    # approach to the detector centre (the same rule as the calibration's)
    polish = [b for is_polish, b in batches if is_polish]
    assert polish and not batches[0][0]
    task = polish[0][polish[0]["pixel"] == trap][0]
    pos = _unit(rec_on["zenith"], rec_on["azimuth"])
    nb = [q for q in range(len(rec_on)) if q != k and np.arccos(np.clip(pos[q] @ pos[k], -1, 1))
          < 1.5 * np.sqrt(4 * np.pi / (12 * NSIDE**2))]
    q = min(nb, key=lambda j: rec_off["neg_llh"][j])
    point, t = closest_approach(GOOD_VERTEX, np.degrees(rec_on["zenith"][q]), np.degrees(rec_on["azimuth"][q]))
    np.testing.assert_allclose(task["seeds"], [*point, t], rtol=1e-12, atol=1e-9)
    assert abs(float(np.linalg.norm(task["seeds"][:3]) - np.linalg.norm(point))) < 1e-9


def test_a_smooth_surface_is_not_polished():
    """No trap: near the minimum (convex) nothing sticks out, so nothing is re-fitted."""
    near, _ = _run(1.0, trap=-1, window=10.0)
    assert near.polish_fits == [0] and near.polish_rounds == [0]
    # the whole sky (window 100): where 50 (1 - cos psi) is concave or flat across (psi >~ 50 deg)
    # pixels lie above the line through their neighbours and are tried once, in vain
    wide, batches = _run(1.0, trap=-1, window=100.0)
    rec = wide.records()
    value = dict(zip(rec["pixel"].tolist(), rec["neg_llh"].tolist()))
    tried = [p for is_polish, b in batches if is_polish for p in b["pixel"].tolist()]
    assert wide.polish_improved == [0] and wide.polish_rounds == [1]  # nothing improved: one round
    assert len(tried) == len(set(tried)) == wide.polish_fits[0] > 0
    assert min(value[p] for p in tried) > 15.0  # psi > 45 deg


def test_polish_settings_are_checked():
    with pytest.raises(InputError, match="polish_threshold"):
        ScanSettings(polish_threshold=0.0)
    with pytest.raises(InputError, match="polish_window"):
        ScanSettings(polish_window=-1.0)
    with pytest.raises(InputError, match="polish"):
        ScanSettings(polish="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_polish_rounds"):
        _core.scan.ScanDriver([4], [], np.eye(3), np.zeros(4), polish_threshold=1.0, max_polish_rounds=0)
