"""threads= is bounded, and a thread the system refuses is an exception, never std::terminate.

Issue #11 item 4: at ~32 k threads parallel_for called std::terminate and the interpreter died
with SIGABRT (reachable from cpandel_pdf, scan, windowed_rms). The checks that could abort the
interpreter run in a subprocess, so a regression fails the test instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import icecore
from icecore._validation import MAX_THREADS, check_threads
from icecore.errors import InputError

pytestmark = pytest.mark.kernel


def _run(code: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(icecore.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_check_threads_bounds_and_types():
    assert MAX_THREADS == 1024
    assert check_threads(None) == 0 and check_threads(0) == 0 and check_threads(MAX_THREADS) == MAX_THREADS
    for bad in (-1, MAX_THREADS + 1, 32768, 2**40):
        with pytest.raises(InputError, match="threads"):
            check_threads(bad)
    for bad in (True, 2.0, "4"):
        with pytest.raises(InputError, match="threads"):
            check_threads(bad)  # type: ignore[arg-type]


def test_threads_32k_is_refused_by_every_entry_point_instead_of_aborting():
    """The three reported entry points, plus the bindings' own check (validate.hpp)."""
    r = _run("""
        import numpy as np
        from icecore import _core
        from icecore.likelihood.pandel import cpandel_pdf
        from icecore.radio.rms import windowed_rms
        from icecore.scan import SyntheticEvent, scan
        out = []
        for call in (lambda: cpandel_pdf(np.full(100, 50.0), np.full(100, 20.0), 2.0, threads=32768),
                     lambda: windowed_rms(np.ones((4, 400)), 120, threads=32768),
                     lambda: scan(SyntheticEvent(ra_deg=1.0, dec_deg=2.0), nsides=(1,), extensions=(),
                                  threads=32768, progress=False),
                     lambda: _core.likelihood.pandel_eval(0, np.ones(10), np.ones(10), 1.0, 1.0, np.ones(10),
                                                          32768)):
            try:
                call()
                out.append("no error")
            except ValueError as exc:
                out.append("threads" in str(exc))
        print(out)
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[True, True, True, True]"


def test_threads_above_the_bound_are_clamped_in_parallel_for():
    """A kernel reached without the argument check (the healpix bindings) runs at most 1024 threads."""
    r = _run("""
        import numpy as np
        from icecore import _core
        pix = np.arange(12 * 64 * 64, dtype=np.int64)
        th, ph = _core.healpix.pix2ang_nest(64, pix, 32768)
        th1, ph1 = _core.healpix.pix2ang_nest(64, pix, 1)
        print(bool(np.array_equal(th, th1) and np.array_equal(ph, ph1)))
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "True"


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="an address-space limit starves AddressSanitizer's own shadow memory")
def test_thread_creation_failure_raises_runtime_error_not_abort():
    """Under an address-space limit std::thread throws std::system_error: a RuntimeError in Python."""
    r = _run("""
        import resource
        import numpy as np
        from icecore import _core
        pix = np.arange(12 * 64 * 64, dtype=np.int64)
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) for line in f if line.startswith("VmSize:")) * 1024
        # room for a few 8 MiB thread stacks only
        resource.setrlimit(resource.RLIMIT_AS, (vm + 48 * 2**20, resource.RLIM_INFINITY))
        try:
            _core.healpix.pix2ang_nest(64, pix, 1000)
            print("no error")
        except RuntimeError as exc:
            print("RuntimeError", "could not start thread" in str(exc))
        except MemoryError:
            print("MemoryError")
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        th, _ = _core.healpix.pix2ang_nest(64, pix, 4)  # the process is still healthy
        print(th.size)
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.split()
    assert lines[:2] == ["RuntimeError", "True"], r.stdout
    assert lines[-1] == str(12 * 64 * 64)


def test_results_do_not_depend_on_the_thread_count_up_to_the_bound():
    from icecore.scan import healpix as H

    pix = np.arange(12 * 16 * 16)
    ref = H.pix2vec_nest(16, pix, threads=1)
    for t in (2, 7, MAX_THREADS):
        assert np.array_equal(H.pix2vec_nest(16, pix, threads=t), ref)
