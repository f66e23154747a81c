"""Progress bars for long loops: tqdm, switched off with ``progress=False`` or when stderr is not a TTY."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar", "want_progress"]


def want_progress(progress: bool | None) -> bool:
    """``None`` means: show a bar only when stderr is an interactive terminal."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def progress_bar(iterable: Iterable[Any] | None = None, *, progress: bool | None = None, **kwargs: Any):
    """A tqdm bar (or a silent pass-through with the same interface when disabled)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not want_progress(progress), **kwargs)
