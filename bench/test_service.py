"""The realtime service: API latency, alert -> products, ingestion rate, scan via the API vs scan().

- API latency: p50/p99 of list / manifest / result requests from a local client with a bounded
  number of concurrent connections (uvicorn in a thread, httpx clients in a thread pool), against
  the same queries made directly on the Python objects (baseline); the answers must agree.
- alert -> products: notices posted to the API until every plan step (except scans) has its
  product (goal: p99 <= 5 s), against running the same plan without HTTP.
- ingestion: alerts stored and planned per second (goal >= 100/s with the follow-ups queued),
  against icecore.alerts.process.ingest (store only).
- scan: a scan submitted through the API and waited for, against icecore.scan.scan() on the same
  event (goal: overhead <= 5 %); the best fits must be equal.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from icecore.scan import SyntheticEvent, scan  # noqa: E402
from icecore.service import Service, ServiceConfig  # noqa: E402
from icecore.service.api import create_app  # noqa: E402

TOKEN = "bench-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GCN = Path(os.environ.get("ICECORE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "fixtures" / "gcn"
GOLD_BRONZE = GCN / "gcn-schema/main/gcn/notices/icecube/single_neutrino_alerts.gold_bronze_track_alerts.example.json"
EVENT = {"synthetic_event": {"ra_deg": 123.4, "dec_deg": -12.3, "mjd": 60000.5, "kappa": 3000.0,
                             "vertex": [10.0, -20.0, 30.0, 1000.0], "vertex_pull": 0.5, "vertex_weight": 1e-4,
                             "work": 200, "run_id": 7, "event_id": 8, "true_ra_deg": None, "true_dec_deg": None}}
QUICK = {"nsides": [8, 64], "extensions": [12.0]}
CONCURRENCY = 8


def _service(tmp, **kw):
    kw.setdefault("scan_plots", False)
    return Service(ServiceConfig(data_dir=Path(tmp) / "data", tokens=(TOKEN,), scan_threads=2, poll_interval_s=0.02,
                                 **kw))


def _notices(n):
    base = json.loads(GOLD_BRONZE.read_bytes())
    return [json.dumps(dict(base, id=[f"137840_{57000000 + i}"], event_name=[f"IceCube-B{i:05d}"])).encode()
            for i in range(n)]


@pytest.fixture
def served():
    made = []

    def serve(svc):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(svc, start=False), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        th = threading.Thread(target=server.run, daemon=True)
        th.start()
        while not server.started:
            time.sleep(0.02)
        made.append((server, th, svc))
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, th, svc in made:
        server.should_exit = True
        th.join(10)
        svc.close()


def _pct(a):
    a = np.asarray(a) * 1e3
    return round(float(np.percentile(a, 50)), 3), round(float(np.percentile(a, 99)), 3)


@pytest.mark.benchmark(group="service-api-latency")
def test_api_latency(benchmark, record, served, bench_scale, tmp_path):
    svc = _service(tmp_path)
    svc.start(orchestrator=False, listener=False)
    sids = [svc.scans.submit(EVENT, QUICK) for _ in range(3)]
    for s in sids:
        assert svc.scans.wait(s, 120)["status"] == "done"
    url = served(svc)
    n = max(CONCURRENCY, int(200 * bench_scale))
    paths = [("/api/scans", None), *[(f"/api/scans/{s}", s) for s in sids],
             *[(f"/api/scans/{s}/result", s) for s in sids]]
    clients = [httpx.Client(base_url=url, timeout=30) for _ in range(CONCURRENCY)]
    lat: list[float] = []

    def one(i):
        path = paths[i % len(paths)][0]
        t0 = time.perf_counter()
        r = clients[i % CONCURRENCY].get(path)
        dt = time.perf_counter() - t0
        assert r.status_code == 200
        return dt, path, r.json()

    def load():
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            return list(pool.map(one, range(n)))

    out = benchmark.pedantic(load, rounds=1, iterations=1)
    lat = [o[0] for o in out]
    p50, p99 = _pct(lat)
    # the API answers what the objects say
    direct = {f"/api/scans/{s}": svc.scans.manifest(s) for s in sids}
    for _, path, body in out:
        if path in direct:
            assert body["progress"] == direct[path]["progress"] and body["status"] == "done"
        if path.endswith("/result"):
            pid = svc.scans.get(path.split("/")[3])["product_id"]
            assert body["summary"]["best_fit"] == svc.products.get(pid)["summary"]["best_fit"]
    for c in clients:
        c.close()
    record(benchmark, role="icecore", size=f"{n} GETs (list/manifest/result), {CONCURRENCY} concurrent clients",
           items=n, p50_ms=p50, p99_ms=p99)


@pytest.mark.benchmark(group="service-api-latency")
def test_api_latency_baseline_direct_calls(benchmark, record, bench_scale, tmp_path):
    svc = _service(tmp_path)
    svc.start(orchestrator=False, listener=False)
    sids = [svc.scans.submit(EVENT, QUICK) for _ in range(3)]
    for s in sids:
        svc.scans.wait(s, 120)
    n = max(CONCURRENCY, int(200 * bench_scale))

    def one(i):
        t0 = time.perf_counter()
        k = i % 7
        if k == 0:
            svc.scans.list()
        elif k < 4:
            svc.scans.manifest(sids[k - 1])
        else:
            svc.products.get(svc.scans.get(sids[k - 4])["product_id"])
        return time.perf_counter() - t0

    def load():
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            return list(pool.map(one, range(n)))

    lat = benchmark.pedantic(load, rounds=1, iterations=1)
    p50, p99 = _pct(lat)
    svc.close()
    record(benchmark, role="baseline", baseline="the same queries as direct Python calls (no HTTP)",
           size=f"{n} queries, {CONCURRENCY} threads", items=n, p50_ms=p50, p99_ms=p99)


needs_gcn = pytest.mark.skipif(not GOLD_BRONZE.is_file(), reason="GCN fixtures not found (set ICECORE_SHARED)")


@needs_gcn
@pytest.mark.benchmark(group="service-alert-to-products")
def test_alert_to_products(benchmark, record, served, bench_scale, tmp_path):
    n = max(5, int(20 * bench_scale))
    notices = _notices(n)
    svc = _service(tmp_path)
    svc.start(scans=False, listener=False)
    url = served(svc)
    client = httpx.Client(base_url=url, timeout=30, headers=AUTH)

    def run():
        for raw in notices:
            assert client.post("/api/alerts", content=raw).status_code == 201
        t0 = time.monotonic()
        while svc.orchestrator.counts()["alerts_by_status"].get("done", 0) < n:
            assert time.monotonic() - t0 < 120
            time.sleep(0.01)

    benchmark.pedantic(run, rounds=1, iterations=1)
    lat = svc.orchestrator.latencies
    assert len(svc.products.list_products()) == n
    client.close()
    p50, p99 = _pct(lat)
    record(benchmark, role="icecore", size=f"{n} gold/bronze notices via POST /api/alerts (significance step)",
           items=n, p50_ms=p50, p99_ms=p99, goal_p99_s=5.0)


@needs_gcn
@pytest.mark.benchmark(group="service-alert-to-products")
def test_alert_to_products_baseline_no_http(benchmark, record, bench_scale, tmp_path):
    n = max(5, int(20 * bench_scale))
    notices = _notices(n)
    svc = _service(tmp_path)

    def run():
        for raw in notices:
            svc.orchestrator.ingest(raw)
        svc.orchestrator.run_pending()

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(svc.products.list_products()) == n
    svc.close()
    record(benchmark, role="baseline", baseline="Orchestrator.ingest + run_pending in-process (no HTTP)",
           size=f"{n} notices", items=n)


@needs_gcn
@pytest.mark.benchmark(group="service-ingestion")
def test_ingestion_rate(benchmark, record, bench_scale):
    n = max(20, int(300 * bench_scale))
    notices = _notices(n)

    def setup():
        tmp = tempfile.mkdtemp()
        return (_service(tmp),), {}

    def run(svc):
        for raw in notices:
            svc.orchestrator.ingest(raw)  # stored, planned: follow-ups queued
        assert svc.orchestrator.counts()["steps_by_status"]["pending"] == n
        svc.close()

    benchmark.pedantic(run, setup=setup, rounds=1, iterations=1)
    record(benchmark, role="icecore", size=f"{n} notices stored + planned (SQLite)", items=n, goal_per_s=100)


@needs_gcn
@pytest.mark.benchmark(group="service-ingestion")
def test_ingestion_rate_baseline_alert_store(benchmark, record, bench_scale):
    from icecore.alerts import AlertStore
    from icecore.alerts.process import ingest

    n = max(20, int(300 * bench_scale))
    notices = _notices(n)

    def setup():
        return (AlertStore(tempfile.mkdtemp()),), {}

    def run(store):
        for raw in notices:
            ingest(store, raw)
        assert len(store) == n

    benchmark.pedantic(run, setup=setup, rounds=1, iterations=1)
    record(benchmark, role="baseline", baseline="icecore.alerts.process.ingest (store only, no plan)",
           size=f"{n} notices", items=n)


@pytest.mark.benchmark(group="service-scan")
def test_scan_via_api(benchmark, record, served, tmp_path):
    svc = _service(tmp_path)
    svc.start(orchestrator=False, listener=False)
    url = served(svc)
    client = httpx.Client(base_url=url, timeout=30, headers=AUTH)
    settings = {"nsides": [8, 64, 512], "extensions": [12.0, 24.0]}
    results = []

    def run():
        sid = client.post("/api/scans", json={"event": EVENT, "settings": settings}).json()["id"]
        while client.get(f"/api/scans/{sid}").json()["status"] not in ("done", "failed"):
            time.sleep(0.01)
        results.append(client.get(f"/api/scans/{sid}/result").json()["summary"]["best_fit"])

    benchmark.pedantic(run, rounds=1, iterations=1)
    client.close()
    direct = scan(SyntheticEvent(**EVENT["synthetic_event"]), nsides=(8, 64, 512), extensions=(12.0, 24.0), threads=2,
                  progress=False)
    assert results[-1]["ra_deg"] == direct.best_fit["ra_deg"] and results[-1]["neg_llh"] == direct.best_fit["neg_llh"]
    record(benchmark, role="icecore", size="synthetic event, 8/64/512, products without plots", items=1,
           goal_overhead=0.05)


@pytest.mark.benchmark(group="service-scan")
def test_scan_direct_baseline(benchmark, record):
    from icecore.scan.products import write_products

    ev = SyntheticEvent(**EVENT["synthetic_event"])

    def run():
        r = scan(ev, nsides=(8, 64, 512), extensions=(12.0, 24.0), threads=2, progress=False)
        write_products(r, tempfile.mkdtemp(), plots=False)
        return r

    r = benchmark.pedantic(run, rounds=1, iterations=1)
    assert r.best_fit["neg_llh"] >= 0
    record(benchmark, role="baseline", baseline="icecore.scan.scan() + write_products directly", size="same event",
           items=1)
