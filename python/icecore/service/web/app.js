// icecore dashboard: polls the service's JSON API and renders alerts, their follow-ups and scans.
"use strict";
let selected = null;

function fmt(x, digits) {
  if (x === null || x === undefined) return "–";
  if (typeof x !== "number") return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(digits - 1);
  return x.toFixed(digits);
}
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
async function getJSON(url) {
  const r = await fetch(url, {cache: "no-store"});
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

async function refreshAlerts() {
  const alerts = await getJSON("/api/alerts?limit=50");
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  document.getElementById("no-alerts").hidden = alerts.length > 0;
  for (const a of alerts) {
    const tr = el("tr", {"data-key": a.event_key, "class": (a.retracted ? "retracted " : "") + (a.event_key === selected ? "selected" : "")});
    tr.append(el("td", {"data-field": "name"}, a.event_name || a.event_key), el("td", {}, a.kind),
              el("td", {}, a.time.replace("T", " ").slice(0, 19)),
              el("td", {}, a.ra_deg === null ? "–" : fmt(a.ra_deg, 2) + ", " + fmt(a.dec_deg, 2)),
              el("td", {"data-field": "sigma"}, "…"),
              el("td", {"data-field": "status", "class": "status-" + a.status}, a.status));
    tr.addEventListener("click", () => { selected = a.event_key; refreshDetail(); refreshAlerts(); });
    body.append(tr);
    getJSON("/api/alerts/" + encodeURIComponent(a.event_key)).then(d => {
      const s = d.record && d.record.significance;
      tr.querySelector('[data-field="sigma"]').textContent = s ? fmt(s.sigma_post, 2) : "–";
    }).catch(() => {});
  }
}

async function refreshScans() {
  const scans = await getJSON("/api/scans?limit=20");
  const body = document.querySelector("#scans tbody");
  body.replaceChildren();
  for (const s of scans.filter(x => x.status === "running" || x.status === "queued")) {
    const m = await getJSON("/api/scans/" + s.id);
    const prog = m.progress.levels.map(l => l.nside + ": " + l.pixels).join(", ");
    const tr = el("tr", {"data-scan": s.id});
    tr.append(el("td", {}, s.id.slice(0, 8)), el("td", {}, s.run_id + " / " + s.event_id),
              el("td", {"class": "status-" + s.status}, s.status), el("td", {"data-field": "progress"}, prog));
    body.append(tr);
  }
}

function contourSVG(d) {
  // the alert's 90 % region (circle or rectangle) and the catalogue sources near it, in a tangent plane
  const ra0 = d.ra_deg, dec0 = d.dec_deg, r = d.error90_deg || 1;
  const rect = d.record.error_rect_deg;
  const ext = 2.2 * (rect ? Math.max(rect.ra_plus, rect.ra_minus, rect.dec_plus, rect.dec_minus) : r);
  const S = 260, k = S / (2 * ext), c = Math.cos(dec0 * Math.PI / 180);
  const X = ra => S / 2 - ((((ra - ra0 + 540) % 360) - 180) * c) * k, Y = dec => S / 2 - (dec - dec0) * k;
  const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", S); svg.setAttribute("height", S); svg.setAttribute("id", "contour-svg");
  const add = (tag, a) => { const e = document.createElementNS(ns, tag); for (const [n, v] of Object.entries(a)) e.setAttribute(n, v); svg.append(e); return e; };
  if (rect) add("rect", {x: X(ra0 + rect.ra_plus), y: Y(dec0 + rect.dec_plus), width: (rect.ra_plus + rect.ra_minus) * c * k,
                         height: (rect.dec_plus + rect.dec_minus) * k, fill: "#2a6fdb22", stroke: "#2a6fdb"});
  else add("circle", {cx: S / 2, cy: S / 2, r: r * k, fill: "#2a6fdb22", stroke: "#2a6fdb"});
  add("path", {d: `M${S / 2 - 6} ${S / 2}h12M${S / 2} ${S / 2 - 6}v12`, stroke: "#c00"});
  const assoc = d.products.association;
  if (assoc) for (const cat of assoc.summary.catalogues) for (const s of cat.sources) {
    const e = add("circle", {cx: X(s.ra_deg), cy: Y(s.dec_deg), r: 3, fill: s.inside ? "#d33" : "#999"});
    const t = document.createElementNS(ns, "title"); t.textContent = s.name; e.append(t);
  }
  return svg;
}

async function refreshDetail() {
  if (!selected) return;
  const d = await getJSON("/api/alerts/" + encodeURIComponent(selected));
  const sec = document.getElementById("detail");
  sec.hidden = false;
  document.getElementById("detail-title").textContent = (d.event_name || d.event_key) + (d.retracted ? " (retracted)" : "");
  const s = d.record.significance || {};
  const set = (f, v) => { sec.querySelector(`[data-field="${f}"]`).textContent = v; };
  set("status", d.status); set("revision", d.revision);
  set("position", d.ra_deg === null ? "–" : fmt(d.ra_deg, 3) + ", " + fmt(d.dec_deg, 3));
  set("error90_deg", fmt(d.error90_deg, 3)); set("far_per_year", fmt(d.record.far_per_year, 4));
  set("p_pre", fmt(s.p_pre, 4)); set("p_post", fmt(s.p_post, 4)); set("sigma_post", fmt(s.sigma_post, 3));
  const plan = document.getElementById("plan");
  plan.replaceChildren(...d.plan.map(p => el("li", {"data-step": p.step, "class": "status-" + p.status}, p.step + ": " + p.status)));
  const contour = document.getElementById("contour");
  const scan = d.products.scan;
  const png = scan && scan.metadata.files.find(f => f.name.endsWith(".zoom.png"));
  if (png) contour.replaceChildren(el("img", {src: "/api/products/" + scan.id + "/files/" + png.name, alt: "scan contour"}));
  else if (d.ra_deg !== null) contour.replaceChildren(contourSVG(d));
  else contour.replaceChildren(el("span", {"class": "muted"}, "no position"));
  const tb = document.querySelector("#association tbody");
  tb.replaceChildren();
  const assoc = d.products.association;
  if (assoc) for (const cat of assoc.summary.catalogues) for (const src of cat.sources) {
    const tr = el("tr", {"data-source": src.name});
    tr.append(el("td", {}, cat.catalogue), el("td", {}, src.name), el("td", {"data-field": "separation"}, fmt(src.separation_deg, 3)),
              el("td", {}, src.inside ? "yes" : "no"), el("td", {"data-field": "chance"}, fmt(cat.chance_probability, 3)));
    tb.append(tr);
  }
  const pb = document.querySelector("#ps tbody");
  pb.replaceChildren();
  const ps = d.products.ps_followup;
  if (ps) for (const w of ps.summary.windows) {
    const tr = el("tr", {"data-window": w.window_s.join(",")});
    tr.append(el("td", {}, w.window_s.join(" … ")), el("td", {}, w.n_events), el("td", {}, fmt(w.n_expected_background, 3)),
              el("td", {}, fmt(w.ts, 3)), el("td", {}, w.status === "ok" ? fmt(w.p_value, 3) : w.status));
    pb.append(tr);
  }
  renderLvk(d);
}

function renderLvk(d) {
  const sec = document.getElementById("lvk");
  const p = d.products.lvk_followup;
  sec.hidden = !p;
  if (!p) return;
  const s = p.summary;
  const set = (f, v) => { sec.querySelector(`[data-field="${f}"]`).textContent = v; };
  set("lvk_n_events", s.n_events_window === undefined ? "–" : s.n_events_window);
  set("lvk_p_generic", fmt(s.generic ? s.generic.pval : null, 4));
  set("lvk_p_bayesian", fmt(s.bayesian ? s.bayesian.pval : null, 4));
  set("lvk_odds", fmt(s.bayesian ? s.bayesian.odds_ratio : null, 4));
  set("lvk_area90", fmt(s.area90_deg2, 1));
  const files = document.getElementById("lvk-files");
  files.replaceChildren(...p.metadata.files.filter(f => !f.name.endsWith(".png")).map(f =>
    el("a", {href: "/api/products/" + p.id + "/files/" + f.name, "data-file": f.name, style: "margin-right:1em"}, f.name)));
  const png = p.metadata.files.find(f => f.name.endsWith(".png"));
  const plot = document.getElementById("lvk-plot");
  if (png) plot.replaceChildren(el("img", {src: "/api/products/" + p.id + "/files/" + png.name, alt: "LVK sky map", width: 480}));
  else plot.replaceChildren();
}

async function tick() {
  try {
    const h = await getJSON("/api/health");
    document.getElementById("health").textContent = h.status + " · " + h.database_dialect + " · v" + h.version;
    await refreshAlerts(); await refreshScans(); await refreshDetail();
  } catch (e) { document.getElementById("health").textContent = "offline (" + e.message + ")"; }
}
tick();
setInterval(tick, 1000);
