"""Products in a documented, versioned layout, each with a metadata record.

Layout (``LAYOUT_VERSION`` 1) under ``<data_dir>/products``::

    <kind>/<subject>/v<N>/metadata.json    the record (below)
    <kind>/<subject>/v<N>/<files...>       the product's files (summary.json always)

``kind`` is the plan step or ``scan``; ``subject`` the sanitised alert event key (or scan id);
``N`` counts the versions of that (kind, subject): a revision of the alert whose inputs changed
makes v2, an unchanged one reuses v1. Directories are written under a temporary name and
renamed into place, then the database row is inserted, so a crash leaves either nothing or an
unreferenced directory (never a half-written product that the API serves).

The metadata record (``metadata.json``, also in the ``products`` table)::

    {"layout_version": 1, "product_id", "kind", "subject", "version", "created_at" (ISO UTC),
     "software": {"icecore", "python", "numpy", ...}, "inputs": {name: sha256 or value},
     "input_hash", "parameters": {...}, "data_releases": [{"name", "doi", "reference", "sha256"}],
     "files": [{"name", "bytes", "sha256"}], "retracted": false}

so that every number can be traced to the code, the inputs and the data release that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .._io import atomic_write, safe_name
from .._version import __version__
from . import db
from .security import safe_path

__all__ = ["LAYOUT_VERSION", "ProductStore", "input_hash", "sha256_file", "software_versions"]

LAYOUT_VERSION = 1


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_hash(inputs: dict[str, Any], parameters: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of (inputs, parameters): equal hash, equal product."""
    text = json.dumps({"inputs": inputs, "parameters": parameters}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def software_versions() -> dict[str, str]:
    """Versions of icecore, Python and the numerical packages (from the installed metadata: no imports)."""
    from importlib import metadata

    out = {"icecore": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "healpy", "astropy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional in a product record
            pass
    return out


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


_README = """icecore service products (layout version {v})

<kind>/<subject>/v<N>/metadata.json   metadata record: software versions, input hashes, parameters,
                                      data releases with DOIs, files with sha256, time produced
<kind>/<subject>/v<N>/summary.json    the product's numbers
<kind>/<subject>/v<N>/...             further files (skyreader npz/json, FITS, PNG, trials)
"""


class ProductStore:
    """Writes and finds products (files under ``root``, rows in the ``products`` table)."""

    def __init__(self, root: str | Path, database: db.Database) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = database
        readme = self.root / "README.txt"
        if not readme.exists():
            atomic_write(readme, _README.format(v=LAYOUT_VERSION))

    # ------------------------------------------------------------------ finding
    def find(self, conn: Connection, kind: str, subject: str, ihash: str) -> dict[str, Any] | None:
        """The newest non-retracted product of (kind, subject) with this input hash."""
        row = conn.execute(
            sa.select(db.products).where(db.products.c.kind == kind, db.products.c.subject == subject,
                                         db.products.c.input_hash == ihash, db.products.c.retracted.is_(False))
            .order_by(db.products.c.version.desc()).limit(1)).mappings().first()
        return None if row is None else self._row(row)

    def get(self, product_id: str) -> dict[str, Any] | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(db.products).where(db.products.c.id == product_id)).mappings().first()
        return None if row is None else self._row(row)

    def list_products(self, subject: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(db.products)
        if subject is not None:
            q = q.where(db.products.c.subject == subject)
        if kind is not None:
            q = q.where(db.products.c.kind == kind)
        with self.db.begin() as conn:
            return [self._row(r) for r in conn.execute(q.order_by(db.products.c.created_at)).mappings()]

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        return {"id": row["id"], "kind": row["kind"], "subject": row["subject"], "version": row["version"],
                "path": row["path"], "input_hash": row["input_hash"], "retracted": bool(row["retracted"]),
                "created_at": row["created_at"], "metadata": db.loads(row["metadata_json"]),
                "summary": db.loads(row["summary_json"])}

    def directory(self, product: dict[str, Any]) -> Path:
        return safe_path(self.root, *product["path"].split("/"))

    def file(self, product: dict[str, Any], name: str) -> Path:
        """One file of a product (only names listed in its metadata record)."""
        names = {f["name"] for f in product["metadata"]["files"]} | {"metadata.json"}
        if name not in names:
            raise FileNotFoundError(name)
        return safe_path(self.directory(product), name)

    # ------------------------------------------------------------------ writing
    def publish(self, kind: str, subject: str, *, inputs: dict[str, Any], parameters: dict[str, Any],
                summary: dict[str, Any] | None, data_releases: list[dict[str, Any]] | None = None,
                write: Callable[[Path], list[Path]] | None = None, reuse: bool = True) -> dict[str, Any]:
        """Write a product (or return the existing one with the same inputs when ``reuse``).

        Parameters
        ----------
        kind, subject : str
            Product kind (plan step, ``scan``) and what it is about (event key, scan id).
        inputs : dict
            Input name -> hash or value (what the product was computed from).
        parameters : dict
            Settings of the computation.
        summary : dict or None
            The product's numbers (written as ``summary.json`` and kept in the database); None:
            ``write`` writes ``summary.json`` itself.
        data_releases : list of dict
            ``{"name", "doi", "reference", "sha256"}`` of the external data used.
        write : callable, optional
            ``write(directory) -> [paths]`` writes further files into the product directory.
        """
        ihash = input_hash(inputs, parameters)
        kind_s, subj_s = safe_name(kind, max_len=64), safe_name(subject, max_len=150)
        if reuse:
            with self.db.begin() as conn:
                found = self.find(conn, kind, subject, ihash)
            if found is not None:
                return found
        parent = self.root / kind_s / subj_s
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            files = [Path(p) for p in (write(tmp) if write is not None else [])]
            if summary is None:  # the writer produced summary.json itself
                summary = json.loads((tmp / "summary.json").read_text())
            if isinstance(summary.get("files"), list):
                summary["files"] = [Path(str(f)).name for f in summary["files"]]
            atomic_write(tmp / "summary.json", db.dumps(summary) + "\n")
            files = [f for f in files if f.name != "summary.json"] + [tmp / "summary.json"]
            return self._commit(kind, subject, kind_s, subj_s, parent, tmp, files, ihash, inputs, parameters,
                                summary, data_releases or [])
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _commit(self, kind: str, subject: str, kind_s: str, subj_s: str, parent: Path, tmp: Path,
                files: list[Path], ihash: str, inputs: dict[str, Any], parameters: dict[str, Any],
                summary: dict[str, Any], releases: list[dict[str, Any]]) -> dict[str, Any]:
        now = time.time()
        pid = uuid.uuid4().hex
        with self.db.begin() as conn:
            have = conn.execute(sa.select(sa.func.max(db.products.c.version)).where(
                db.products.c.kind == kind, db.products.c.subject == subject)).scalar() or 0
            on_disk = [int(p.name[1:]) for p in parent.glob("v*") if p.name[1:].isdigit()]
            version = max([int(have), *on_disk]) + 1
            meta = {"layout_version": LAYOUT_VERSION, "product_id": pid, "kind": kind, "subject": subject,
                    "version": version, "created_at": _iso(now), "software": software_versions(),
                    "inputs": inputs, "input_hash": ihash, "parameters": parameters, "data_releases": releases,
                    "files": [{"name": f.name, "bytes": f.stat().st_size, "sha256": sha256_file(f)}
                              for f in files if f.parent == tmp],
                    "retracted": False}
            atomic_write(tmp / "metadata.json", json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
            final = parent / f"v{version}"
            os.rename(tmp, final)
            rel = f"{kind_s}/{subj_s}/v{version}"
            conn.execute(db.products.insert().values(
                id=pid, kind=kind, subject=subject, version=version, path=rel, input_hash=ihash,
                metadata_json=db.dumps(meta), summary_json=db.dumps(summary), retracted=False, created_at=now))
        return {"id": pid, "kind": kind, "subject": subject, "version": version, "path": rel, "input_hash": ihash,
                "retracted": False, "created_at": now, "metadata": meta, "summary": summary}

    def retract(self, conn: Connection, product_id: str) -> None:
        """Mark a product retracted (row and metadata record; files are kept for the record)."""
        row = conn.execute(sa.select(db.products).where(db.products.c.id == product_id)).mappings().first()
        if row is None or row["retracted"]:
            return
        meta = db.loads(row["metadata_json"])
        meta["retracted"] = True
        meta["retracted_at"] = _iso(time.time())
        conn.execute(db.products.update().where(db.products.c.id == product_id).values(
            retracted=True, metadata_json=db.dumps(meta)))
        try:
            atomic_write(safe_path(self.root, *row["path"].split("/"), "metadata.json"),
                         json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
        except OSError:  # pragma: no cover - the database row is the authority
            pass

    def delete(self, conn: Connection, product_id: str) -> None:
        row = conn.execute(sa.select(db.products).where(db.products.c.id == product_id)).mappings().first()
        if row is None:
            return
        conn.execute(db.products.delete().where(db.products.c.id == product_id))
        shutil.rmtree(safe_path(self.root, *row["path"].split("/")), ignore_errors=True)
