"""Safe file writing: atomic replace and sanitised file names."""

from __future__ import annotations

import os
import re
import secrets
import stat
import zipfile
from pathlib import Path
from typing import Union

import numpy as np

from .errors import DataFormatError, InputError

__all__ = ["atomic_write", "safe_name", "safe_child", "read_npz"]

PathLike = Union[str, "os.PathLike[str]"]
_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def atomic_write(path: PathLike, data: bytes | str, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    With ``overwrite=False`` an existing file is never replaced (``FileExistsError``). Readers
    see either the old or the complete new file, never a partial one. A new file gets the
    usual permissions (``0o666`` minus the process umask, as ``open()`` would give); a
    replaced file keeps the permission bits it had.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp = _create_temporary(path)
    try:
        if overwrite:
            try:
                os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
            except FileNotFoundError:
                pass
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


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new, exclusively created ``.<name>.<random>.tmp`` beside ``path``, mode 0o666 minus the umask.

    (``tempfile.mkstemp`` would force mode 0o600 whatever the umask.)
    """
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def safe_name(text: str, *, max_len: int = 120) -> str:
    """A file-name component from external text: only ``[A-Za-z0-9._+-]``, no leading dot, never empty."""
    s = _SAFE.sub("_", str(text)).strip("._")
    s = s[:max_len]
    return s or "unnamed"


def safe_child(directory: PathLike, name: str, *, max_len: int = 120) -> Path:
    """``directory/safe_name(name, max_len=max_len)``, guaranteed to stay inside ``directory``."""
    base = Path(directory).resolve()
    child = (base / safe_name(name, max_len=max_len)).resolve()
    if child.parent != base:
        raise InputError(f"argument 'name': {name!r} does not map to a file inside {base}", "name")
    return child


def read_npz(path: str | os.PathLike, *, what: str = "npz file") -> dict:
    """Every array of an ``.npz`` file, read eagerly; no pickles.

    A missing file raises ``FileNotFoundError``; a truncated, corrupt or non-npz file raises
    :class:`~icecore.errors.DataFormatError` naming the path. The file is opened (and closed) here:
    ``numpy.load`` leaves its handle open when the zip directory is unreadable.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"not a readable {what} ({type(exc).__name__}: {exc})", str(path)) from None
