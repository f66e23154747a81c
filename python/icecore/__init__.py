"""icecore: IceCube multi-messenger toolkit with a C++ core.

Subpackages (imported on demand, so ``import icecore`` stays light):

- :mod:`icecore.alerts`     GCN alert parsing, storage, Kafka listening and replay
- :mod:`icecore.stats`      significances, trials factors, background TS distributions
- :mod:`icecore.likelihood` photon arrival-time (Pandel) likelihood and track fits
- :mod:`icecore.scan`       HEALPix sky scan, contours, skyreader/FITS outputs
- :mod:`icecore.ps`         point-source likelihood-ratio search on public track data
- :mod:`icecore.radio`      radio waveform cleaning and antenna orientation
- :mod:`icecore.coords`     equatorial <-> IceCube local coordinates
"""

from __future__ import annotations

import importlib

from . import errors
from ._version import __version__

__all__ = ["__version__", "errors", "alerts", "stats", "likelihood", "scan", "ps", "radio", "coords"]

_SUBPACKAGES = {"alerts", "stats", "likelihood", "scan", "ps", "radio", "coords"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'icecore' has no attribute {name!r}")
