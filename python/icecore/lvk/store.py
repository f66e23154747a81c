"""On-disk store of received LVK alerts and their follow-up products (used by :mod:`.pipeline`).

Layout under the store's directory::

    lvk/alerts/<superevent>__<alert_type>__<sha16>.json   the parsed alert (LvkAlert.to_dict + provenance)
    lvk/alerts/<superevent>__<alert_type>__<sha16>.raw    the message exactly as received
    lvk/followups/<superevent>/<alert_type>__<sha16>/     notice.json, circular.txt, skymap.png, summary.json
                                                           (a retraction: retraction.json, summary.json)

Names are built from the superevent id (checked against the LVK pattern by the parser, then
sanitised again here) and the SHA-256 of the raw message, so one message has one place and a
re-delivered message finds its earlier record. Records are claimed with an exclusive atomic
write (never overwritten); ``summary.json`` is written last by
:func:`~icecore.lvk.followup.write_products`, so its presence marks a finished follow-up.
Every disk failure raises :class:`~icecore.errors.StorageError` naming the path.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_write, safe_child, safe_name
from ..errors import StorageError
from .alert import LvkAlert

__all__ = ["LvkAlertStore", "StoredLvkAlert"]


@dataclass(frozen=True)
class StoredLvkAlert:
    """Outcome of :meth:`LvkAlertStore.put`: the record file, whether it was new, and the record."""

    path: Path
    created: bool
    record: dict[str, Any]
    products_dir: Path

    @property
    def followup_done(self) -> bool:
        """True when the follow-up of this message has written its ``summary.json``."""
        return (self.products_dir / "summary.json").is_file()


class LvkAlertStore:
    """LVK alerts and their follow-up products in ``<directory>/lvk`` (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).resolve()
        self.alerts_dir = self.directory / "lvk" / "alerts"
        self.followups_dir = self.directory / "lvk" / "followups"
        try:
            self.alerts_dir.mkdir(parents=True, exist_ok=True)
            self.followups_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.directory}: cannot create the LVK store: {exc}") from exc

    def __repr__(self) -> str:
        return f"LvkAlertStore({str(self.directory)!r})"

    @staticmethod
    def stem(alert: LvkAlert, raw_sha256: str) -> str:
        """``<superevent>__<alert_type>__<sha16>`` (sanitised)."""
        return f"{safe_name(alert.superevent_id, max_len=40)}__{safe_name(alert.alert_type, max_len=20)}__" \
               f"{raw_sha256[:16]}"

    def products_dir(self, alert: LvkAlert, raw_sha256: str) -> Path:
        """Folder of the follow-up products of one message (not created here)."""
        sup = safe_child(self.followups_dir, alert.superevent_id, max_len=40)
        return safe_child(sup, f"{safe_name(alert.alert_type, max_len=20)}__{raw_sha256[:16]}")

    def put(self, alert: LvkAlert, raw: bytes, *, meta: dict[str, Any] | None = None) -> StoredLvkAlert:
        """Store one parsed alert and its raw message (idempotent: the same message again is a no-op)."""
        sha = hashlib.sha256(raw).hexdigest()
        stem = self.stem(alert, sha)
        json_path = safe_child(self.alerts_dir, stem + ".json", max_len=120)
        raw_path = safe_child(self.alerts_dir, stem + ".raw", max_len=120)
        products = self.products_dir(alert, sha)
        rec = dict(alert.to_dict(), raw_sha256=sha, stored_at=time.time(), meta=dict(meta or {}),
                   products_dir=str(products))
        text = json.dumps(rec, indent=1, sort_keys=True, default=str) + "\n"
        try:
            atomic_write(json_path, text, overwrite=False)
            created = True
        except FileExistsError:
            created = False
        except OSError as exc:
            raise StorageError(f"{json_path}: could not store the LVK alert: {exc}") from exc
        try:
            if not raw_path.exists():  # written after its record; repaired when the message comes again
                atomic_write(raw_path, raw, overwrite=False)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StorageError(f"{raw_path}: could not store the raw LVK message: {exc}") from exc
        if not created:
            try:
                rec = json.loads(json_path.read_text())
            except (OSError, ValueError) as exc:
                raise StorageError(f"{json_path}: the stored LVK record is unreadable: {exc}") from exc
        return StoredLvkAlert(json_path, created, rec, products)

    def records(self) -> list[dict[str, Any]]:
        """Every stored alert record, oldest first."""
        out = []
        for p in sorted(self.alerts_dir.glob("*.json")):
            try:
                out.append(json.loads(p.read_text()))
            except (OSError, ValueError):
                continue
        return sorted(out, key=lambda r: r.get("stored_at", 0.0))
