"""Who owns a running job: a process id that other processes can check after a crash."""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["OWNER", "owner_alive", "LEASE_S"]

#: This process: ``host:pid:random``.
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
#: A job whose owner has not written for this long is taken over by another process.
LEASE_S = 120.0


def owner_alive(owner: str | None) -> bool:
    """Whether ``owner`` is a live process (on another host: assumed alive, its lease decides)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_s = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_s.isdigit():
        return True
    if int(pid_s) == os.getpid():
        return owner == OWNER
    try:
        os.kill(int(pid_s), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    # a zombie child (tests) still answers kill(0): look at its state
    try:
        with open(f"/proc/{pid_s}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:  # pragma: no cover - not Linux
        return True
