"""The IceCube ``lvk_nu_track_search`` notice (GCN Kafka JSON) and a circular-style text."""

from __future__ import annotations

from typing import Any

from astropy.time import Time

__all__ = ["SCHEMA_URL", "build_notice", "notice_text"]

SCHEMA_URL = "https://gcn.nasa.gov/schema/main/gcn/notices/icecube/lvk_nu_track_search.schema.json"


def _iso(mjd: float) -> str:
    return Time(mjd, format="mjd", scale="utc").isot[:23] + "Z"


def _r(x: float, nd: int = 4) -> float:
    return float(f"{x:.{nd}g}")


def build_notice(result: Any) -> dict[str, Any]:
    """The notice dict of a :class:`~icecore.lvk.followup.FollowupResult` (schema-valid)."""
    a = result.alert
    half = result.duration_s / 2.0 / 86400.0
    revision = a.revision if a.revision is not None else 1
    ref = f"{a.superevent_id}-{revision}-{a.alert_type.capitalize()}"
    evs = []
    for e in result.coincident_events:
        evs.append({
            "event_dt": round(float(e["dt_s"]), 2),
            "localization": {
                "ra": round(float(e["ra_deg"]), 2), "dec": round(float(e["dec_deg"]), 2),
                "ra_dec_error": round(float(e["error90_deg"]), 2), "containment_probability": 0.9,
                "systematic_included": False,
            },
            "id": [f"{int(e['run_id'])}_{int(e['event_id'])}"],
            "event_pval_generic": None if e["pval_generic"] is None else _r(e["pval_generic"]),
            "event_pval_bayesian": None if e["pval_bayesian"] is None else _r(e["pval_bayesian"]),
        })
    notice: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "type": "IceCube LVK Alert Nu Track Search",
        "reference": {"gcn.notices.LVK.alert": ref},
        "ref_ID": a.superevent_id,
        "alert_datetime": _iso(result.created_mjd),
        "trigger_time": _iso(a.time_mjd),
        "observation_start": _iso(a.time_mjd - half),
        "observation_stop": _iso(a.time_mjd + half),
        "observation_livetime": result.duration_s,
        "pval_generic": _r(result.pval_generic),
        "pval_bayesian": _r(result.pval_bayesian),
        "n_events_coincident": len(evs),
        "coincident_events": evs,
        "neutrino_flux_sensitivity_range": {
            "flux_sensitivity": [_r(x) for x in result.upper_limits["flux_sensitivity"]],
            "sensitive_energy_range": [_r(x, 3) for x in result.upper_limits["sensitive_energy_range"]],
        },
    }
    if evs:
        notice["most_probable_direction"] = {"ra": round(result.best_ra_deg, 2), "dec": round(result.best_dec_deg, 2)}
    return notice


def notice_text(result: Any) -> str:
    """A circular-style plain-text summary."""
    a = result.alert
    lines = [
        f"LIGO/Virgo/KAGRA {a.superevent_id}: IceCube neutrino track search (icecore)",
        "",
        f"Searched the track events in [t_GW - {result.duration_s / 2:.0f} s, t_GW + {result.duration_s / 2:.0f} s] "
        f"around t_GW = {a.time_iso}, over the GW sky map ({result.area90_deg2:.1f} deg^2 at 90 % credibility), "
        "with two searches: the generic unbinned maximum-likelihood search with the GW map as spatial prior and "
        "the Bayesian odds-ratio (LLAMA-style) search.",
        "",
        f"{result.n_events_window} event(s) in the window, {len(result.coincident_events)} coincident with the 90 % "
        f"region (expected background in the window: {result.mean_background:.2f}).",
        f"Generic search: TS = {result.ts:.2f}, ns = {result.ns:.2f}, pre-trial p-value = {result.pval_generic:.4g} "
        f"({result.n_trials} background trials).",
        f"Bayesian search: odds ratio = {result.odds:.3g}, p-value = {result.pval_bayesian:.4g}.",
    ]
    for e in result.coincident_events:
        lines.append(
            f"  event {int(e['run_id'])}_{int(e['event_id'])}: dt = {e['dt_s']:+.2f} s, RA = {e['ra_deg']:.2f}, "
            f"Dec = {e['dec_deg']:.2f} deg, 90 % error {e['error90_deg']:.2f} deg, p_generic = "
            f"{_fmt(e['pval_generic'])}, p_bayesian = {_fmt(e['pval_bayesian'])}")
    if result.coincident_events:
        lines.append(f"Most probable direction: RA = {result.best_ra_deg:.2f}, Dec = {result.best_dec_deg:.2f} deg.")
    fs = result.upper_limits["flux_sensitivity"]
    er = result.upper_limits["sensitive_energy_range"]
    lines += [
        f"90 % upper limits on the time-integrated E^2 dN/dE (E^-2) over the 90 % region: {fs[0]:.3g} - {fs[1]:.3g} "
        f"GeV cm^-2, for neutrino energies {er[0]:.3g} - {er[1]:.3g} GeV (5-95 %).",
    ]
    return "\n".join(lines) + "\n"


def _fmt(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.3g}"
