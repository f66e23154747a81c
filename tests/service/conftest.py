"""Fixtures of the service tests: a database of each kind, a service, its HTTP client, events.

PostgreSQL tests read ICECORE_PG_URL (a user that may CREATE DATABASE; each test gets a fresh
database, dropped afterwards) and RabbitMQ tests ICECORE_AMQP_URL; both skip with the reason when
the variable is unset or the server unreachable.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from helpers.amqp_workers import amqp_url_or_skip

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _pg_admin_url() -> str:
    url = os.environ.get("ICECORE_PG_URL")
    if not url:
        pytest.skip("ICECORE_PG_URL is not set (PostgreSQL tests skipped)")
    return url


@pytest.fixture
def pg_url():
    """URL of a fresh PostgreSQL database (dropped after the test)."""
    import sqlalchemy as sa

    from icecore.service.db import make_engine

    admin = _pg_admin_url()
    try:
        eng = make_engine(admin).execution_options(isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL at ICECORE_PG_URL unreachable: {type(exc).__name__}: {exc}")
    name = f"icecore_t_{uuid.uuid4().hex[:12]}"
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with eng.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'svc.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def amqp_url():
    return amqp_url_or_skip(check_connection=True)


@pytest.fixture
def make_service(tmp_path):
    """``make_service(**config)`` -> a started Service (stopped and closed after the test)."""
    from icecore.service import Service, ServiceConfig

    made = []

    def make(start=True, **kw):
        kw.setdefault("data_dir", tmp_path / "data")
        kw.setdefault("tokens", (TOKEN,))
        kw.setdefault("scan_threads", 2)
        kw.setdefault("scan_plots", False)
        kw.setdefault("poll_interval_s", 0.05)
        svc = Service(ServiceConfig(**kw))
        if start:
            svc.start()
        made.append(svc)
        return svc

    yield make
    for s in made:
        s.close()


@pytest.fixture
def client_for():
    """``client_for(service)`` -> a TestClient of the service's app (background loops already running)."""
    from fastapi.testclient import TestClient

    from icecore.service.api import create_app

    clients = []

    def make(svc):
        c = TestClient(create_app(svc, start=False))
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


SYNTHETIC = {"synthetic_event": {"ra_deg": 123.4, "dec_deg": -12.3, "mjd": 60000.5, "kappa": 3000.0,
                                 "vertex": [10.0, -20.0, 30.0, 1000.0], "vertex_pull": 0.5, "vertex_weight": 1e-4,
                                 "work": 0, "run_id": 1234, "event_id": 56, "true_ra_deg": None, "true_dec_deg": None}}
QUICK = {"nsides": [8, 32], "extensions": [12.0]}


@pytest.fixture
def auth() -> dict:
    """Headers with the write token of ``make_service``'s services."""
    return dict(AUTH)


@pytest.fixture
def quick() -> dict:
    """A fast refinement schedule (8 -> 32)."""
    return dict(QUICK)


@pytest.fixture
def synthetic_event():
    return json.loads(json.dumps(SYNTHETIC))


@pytest.fixture(scope="session")
def likelihood_event(tmp_path_factory) -> dict:
    """A simulated photon-level track event (icecore.likelihood) as its JSON dict."""
    from icecore.scan.events import event_to_json, simulate_event

    ev = simulate_event(seed=3, ra_deg=40.0, dec_deg=5.0, energy_tev=5.0)
    return json.loads(event_to_json(ev))


@pytest.fixture(scope="session")
def gcn_dir(shared_dir: Path) -> Path:
    d = shared_dir / "fixtures" / "gcn"
    if not d.is_dir():
        pytest.skip("GCN fixtures not present")
    return d


@pytest.fixture(scope="session")
def catalogues_dir(shared_dir: Path) -> Path:
    d = shared_dir / "data" / "real" / "catalogues"
    if not d.is_dir():
        pytest.skip("real catalogues not present")
    return d


LVK_PRELIMINARY = "gcn/lvk_kafka_json/igwn_gwalert_preliminary_MS260605l.json"


@pytest.fixture(scope="session")
def real(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "real"
    if not (path / "gcn" / "lvk_kafka_json").is_dir() or not (path / "ps" / "IC86-2011_PS-release").is_dir():
        pytest.skip("real LVK notices / IC86-2011 release not present")
    return path


@pytest.fixture(scope="session")
def lvk_setup(real, tmp_path_factory):
    """Config of the LVK step: simulated events around the (mock, real-format) MS260605l alert (CSV)."""
    import numpy as np

    from icecore.lvk import load_ic86_2011, parse_lvk_alert, simulate_window

    alert = parse_lvk_alert((real / LVK_PRELIMINARY).read_bytes())
    bg = real / "ps" / "IC86-2011_PS-release"
    sample = load_ic86_2011(bg)
    ev = simulate_window(sample, alert.time_mjd, seed=4, n_signal=2, source_deg=alert.skymap().max_direction_deg())
    ev = np.concatenate([ev, ev[:1]])
    ev["time_mjd"][-1] = alert.time_mjd + 2000.0 / 86400.0  # outside the +-500 s window
    csv = tmp_path_factory.mktemp("lvk") / "events.csv"
    names = ev.dtype.names
    csv.write_text(",".join(names) + "\n" + "\n".join(",".join(repr(x.item()) for x in row) for row in ev) + "\n")
    return {"lvk_events": csv, "lvk_background": bg, "lvk_nside": 32, "lvk_trials": 200}, alert, ev, sample
