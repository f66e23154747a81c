"""Radio antenna orientation from Galactic noise (IceTop surface radio).

Noise level: :func:`windowed_rms`.
"""

from __future__ import annotations

from .rms import windowed_rms

__all__ = ["windowed_rms"]
