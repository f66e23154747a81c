"""icecore: IceCube multi-messenger toolkit with a C++ core.

Subpackages (imported on demand, so ``import icecore`` stays light):

- :mod:`icecore.alerts`     GCN alert parsing, storage, Kafka listening and replay
- :mod:`icecore.catalog`    source and alert catalogues (ICECAT-1, 4FGL, CSV lists) and cross-matching
- :mod:`icecore.stats`      significances, trials factors, background TS distributions
- :mod:`icecore.likelihood` photon arrival-time (Pandel) likelihood and track fits
- :mod:`icecore.scan`       HEALPix sky scan, contours, skyreader/FITS outputs
- :mod:`icecore.ps`         point-source likelihood-ratio search on public track data
- :mod:`icecore.radio`      radio waveform cleaning and antenna orientation
- :mod:`icecore.coords`     equatorial <-> IceCube local coordinates
- :mod:`icecore.service`    the realtime service: HTTP API, database, scans and alert orchestration
- :mod:`icecore.lvk`        gravitational-wave (LVK) alert follow-up
"""

from __future__ import annotations

import importlib

from . import errors
from ._version import __version__


def _check_compiled_core() -> None:
    """Fail early, with the fix, when the compiled module icecore._core is missing or stale."""
    try:
        from . import _core

        if getattr(_core, "__file__", None) is None:  # only the stub folder _core/*.pyi was found
            raise ImportError("no compiled extension next to the package")
    except ImportError as exc:
        raise ImportError(
            "icecore's compiled module icecore._core could not be imported "
            f"({exc}). Install the package with `python -m pip install .` from the repository "
            "(needs a C++17 compiler and CMake; scikit-build-core and pybind11 are fetched by pip), "
            "or, for a development tree used with PYTHONPATH=python, run tools/dev-build.sh "
            "(needs `pip install pybind11 scikit-build-core ninja cmake` in the environment)."
        ) from exc
    if getattr(_core, "__version__", None) != __version__:
        raise ImportError(
            f"icecore._core was built for version {getattr(_core, '__version__', '?')} but the Python "
            f"package is {__version__}: rebuild it (`python -m pip install .` or tools/dev-build.sh)."
        )


_check_compiled_core()

__all__ = ["__version__", "errors", "alerts", "catalog", "stats", "likelihood", "scan", "ps", "lvk", "radio",
           "coords", "service"]

_SUBPACKAGES = {"alerts", "catalog", "stats", "likelihood", "scan", "ps", "lvk", "radio", "coords", "service"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'icecore' has no attribute {name!r}")
