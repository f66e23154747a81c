"""``icecore scan ...``: simulate, run, worker, contours, coverage, calibrate."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

from .._cli import check_input_file, dec_deg, output_dir, output_file, ra_deg, require_plotting

__all__ = ["register"]

#: Run number of events made by ``icecore scan simulate`` (the event number is unique per simulation).
SIMULATION_RUN_ID = 999999

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("scan", help="sky scan of a track event: HEALPix refinement, contours, workers")
    sub = p.add_subparsers(dest="scan_command", metavar="SUBCOMMAND")

    s = sub.add_parser("simulate", help="simulate a track event and write it as JSON")
    s.add_argument("--out", required=True, type=output_file, help="output event JSON file")
    s.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    s.add_argument("--ra", type=ra_deg, default=None, help="true RA in degrees, [0, 360) (default: random)")
    s.add_argument("--dec", type=dec_deg, default=None, help="true Dec in degrees, [-90, 90] (default: random)")
    s.add_argument("--energy-tev", type=float, default=200.0, help="muon energy in TeV (default 200)")
    s.add_argument("--mjd", type=float, default=60000.0, help="event time, MJD (default 60000)")
    s.add_argument("--mismatch", action="store_true", help="simulate with the model-mismatch switch on")
    s.add_argument("--synthetic", action="store_true",
                   help="write a SYNTHETIC analytic event (known -lnL) instead of a photon-level simulation")
    s.add_argument("--run-id", type=int, default=SIMULATION_RUN_ID, help="run number written into the event")
    s.add_argument("--event-id", type=int, default=None,
                   help="event number (default: unique per simulation, from the seed and the parameters)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    s.set_defaults(func=_cmd_simulate)

    r = sub.add_parser("run", help="scan an event JSON; write skyreader npz/json, FITS, PNG and summary JSON")
    r.add_argument("event", help="event JSON (from 'icecore scan simulate' or icecore.likelihood)")
    r.add_argument("--out", required=True, type=output_dir, help="output directory (created)")
    r.add_argument("--mjd", type=float, default=None,
                   help="event time, MJD (default: the event's own; needed if the event has none)")
    r.add_argument("--amqp", default=None, help="farm pixels out to workers at this AMQP URL")
    r.add_argument("--queue", default=None, help="AMQP work queue (default icecore.scan.tasks)")
    r.add_argument("--nsides", default="8,64,512", help="nside schedule (default 8,64,512)")
    r.add_argument("--extensions", default="12,24", help="refinement disc areas in parent pixels (default 12,24)")
    r.add_argument("--threads", type=int, default=None, help="in-process threads (default: all cores)")
    r.add_argument("--catalog", default=None, help="CSV/FITS catalogue for source association")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG/PDF plots")
    r.add_argument("--overwrite", action="store_true",
                   help="replace the products of the same event already in --out")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--likelihood", choices=("exact", "fast"), default=None,
                   help="photon-likelihood evaluation of a likelihood event: 'exact' closed form or 'fast' "
                        "tables (default: the scan's default; travels to AMQP workers in the fitter spec)")
    r.add_argument("--no-polish", action="store_true",
                   help="skip the polishing pass (re-fits of pixels stuck in worse vertex minima than "
                        "their neighbours)")
    r.set_defaults(func=_cmd_run, flag_names={"time": "--mjd"})

    w = sub.add_parser("worker", help="consume scan pixels from RabbitMQ and fit them")
    w.add_argument("--amqp", required=True, help="AMQP URL, e.g. amqp://guest:guest@localhost:5672/%%2F")
    w.add_argument("--queue", default=None, help="work queue (default icecore.scan.tasks)")
    w.add_argument("--prefetch", type=int, default=2, help="unacknowledged tasks held at once (default 2)")
    w.add_argument("--threads", type=int, default=1, help="fitting threads per task (default 1)")
    w.add_argument("--max-tasks", type=int, default=None, help="stop after this many tasks")
    w.add_argument("--idle-timeout", type=float, default=None, help="stop after this many idle seconds")
    w.set_defaults(func=_cmd_worker)

    c = sub.add_parser("contours", help="areas, rectangle and contours of a skyreader npz/json result")
    c.add_argument("result", help="skyreader .npz or .json file")
    c.add_argument("--convention", action="append", default=None,
                   help="critical values: wilks, icecube-calibrated, skyreader-wilks, direct-dllh-wilks "
                        "(repeatable; default wilks and icecube-calibrated)")
    dec = c.add_mutually_exclusive_group()
    dec.add_argument("--legacy-dec", action="store_true",
                     help="the file uses old skymap_scanner pixels (Dec = theta - 90 deg)")
    dec.add_argument("--standard-dec", action="store_true",
                     help="read a file in the old layout (no header) with standard declinations")
    c.add_argument("--interpolation", choices=("quadratic", "bilinear"), default="quadratic",
                   help="surface the contours are drawn on: local quadratics on the finest level (default; exact "
                        "for a quadratic minimum) or bilinear between pixel centres (healpy; lies above a minimum)")
    c.add_argument("--catalog", default=None, help="CSV/FITS catalogue for source association")
    c.add_argument("--polygons", action="store_true", help="include contour polygons in --json output")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_cmd_contours)

    v = sub.add_parser("coverage", help="contour coverage on simulated events (with model mismatch)")
    v.add_argument("--n", type=int, default=200, help="number of events (default 200)")
    v.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    v.add_argument("--energy-tev", default="200", help="energy in TeV, or a range LO,HI (log-uniform)")
    v.add_argument("--no-mismatch", action="store_true", help="simulate with the scan's own model")
    v.add_argument("--synthetic", action="store_true", help="use the SYNTHETIC analytic model (fast check)")
    v.add_argument("--nsides", default="8,64,512", help="nside schedule (default 8,64,512)")
    v.add_argument("--extensions", default="12,24", help="refinement areas (default 12,24)")
    v.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    v.add_argument("--fitter-option", action="append", default=[], metavar="KEY=VALUE",
                   help="likelihood fitter option, e.g. n_ring=0 or max_iter=50 (repeatable)")
    v.add_argument("--out", default=None, type=output_file, help="write the report JSON here")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=_cmd_coverage)

    k = sub.add_parser("calibrate", help="per-event calibrated contour levels: resimulate the event's best fit")
    k.add_argument("event", help="event JSON (from 'icecore scan simulate' or icecore.likelihood)")
    k.add_argument("--result", default=None,
                   help="this event's scan (skyreader .npz/.json from 'scan run'): its best pixel is the "
                        "resimulation truth, and its per-event contours are reported")
    k.add_argument("--n", type=int, default=99, help="resimulations (>= 10; default 99)")
    k.add_argument("--seed", type=int, default=0, help="random seed of the resimulations (default 0)")
    k.add_argument("--energy-tev", type=float, default=None,
                   help="muon energy of the resimulations (default: estimated from the hit-DOM count)")
    k.add_argument("--no-mismatch", action="store_true",
                   help="resimulate with the likelihood's own model (default: the mismatch switch on)")
    k.add_argument("--truth", choices=("best-fit", "iterated"), default="best-fit",
                   help="where the resimulations are made: best-fit (default; levels times the tuned global "
                        "factors) or iterated (bias-corrected double bootstrap, ~4x dearer)")
    k.add_argument("--no-level-factor", action="store_true",
                   help="plain order statistics, without the tuned global factors")
    k.add_argument("--threads", type=int, default=None, help="resimulations at once (default: all cores)")
    k.add_argument("--amqp", default=None, metavar="URL",
                   help="run each resimulation as one job on the RabbitMQ scan workers at this AMQP URL "
                        "('icecore scan worker --amqp URL'; default: in-process threads)")
    k.add_argument("--queue", default=None, help="AMQP work queue with --amqp (default icecore.scan.tasks)")
    k.add_argument("--timeout", type=float, default=300.0,
                   help="with --amqp: seconds without any result before the calibration fails (default 300)")
    k.add_argument("--out", default=None, type=output_file, help="write the calibration JSON here")
    k.add_argument("--json", action="store_true", help="print JSON")
    k.set_defaults(func=_cmd_calibrate, flag_names={"url": "--amqp", "queue": "--queue", "timeout": "--timeout"})

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"argument '--{name}': expected comma-separated integers, got {text!r}") from None


def _floats(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"argument '--{name}': expected comma-separated numbers, got {text!r}") from None


def _kv(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"argument '--fitter-option': expected KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def _simulated_event_id(args: argparse.Namespace) -> int:
    """A 9-digit event number fixed by the seed and the simulation parameters (same input, same id)."""
    key = json.dumps([args.seed, args.ra, args.dec, args.energy_tev, args.mjd, args.mismatch, args.synthetic])
    return 1 + int(hashlib.sha256(key.encode()).hexdigest(), 16) % 999_999_999


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .._io import atomic_write
    from .events import event_to_json, simulate_event

    if Path(args.out).exists() and not args.overwrite:
        raise ValueError(f"--out: {args.out} exists; pass --overwrite to replace it")
    event_id = _simulated_event_id(args) if args.event_id is None else args.event_id
    ids = {} if args.synthetic else {"run_id": args.run_id, "event_id": event_id}
    ev = simulate_event(seed=args.seed, ra_deg=args.ra, dec_deg=args.dec, energy_tev=args.energy_tev,
                        mjd=args.mjd, mismatch=args.mismatch, synthetic=args.synthetic, **ids)
    if args.synthetic:
        ev.run_id, ev.event_id = args.run_id, event_id
    atomic_write(args.out, event_to_json(ev))
    print(f"wrote {args.out} (run {args.run_id}, event {event_id})")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .events import load_event, true_direction
    from .loop import scan
    from .products import write_products

    check_input_file(args.event, "EVENT")
    if not args.no_plots:
        require_plotting("the scan plots (or --no-plots)")
    if (Path(args.out) / "summary.json").exists() and not args.overwrite:  # before the (long) scan
        raise ValueError(f"--out: {args.out} already holds scan products (summary.json); "
                         "choose another --out or pass --overwrite")
    event = load_event(args.event)
    executor = None
    if args.amqp:
        from .amqp import DEFAULT_QUEUE, AMQPExecutor

        executor = AMQPExecutor(args.amqp, queue=args.queue or DEFAULT_QUEUE)
    nsides, extensions = _ints(args.nsides, "nsides"), _floats(args.extensions, "extensions")
    log.info("scanning %s on nsides %s (extensions %s), %s", args.event, nsides, extensions,
             f"workers at {args.amqp}" if args.amqp else "in process")
    result = scan(event, time=args.mjd, nsides=nsides, extensions=extensions, executor=executor, threads=args.threads,
                  likelihood=args.likelihood, polish=not args.no_polish)
    summary = write_products(result, args.out, catalog=args.catalog, plots=not args.no_plots,
                             overwrite=args.overwrite, truth=true_direction(event))
    log.info("scan done: %d fits in %.1f s; products in %s", summary.get("info", {}).get("fits", 0),
             summary.get("info", {}).get("wall_s", 0.0), args.out)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0


def _print_summary(summary: dict[str, Any]) -> None:
    b = summary["best_fit"]
    print(f"best fit: RA {b['ra_deg']:.2f} deg, Dec {b['dec_deg']:+.2f} deg (nside {b['nside']}), "
          f"-lnL {b['neg_llh']:.3f}")
    info = summary.get("info") or {}
    if info.get("pixels_per_level"):
        print(f"pixels per level: {info['pixels_per_level']}  fits: {info['fits']}  wall {info['wall_s']:.2f} s")
    for name, c in summary["contours"].items():
        conv = c["convention"]
        areas = ", ".join(f"{k}%: {v:.3f} deg2" for k, v in c["areas_deg2"].items())
        errs = conv.get("errors") or {}
        levels = ", ".join(str(round(v, 3)) + (f" +- {errs[k]:.2g}" if k in errs else "")
                           for k, v in conv["levels"].items())
        print(f"{name} ({conv['statistic']} <= {levels}): {areas}")
        r = c["rectangles"].get("90")
        if r:
            print(f"  90% rectangle: RA {r['ra_deg']:.2f} +{r['ra_plus']:.2f} -{r['ra_minus']:.2f}, "
                  f"Dec {r['dec_deg']:+.2f} +{r['dec_plus']:.2f} -{r['dec_minus']:.2f} deg")
    for a in summary.get("associations", []):
        print(f"  in 90% ({a['convention']}): {a['name']} at {a['distance_deg']:.2f} deg")
    for f in summary.get("files", []):
        print(f"wrote {f}")


def _cmd_worker(args: argparse.Namespace) -> int:
    from .amqp import DEFAULT_QUEUE, run_worker

    n = run_worker(args.amqp, queue=args.queue or DEFAULT_QUEUE, prefetch=args.prefetch, threads=args.threads,
                   max_tasks=args.max_tasks, idle_timeout=args.idle_timeout)
    print(f"processed {n} tasks", file=sys.stderr)
    return 0


def _cmd_contours(args: argparse.Namespace) -> int:
    from ..catalog import read_catalog
    from .association import associate
    from .skyreader import read

    check_input_file(args.result, "RESULT")
    conv = args.convention or ["wilks", "icecube-calibrated"]
    # an old-layout file without either flag is refused (LegacyLayoutError names the flags): a
    # silent sign flip of the declination would go straight into a circular
    convention = "scanner-legacy" if args.legacy_dec else ("standard" if args.standard_dec else None)
    result = read(Path(args.result), dec_convention=convention)
    summary = result.summary(conv, interpolation=args.interpolation)
    if args.polygons:
        for name in conv:
            cs = result.contours(name, interpolation=args.interpolation)
            summary["contours"][cs.convention.name]["polygons"] = cs.as_dict()["polygons"]
    if args.catalog:
        cat = read_catalog(args.catalog)
        summary["associations"] = [{**a, "convention": name} for name in conv
                                   for a in associate(result, cat, convention=name, interpolation=args.interpolation)]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0


def _cmd_coverage(args: argparse.Namespace) -> int:
    from .coverage import coverage_study

    e = _floats(args.energy_tev, "energy-tev")
    report = coverage_study(n_events=args.n, seed=args.seed, energy_tev=e if len(e) > 1 else e[0],
                            mismatch=not args.no_mismatch, synthetic=args.synthetic,
                            nsides=_ints(args.nsides, "nsides"), extensions=_floats(args.extensions, "extensions"),
                            threads=args.threads, fitter_options=_kv(args.fitter_option))
    if args.out:
        from .._io import atomic_write

        atomic_write(args.out, json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"coverage on {report['n_events']} events ({report['model']}):")
        for name, c in report["coverage"].items():
            parts = ", ".join(f"{k}%: {v['fraction']:.3f} +- {v['error']:.3f}" for k, v in c.items())
            print(f"  {name}: {parts}")
        cal = report.get("calibrated_levels")
        if cal:
            print(f"  calibrated critical values on 2 dLLH: {cal}")
    return 0


def _resimulation_executor(args: argparse.Namespace) -> Any:
    """The AMQP executor of ``calibrate --amqp``, connected once so that an unreachable broker fails first."""
    from ..errors import ServiceUnavailable
    from .amqp import DEFAULT_QUEUE
    from .amqp_resim import AmqpResimulationExecutor

    ex = AmqpResimulationExecutor(args.amqp, queue=args.queue or DEFAULT_QUEUE, timeout=args.timeout)
    try:
        ex.check()
    except ServiceUnavailable as exc:
        raise ServiceUnavailable(f"--amqp: RabbitMQ unreachable ({exc}); start it, or drop --amqp to run the "
                                 "resimulations in threads") from None
    return ex


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import ResimulationModel, calibrate_event
    from .events import load_event

    check_input_file(args.event, "EVENT")
    result = None
    if args.result:
        from .skyreader import read

        check_input_file(args.result, "RESULT")
        result = read(Path(args.result))
    executor = _resimulation_executor(args) if args.amqp else None  # before any work: fail fast
    event = load_event(args.event)
    model = ResimulationModel(mismatch=not args.no_mismatch, energy_tev=args.energy_tev, truth=args.truth,
                              level_factor=None if args.no_level_factor else "tuned")
    cal = calibrate_event(event, result=result, n=args.n, model=model, seed=args.seed, threads=args.threads,
                          executor=executor)
    payload: dict[str, Any] = {"calibration": cal.as_dict()}
    if result is not None:
        payload["summary"] = result.summary([cal, "wilks", "icecube-calibrated"])
    if args.out:
        from .._io import atomic_write

        atomic_write(args.out, json.dumps(payload, indent=2))
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    b = cal.best_fit.as_dict()
    print(f"resimulated {cal.n} events (dropped {cal.n_failed}) from RA {b['ra_deg']:.2f}, "
          f"Dec {b['dec_deg']:+.2f} deg, "
          f"E {b['energy_tev']:.3g} TeV, mismatch {'on' if model.mismatch else 'off'}; "
          f"{cal.cost['cpu_s']:.1f} CPU s, {cal.cost['wall_s']:.1f} s wall")
    print(str(cal))
    if result is not None:
        _print_summary(payload["summary"])
    if args.out:
        print(f"wrote {args.out}")
    return 0
