"""What the scan loop needs: :class:`ScanProblem` (fitter, JSON spec, time, rotation, seed, metadata).

A leaf module: every kind of event (:mod:`.synthetic`, :mod:`.likelihood_bridge`, a bare
``DirectionFitter`` in :mod:`.adapt`) builds a complete :class:`ScanProblem` with
:func:`equatorial_rotation`; :mod:`.adapt` chooses which one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from .._validation import as_array
from ..coords import equatorial_to_icecube_matrix
from ..errors import InputError

__all__ = ["ScanProblem", "equatorial_rotation", "vertex_seed"]


@dataclass
class ScanProblem:
    """Everything the scan loop needs, independent of where the fits run.

    Attributes
    ----------
    fitter : icecore._core.scan.DirectionFitter
        Fits the vertex for fixed directions (radians, IceCube local).
    spec : dict or None
        JSON-serialisable recipe that :func:`icecore.scan.adapt.fitter_from_spec` turns into an
        equal fitter on a remote worker (None: in-process only).
    mjd : float
        Event time (MJD, UTC).
    rotation : (3, 3) ndarray
        ``v_local = rotation @ v_equatorial`` at ``mjd`` (:func:`equatorial_rotation`).
    initial_seed : (4,) ndarray
        Vertex seed (x, y, z m; t ns) of the first level.
    meta : dict
        run_id, event_id, event_type, is_real_event (for the skyreader format).
    """

    fitter: _core.scan.DirectionFitter
    spec: dict[str, Any] | None
    mjd: float
    rotation: np.ndarray
    initial_seed: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def equatorial_rotation(mjd: float) -> np.ndarray:
    """(3, 3) C-contiguous matrix with ``v_local = R @ v_equatorial`` at ``mjd`` (MJD, UTC)."""
    return np.ascontiguousarray(equatorial_to_icecube_matrix(mjd), dtype=float)


def vertex_seed(initial_seed: Any, default: Any) -> np.ndarray:
    """The (4,) vertex seed (x, y, z m; t ns): ``initial_seed`` checked, or ``default`` if None."""
    if initial_seed is None:
        return np.asarray(default, dtype=float)
    seed = as_array(initial_seed, "initial_seed", ndim=1)
    if seed.size != 4:
        raise InputError("argument 'initial_seed': expected (x, y, z, t)", "initial_seed")
    return seed
