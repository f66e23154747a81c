"""Optional dependencies (extras): import them with an error that says what to install."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["require", "available"]


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ImportError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{purpose} needs {module.split('.')[0]}: pip install 'icecore[{extra}]'") from exc
