"""Safe file writing: atomic replace and sanitised file names."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Union

from .errors import InputError

__all__ = ["atomic_write", "safe_name", "safe_child"]

PathLike = Union[str, "os.PathLike[str]"]
_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def atomic_write(path: PathLike, data: bytes | str, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    With ``overwrite=False`` an existing file is never replaced (``FileExistsError``). Readers
    see either the old or the complete new file, never a partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails with FileExistsError if path exists; atomic
            os.unlink(tmp)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def safe_name(text: str, *, max_len: int = 120) -> str:
    """A file-name component from external text: only ``[A-Za-z0-9._+-]``, no leading dot, never empty."""
    s = _SAFE.sub("_", str(text)).strip("._")
    s = s[:max_len]
    return s or "unnamed"


def safe_child(directory: PathLike, name: str) -> Path:
    """``directory/safe_name(name)``, guaranteed to stay inside ``directory``."""
    base = Path(directory).resolve()
    child = (base / safe_name(name)).resolve()
    if child.parent != base:
        raise InputError(f"argument 'name': {name!r} does not map to a file inside {base}", "name")
    return child
