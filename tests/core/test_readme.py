"""The README is executable: every ``python`` and ``bash`` code block in it runs, in order.

Blocks run in one scratch folder (so a file written by one block is there for the next), each
Python block in a fresh interpreter, each bash block with ``bash -euo pipefail``. A block that
cannot run on a machine without internet is preceded in the README by a line
``<!-- readme-test: skip REASON -->``; the two quick-start commands are run verbatim by
``.ci/run`` itself and are marked ``<!-- readme-test: ci-run -->``; a block reading the
repository's real data is marked ``needs-shared`` (skipped when ``../shared`` is absent) and one
that starts a local server ``runs-server`` (it runs as written).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

_FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[a-z]*)\s*$")
_MARK = re.compile(r"<!--\s*readme-test:\s*(?P<what>[a-z-]+)\s*(?P<why>.*?)\s*-->")


def readme_blocks(text: str) -> list[dict]:
    """Code blocks of ``text``: language, code (dedented), line number, and the marker before it.

    The marker is a ``<!-- readme-test: ... -->`` comment on the last non-blank line before the fence.
    """
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        f = _FENCE.match(lines[i])
        if not (f and f.group("lang")):
            i += 1
            continue
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        m = _MARK.search(lines[k]) if k >= 0 else None
        indent, start = len(f.group("indent")), i + 1
        j = start
        while j < len(lines) and not _FENCE.match(lines[j]):
            j += 1
        code = "\n".join(line[indent:] for line in lines[start:j])
        blocks.append({"lang": f.group("lang"), "code": code, "line": start,
                       "marker": (m.group("what"), m.group("why")) if m else None})
        i = j + 1
    return blocks


def test_readme_parser_finds_blocks_and_markers():
    text = "intro\n<!-- readme-test: skip needs GCN -->\n```bash\nicecore alerts listen\n```\n\n" \
           "```python\nprint(1)\n```\n"
    blocks = readme_blocks(text)
    assert [b["lang"] for b in blocks] == ["bash", "python"]
    assert blocks[0]["marker"] == ("skip", "needs GCN") and blocks[1]["marker"] is None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


_BLOCKS = [b for b in readme_blocks(README.read_text()) if b["lang"] in ("python", "bash")] if README.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("block", _BLOCKS, ids=[f"line{b['line']}-{b['lang']}" for b in _BLOCKS])
def test_readme_block_runs(block, scratch):
    marker = block["marker"]
    if marker and marker[0] == "ci-run":
        pytest.skip("run verbatim by .ci/run")
    if marker and marker[0] == "skip":
        pytest.skip(marker[1] or "marked in the README")
    env_extra: dict[str, str] = {}
    if marker and marker[0] == "needs-shared":
        shared = Path(os.environ.get("ICECORE_SHARED", REPO.parent / "shared")).resolve()
        if not (shared / "data" / "real").is_dir():
            pytest.skip(f"needs the real-data folder {shared}/data/real (set ICECORE_SHARED)")
        env_extra["ICECORE_SHARED"] = str(shared)
        marker = None
    if marker and marker[0] == "runs-server":  # starts a local server on a fixed port; runs as written
        marker = None
    assert not marker, f"unknown readme-test marker {marker} before README line {block['line']}"
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", **env_extra)
    if env.get("PYTHONPATH"):  # a development tree (PYTHONPATH=python): keep it valid in the scratch folder
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    if shutil.which("icecore", path=env["PATH"]) is None:  # a development tree: run the CLI module
        wrapper = scratch / "bin"
        wrapper.mkdir(exist_ok=True)
        (wrapper / "icecore").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m icecore.cli "$@"\n')
        (wrapper / "icecore").chmod(0o755)
        env["PATH"] = str(wrapper) + os.pathsep + env["PATH"]
    if block["lang"] == "python":
        cmd = [sys.executable, "-c", block["code"]]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", block["code"]]
    proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"README block at line {block['line']} failed ({block['lang']}):\n{block['code']}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    )
