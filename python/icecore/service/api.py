"""The HTTP API (FastAPI) and the dashboard page.

FastAPI was chosen because it validates every request body against a pydantic schema, publishes
the OpenAPI document (``/openapi.json``, browsable at ``/docs``) from the same declarations, runs
on any ASGI server (uvicorn here) and has an in-process test client; it is built on Starlette,
whose static-file serving refuses paths outside its directory.

Routes (``W`` = needs ``Authorization: Bearer <token>``)
------------------------------------------------------
``GET  /api/health``, ``GET /api/metrics``
``POST /api/scans`` (W), ``GET /api/scans``, ``GET /api/scans/{id}`` (manifest),
``GET  /api/scans/{id}/result``, ``GET /api/scans/{id}/files/{name}``,
``POST /api/scans/{id}/cancel`` (W), ``DELETE /api/scans/{id}`` (W)
``GET  /api/alerts``, ``GET /api/alerts/{key}``, ``POST /api/alerts`` (W, a raw notice),
``POST /api/alerts/{key}/event`` (W, scan an event for the alert), ``POST /api/alerts/{key}/rerun`` (W)
``GET  /api/products/{id}``, ``GET /api/products/{id}/files/{name}``
``GET  /`` the dashboard (``/static/...`` its script and style)
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from .._version import __version__
from ..errors import InputError, ParseError
from .config import ServiceConfig
from .runtime import Service
from .security import BodySizeLimit, PathOutsideError, TokenError, check_token

__all__ = ["create_app", "ScanRequest", "ScanSettingsModel"]

log = logging.getLogger(__name__)


class ScanSettingsModel(BaseModel):
    """Refinement schedule (see icecore.scan.ScanSettings)."""

    model_config = ConfigDict(extra="forbid")
    nsides: list[int] = Field(default=[8, 64, 512], min_length=1, max_length=8)
    extensions: list[float] = Field(default=[12.0, 24.0], max_length=7)
    llh_diff_threshold: float | None = Field(default=None, gt=0)
    max_refine_radius_deg: float = Field(default=10.0, gt=0, le=180)
    max_rounds_per_level: int = Field(default=64, ge=1, le=1000)


class ScanRequest(BaseModel):
    """A scan: the event in its JSON layout and the schedule."""

    model_config = ConfigDict(extra="forbid")
    event: dict[str, Any] = Field(description="{'synthetic_event': {...}} or an icecore.likelihood Event JSON")
    settings: ScanSettingsModel = Field(default_factory=ScanSettingsModel)
    fitter_options: dict[str, int | float | str | bool] = Field(
        default_factory=dict, max_length=16, description="photon-likelihood fitter options, e.g. {'n_ring': 0}")
    executor: Literal["in-process", "amqp"] | None = None


class Submitted(BaseModel):
    """The id of a queued scan."""

    id: str
    status: str


_bearer = HTTPBearer(auto_error=False, description="write token (icecore serve --token)")


def _writer(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """Dependency of write endpoints: the id of a valid token, else 401."""
    header = None if cred is None else f"{cred.scheme} {cred.credentials}"
    try:
        return check_token(header, request.app.state.service.config.tokens)
    except TokenError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


Writer = Annotated[str, Depends(_writer)]


def _service_routes(app: FastAPI, svc: Service) -> None:
    """Routes: health, metrics."""

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, Any]:
        return {**svc.health(), "version": __version__}

    @app.get("/api/metrics", tags=["service"])
    def metrics() -> dict[str, Any]:
        o = svc.orchestrator.stats
        lat = svc.orchestrator.latencies
        import numpy as np

        return {"http": svc.metrics.snapshot(), "scans": {"by_status": svc.scans.queue_depth(), **svc.scans.stats},
                "alerts": {**svc.orchestrator.counts(), **o,
                           "alert_to_products_p50_s": float(np.percentile(lat, 50)) if lat else None,
                           "alert_to_products_p99_s": float(np.percentile(lat, 99)) if lat else None},
                "queues": {"scans_queued": svc.scans.queue_depth()["queued"],
                           "steps_pending": svc.orchestrator.counts()["steps_by_status"].get("pending", 0)}}


def _manifest(svc: Service, scan_id: str) -> dict[str, Any]:
    m = svc.scans.manifest(scan_id)
    if m is None:
        raise HTTPException(404, f"no scan {scan_id}")
    return m


def _file(svc: Service, p: dict[str, Any], name: str) -> Any:
    """A file of a product (only the names its metadata record lists), else 404."""
    try:
        path = svc.products.file(p, name)
    except (FileNotFoundError, PathOutsideError):
        raise HTTPException(404, f"no file {name!r} in product {p['id']}") from None
    if not path.is_file():
        raise HTTPException(404, f"no file {name!r} in product {p['id']}")
    return FileResponse(path, filename=path.name)


def _scan_routes(app: FastAPI, svc: Service) -> None:
    """Routes: scans."""

    @app.post("/api/scans", status_code=201, response_model=Submitted, tags=["scans"])
    def submit_scan(req: ScanRequest, token: Writer) -> dict[str, Any]:
        sid = svc.scans.submit(req.event, req.settings.model_dump(), executor=req.executor,
                               fitter_options=req.fitter_options)
        return {"id": sid, "status": "queued"}

    @app.get("/api/scans", tags=["scans"])
    def list_scans(run_id: int | None = None, event_id: int | None = None,
                   status: Literal["queued", "running", "done", "failed", "cancelled"] | None = None,
                   limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
        rows = svc.scans.list(run_id=run_id, event_id=event_id, status=status, limit=limit, offset=offset)
        from .db import loads

        return [{**{k: v for k, v in r.items() if not k.endswith("_json")},
                 "settings": loads(r["settings_json"])} for r in rows]

    @app.get("/api/scans/{scan_id}", tags=["scans"])
    def scan_manifest(scan_id: str) -> dict[str, Any]:
        return _manifest(svc, scan_id)

    @app.get("/api/scans/{scan_id}/result", tags=["scans"])
    def scan_result(scan_id: str) -> dict[str, Any]:
        m = _manifest(svc, scan_id)
        if m["status"] != "done" or not m["product_id"]:
            raise HTTPException(409, f"scan {scan_id} is {m['status']}, no result yet")
        p = svc.products.get(m["product_id"])
        if p is None:
            raise HTTPException(404, "the scan's product is gone")
        base = f"/api/scans/{scan_id}/files/"
        return {"id": scan_id, "product_id": p["id"], "summary": p["summary"], "metadata": p["metadata"],
                "files": {f["name"]: base + f["name"] for f in p["metadata"]["files"]}}

    @app.get("/api/scans/{scan_id}/files/{name}", tags=["scans"])
    def scan_file(scan_id: str, name: str) -> Any:
        m = _manifest(svc, scan_id)
        p = svc.products.get(m["product_id"]) if m["product_id"] else None
        if p is None:
            raise HTTPException(404, "no result yet")
        return _file(svc, p, name)

    @app.post("/api/scans/{scan_id}/cancel", tags=["scans"])
    def cancel_scan(scan_id: str, token: Writer) -> dict[str, Any]:
        st = svc.scans.cancel(scan_id)
        if st is None:
            raise HTTPException(404, f"no scan {scan_id}")
        return {"id": scan_id, "status": st}

    @app.delete("/api/scans/{scan_id}", tags=["scans"])
    def delete_scan(scan_id: str, token: Writer) -> dict[str, Any]:
        if not svc.scans.delete(scan_id):
            raise HTTPException(404, f"no scan {scan_id}")
        return {"id": scan_id, "deleted": True}


def _alert_routes(app: FastAPI, svc: Service) -> None:
    """Routes: alerts."""

    @app.get("/api/alerts", tags=["alerts"])
    def list_alerts(kind: str | None = None, status: str | None = None, name: str | None = Query(None, max_length=100),
                    include_tests: bool = True, limit: int = Query(100, ge=1, le=1000),
                    offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
        return svc.orchestrator.list_alerts(kind=kind, status=status, name=name, include_tests=include_tests,
                                            limit=limit, offset=offset)

    @app.get("/api/alerts/{event_key}", tags=["alerts"])
    def get_alert(event_key: str) -> dict[str, Any]:
        a = svc.orchestrator.alert(event_key)
        if a is None:
            raise HTTPException(404, f"no alert {event_key!r}")
        return a

    @app.post("/api/alerts", status_code=201, tags=["alerts"],
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {"type": "object"}}, "application/xml": {"schema": {"type": "string"}},
                  "text/plain": {"schema": {"type": "string"}}}}})
    async def post_alert(request: Request, token: Writer,
                         topic: str | None = Query(None, max_length=200)) -> dict[str, Any]:
        raw = await request.body()
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(svc.orchestrator.ingest, raw, topic=topic)

    @app.post("/api/alerts/{event_key}/event", status_code=201, response_model=Submitted, tags=["alerts"])
    def alert_event(event_key: str, req: ScanRequest, token: Writer) -> dict[str, Any]:
        try:
            sid = svc.orchestrator.submit_event(event_key, req.event, req.settings.model_dump(), executor=req.executor,
                                                fitter_options=req.fitter_options)
        except KeyError:
            raise HTTPException(404, f"no alert {event_key!r}") from None
        return {"id": sid, "status": "queued"}

    @app.post("/api/alerts/{event_key}/rerun", tags=["alerts"])
    def rerun_alert(event_key: str, token: Writer) -> dict[str, Any]:
        n = svc.orchestrator.rerun(event_key)
        if n is None:
            raise HTTPException(404, f"no alert {event_key!r}")
        return {"event_key": event_key, "requeued_steps": n}


def _product_routes(app: FastAPI, svc: Service) -> None:
    """Routes: products."""
    def _product(product_id: str) -> dict[str, Any]:
        p = svc.products.get(product_id)
        if p is None:
            raise HTTPException(404, f"no product {product_id}")
        return p

    @app.get("/api/products/{product_id}", tags=["products"])
    def get_product(product_id: str) -> dict[str, Any]:
        return _product(product_id)

    @app.get("/api/products/{product_id}/files/{name}", tags=["products"])
    def product_file(product_id: str, name: str) -> Any:
        return _file(svc, _product(product_id), name)


def _page_routes(app: FastAPI, svc: Service) -> None:
    """Routes: the page."""
    web = files("icecore.service").joinpath("web")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return web.joinpath("index.html").read_text(encoding="utf-8")

    app.mount("/static", StaticFiles(directory=str(web)), name="static")


def create_app(service: Service | ServiceConfig, *, start: bool = True) -> Any:
    """The ASGI app of a service (its background loops run while the app is up when ``start``)."""

    svc = service if isinstance(service, Service) else Service(service)

    @asynccontextmanager
    async def lifespan(app: Any):
        if start and not svc.started:
            svc.start()
        try:
            yield
        finally:
            if start:
                svc.stop()

    app = FastAPI(title="icecore realtime service", version=__version__, lifespan=lifespan,
                  description="Sky scans as a service and IceCube alert follow-up orchestration.")
    app.state.service = svc

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "argument": exc.argument}, status_code=422)

    @app.exception_handler(ParseError)
    async def _parse_error(request: Request, exc: ParseError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.middleware("http")
    async def _timing(request: Request, call_next: Any) -> Any:
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        svc.metrics.observe(f"{request.method} {getattr(route, 'path', 'unmatched')}", response.status_code,
                            time.perf_counter() - t0)
        return response

    _service_routes(app, svc)
    _scan_routes(app, svc)
    _alert_routes(app, svc)
    _product_routes(app, svc)
    _page_routes(app, svc)
    app.add_middleware(BodySizeLimit, max_bytes=svc.config.max_body_bytes)  # outermost: before any parsing
    return app
