"""The resimulation job of the RabbitMQ protocol, and its validation (no I/O here).

A per-event calibration (:func:`icecore.scan.calibration.calibrate_event`) runs each resimulation
as one job; with :class:`~.amqp_resim.AmqpResimulationExecutor` a job is one message on the scan's
work queue, next to the pixel tasks of :mod:`.amqp_protocol` (whose layout is unchanged), and
the same ``icecore scan worker`` processes run both.

Messages (JSON objects, protocol version ``v`` = :data:`RESIM_PROTOCOL_VERSION`)
--------------------------------------------------------------------------------
- resimulation (executor -> work queue): ``type="resimulation"``; the header of a pixel task
  (``scan_id``: the id of one ``map`` call of the executor; ``round``: 1; ``chunk``: the job's
  index in that call; ``nonce``: fresh per publication), so workers refuse and dead-letter it with
  the same code; ``kind`` (``"photon"``: an :class:`icecore.likelihood.Event`, ``"synthetic"``: a
  :class:`~.synthetic.SyntheticEvent`), ``best`` (the resimulation truth, :class:`BestFit` fields:
  local zenith/azimuth in degrees, vertex x, y, z in m and t in ns, MJD, energy in TeV),
  ``model`` (the :class:`ResimulationModel` fields the job uses: everything but
  ``level_factor``, which only scales the order statistics afterwards), ``seed``
  (``entropy``, ``spawn_key``, ``pool_size`` of the job's ``numpy.random.SeedSequence`` child)
  and ``refit`` (also return the resimulation's own best fit and energy estimate, for the
  iterated bootstrap).
- resimulation_result (worker -> executor): the header echoed, ``two_dllh`` (a number >= 0, or
  null: the resimulation was dropped), ``fits``, optional ``error`` (why it was dropped), optional
  ``fit`` (a ``best`` object), ``worker``, ``redelivered``.
- task_error (worker -> executor): as for pixel tasks.

The event itself does not travel: a resimulation needs only the kind of the event, its best fit
and the model (:func:`icecore.scan.calibration._one_resimulation`). Floats travel as JSON numbers
(shortest round-trip repr) and the seed as its integers, so a worker computes exactly what the
in-process thread pool computes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .amqp_protocol import _INT32_MAX, ProtocolError, _ident, _int, clean_worker_id, decode
from .calibration import BestFit, ResimulationModel

__all__ = [
    "RESIM_PROTOCOL_VERSION",
    "RESIM_KINDS",
    "ResimulationJob",
    "model_to_json",
    "best_to_json",
    "seed_to_json",
    "job_body",
    "parse_job",
    "result_body",
    "parse_job_result",
]

RESIM_PROTOCOL_VERSION = 1
#: Event kinds a worker can resimulate.
RESIM_KINDS = ("photon", "synthetic")
#: Bounds a worker accepts (a job outside them is refused, not run for hours).
MAX_STEPS = 1000
MAX_NSIDE = 2**13
MAX_ENERGY_TEV = 1e6
_MODEL_KEYS = ("mismatch", "energy_tev", "fitter_options", "simulate_options", "nside", "max_steps", "minimum",
               "energy_log_sigma", "truth")
_U64 = 2**64


class ResimulationJob:
    """A checked resimulation message: its header and the arguments of one ``_one_resimulation``."""

    __slots__ = ("scan_id", "round", "chunk", "nonce", "kind", "best", "model", "seed", "refit")

    def __init__(self, scan_id: str, rnd: int, chunk: int, nonce: str, kind: str, best: BestFit,
                 model: ResimulationModel, seed: np.random.SeedSequence, refit: bool) -> None:
        self.scan_id, self.round, self.chunk, self.nonce = scan_id, rnd, chunk, nonce
        self.kind, self.best, self.model, self.seed, self.refit = kind, best, model, seed, refit


# ---- encoding (executor side) -----------------------------------------------------------------
def _plain(x: Any) -> Any:
    """Tuples as lists (what JSON gives back), to compare a value with its JSON round trip."""
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _json_option(value: Any, name: str) -> dict[str, Any]:
    d = dict(value or {})
    try:
        back = json.loads(json.dumps(d, allow_nan=False))
    except (TypeError, ValueError):
        back = None
    if back != _plain(d):
        raise ProtocolError(f"model.{name} must be JSON (string keys, finite numbers, lists, objects) "
                            "to go to remote workers")
    return back


def model_to_json(model: ResimulationModel) -> dict[str, Any]:
    """The fields of ``model`` a job needs; ProtocolError if options cannot travel as JSON."""
    return {"mismatch": bool(model.mismatch),
            "energy_tev": None if model.energy_tev is None else float(model.energy_tev),
            "fitter_options": _json_option(model.fitter_options, "fitter_options"),
            "simulate_options": _json_option(model.simulate_options, "simulate_options"),
            "nside": int(model.nside), "max_steps": int(model.max_steps), "minimum": str(model.minimum),
            "energy_log_sigma": float(model.energy_log_sigma), "truth": str(model.truth)}


def best_to_json(best: BestFit) -> dict[str, Any]:
    return {"zenith_deg": float(best.zenith_deg), "azimuth_deg": float(best.azimuth_deg),
            "vertex": [float(v) for v in best.vertex], "mjd": float(best.mjd),
            "energy_tev": None if best.energy_tev is None else float(best.energy_tev)}


def seed_to_json(seed: np.random.SeedSequence) -> dict[str, Any]:
    ent: Any = seed.entropy
    if ent is None:
        raise ProtocolError("seed without entropy")
    return {"entropy": [int(e) for e in ent] if isinstance(ent, (list, tuple, np.ndarray)) else int(ent),
            "spawn_key": [int(k) for k in seed.spawn_key], "pool_size": int(seed.pool_size)}


def job_body(scan_id: str, chunk: int, nonce: str, kind: str, best: BestFit, model: dict[str, Any],
             seed: np.random.SeedSequence, refit: bool) -> str:
    """The JSON body of one job (``model`` already encoded by :func:`model_to_json`)."""
    return json.dumps({"type": "resimulation", "v": RESIM_PROTOCOL_VERSION, "scan_id": scan_id, "round": 1,
                       "chunk": int(chunk), "nonce": nonce, "kind": kind, "best": best_to_json(best),
                       "model": model, "seed": seed_to_json(seed), "refit": bool(refit)})


# ---- parsing (worker side) --------------------------------------------------------------------
def _finite(v: Any, key: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if type(v) is not float and type(v) is not int:
        raise ProtocolError(f"'{key}' must be a number, got {type(v).__name__}")
    try:
        x = float(v)
    except OverflowError:
        raise ProtocolError(f"'{key}' is beyond float range") from None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise ProtocolError(f"'{key}' = {str(v)[:32]} must be finite and within [{lo:g}, {hi:g}]")
    return x


def _uint(v: Any, key: str, hi: int) -> int:
    if type(v) is not int or not 0 <= v < hi:
        raise ProtocolError(f"'{key}' holds {str(v)[:40]!r}, not an integer in [0, {hi})")
    return v


def parse_best(d: Any, key: str = "best") -> BestFit:
    """A ``best`` object as a :class:`BestFit` (finite angles, vertex, MJD; energy > 0 or null)."""
    if not isinstance(d, dict):
        raise ProtocolError(f"'{key}' must be an object")
    zen = _finite(d.get("zenith_deg"), f"{key}.zenith_deg", 0.0, 180.0)
    azi = _finite(d.get("azimuth_deg"), f"{key}.azimuth_deg", -720.0, 720.0)
    v = d.get("vertex")
    if not isinstance(v, list) or len(v) != 4:
        raise ProtocolError(f"'{key}.vertex' must be a list of 4 numbers (x, y, z in m, t in ns)")
    vertex = tuple(_finite(x, f"{key}.vertex") for x in v)
    mjd = _finite(d.get("mjd"), f"{key}.mjd", 0.0, 1e6)
    e = d.get("energy_tev")
    energy = None if e is None else _finite(e, f"{key}.energy_tev", 0.0, MAX_ENERGY_TEV)
    if energy is not None and energy <= 0:
        raise ProtocolError(f"'{key}.energy_tev' must be > 0")
    return BestFit(zen, azi, (vertex[0], vertex[1], vertex[2], vertex[3]), mjd, energy)


def _parse_model(d: Any) -> ResimulationModel:
    if not isinstance(d, dict) or set(d) != set(_MODEL_KEYS):
        raise ProtocolError(f"'model' must be an object with exactly the keys {', '.join(_MODEL_KEYS)}")
    if type(d["mismatch"]) is not bool:
        raise ProtocolError("'model.mismatch' must be true or false")
    for k in ("fitter_options", "simulate_options"):
        if not isinstance(d[k], dict):
            raise ProtocolError(f"'model.{k}' must be an object")
    for k in ("minimum", "truth"):
        if not isinstance(d[k], str) or len(d[k]) > 32:
            raise ProtocolError(f"'model.{k}' must be a short string")
    nside = _uint(d["nside"], "model.nside", MAX_NSIDE + 1)
    steps = _uint(d["max_steps"], "model.max_steps", MAX_STEPS + 1)
    sigma = _finite(d["energy_log_sigma"], "model.energy_log_sigma", 0.0, 10.0)
    e = d["energy_tev"]
    energy = None if e is None else _finite(e, "model.energy_tev", 0.0, MAX_ENERGY_TEV)
    try:
        return ResimulationModel(mismatch=d["mismatch"], energy_tev=energy, fitter_options=d["fitter_options"],
                                 simulate_options=d["simulate_options"], nside=nside, max_steps=steps,
                                 minimum=d["minimum"], energy_log_sigma=sigma, truth=d["truth"])
    except ValueError as exc:  # ResimulationModel's own checks (InputError)
        raise ProtocolError(f"'model': {exc}") from None


def _parse_seed(d: Any) -> np.random.SeedSequence:
    if not isinstance(d, dict):
        raise ProtocolError("'seed' must be an object (entropy, spawn_key, pool_size)")
    ent = d.get("entropy")
    if isinstance(ent, list):
        if not 1 <= len(ent) <= 16:
            raise ProtocolError("'seed.entropy' must hold 1 to 16 integers")
        entropy: Any = [_uint(x, "seed.entropy", 2**128) for x in ent]
    else:
        entropy = _uint(ent, "seed.entropy", 2**256)
    key = d.get("spawn_key")
    if not isinstance(key, list) or len(key) > 8:
        raise ProtocolError("'seed.spawn_key' must be a list of at most 8 integers")
    pool = d.get("pool_size")
    if pool != 4:
        raise ProtocolError(f"'seed.pool_size' = {str(pool)[:16]}, expected 4")
    return np.random.SeedSequence(entropy, spawn_key=tuple(_uint(k, "seed.spawn_key", _U64) for k in key))


def parse_job(body: Any) -> ResimulationJob:
    """A resimulation body as a :class:`ResimulationJob`; ProtocolError (with the reason) otherwise."""
    msg = decode(body)
    if msg.get("type") != "resimulation":
        raise ProtocolError(f"type {str(msg.get('type'))[:32]!r}, expected 'resimulation'")
    if msg.get("v") != RESIM_PROTOCOL_VERSION:
        raise ProtocolError(f"resimulation protocol version {str(msg.get('v'))[:16]!r}, "
                            f"expected {RESIM_PROTOCOL_VERSION}")
    head = (_ident(msg, "scan_id"), _int(msg, "round", 1, _INT32_MAX), _int(msg, "chunk", 0, _INT32_MAX),
            _ident(msg, "nonce"))
    kind = msg.get("kind")
    if kind not in RESIM_KINDS:
        raise ProtocolError(f"'kind' {str(kind)[:32]!r} is not one of {RESIM_KINDS}")
    best = parse_best(msg.get("best"))
    if best.energy_tev is None:
        raise ProtocolError("'best.energy_tev' is needed by a resimulation")
    refit = msg.get("refit")
    if type(refit) is not bool:
        raise ProtocolError("'refit' must be true or false")
    return ResimulationJob(head[0], head[1], head[2], head[3], kind, best, _parse_model(msg.get("model")),
                           _parse_seed(msg.get("seed")), refit)


# ---- results ------------------------------------------------------------------------------------
def result_body(job: ResimulationJob, out: dict[str, Any], worker: str, redelivered: bool) -> str:
    """The JSON reply of a worker for ``job`` whose ``_one_resimulation`` returned ``out``."""
    stat = float(out["two_dllh"])
    reply: dict[str, Any] = {"type": "resimulation_result", "scan_id": job.scan_id, "round": job.round,
                             "chunk": job.chunk, "nonce": job.nonce,
                             "two_dllh": stat if math.isfinite(stat) else None, "fits": int(out["fits"]),
                             "worker": worker, "redelivered": bool(redelivered)}
    if "error" in out:
        reply["error"] = str(out["error"])[:1000]
    if "fit" in out:
        reply["fit"] = best_to_json(out["fit"])
    return json.dumps(reply, allow_nan=False)


def parse_job_result(msg: dict[str, Any]) -> tuple[dict[str, Any], str, bool]:
    """A decoded result (header checked by the caller) as ``_one_resimulation``'s dict, worker, redelivered."""
    stat = msg.get("two_dllh")
    out: dict[str, Any] = {"two_dllh": float("nan") if stat is None else _finite(stat, "two_dllh", 0.0),
                           "fits": _uint(msg.get("fits"), "fits", 2**31)}
    if "error" in msg:
        if not isinstance(msg["error"], str):
            raise ProtocolError("'error' must be a string")
        out["error"] = msg["error"][:1000]
    if "fit" in msg:
        out["fit"] = parse_best(msg["fit"], "fit")
    return out, clean_worker_id(msg.get("worker")), msg.get("redelivered") is True
