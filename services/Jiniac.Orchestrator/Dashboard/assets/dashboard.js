// The Jiniac dashboard: plain script, SVG charts drawn here, data from /api/dashboard (the grains and the journal).
// Live: the run view is polled, the journal is read on from a cursor, so each poll brings only new entries.
"use strict";

const API = "../api/dashboard";
const SVG = "http://www.w3.org/2000/svg";
const KEY = new URLSearchParams(location.search).get("key"); // an API key given in the page's URL goes along to the API
const STATUS_COLORS = {
  Pending: "#dee2e6", Preparing: "#74c0fc", Ready: "#a5d8ff", Training: "#ffa94d", Evaluating: "#b197fc",
  Gated: "#ffe066", Publishing: "#9775fa", Completed: "#69db7c", Failed: "#ff6b6b", Cancelled: "#adb5bd",
};

let current = null; // { runId, view, cursor, entries: [], timer }

function url(path) {
  const u = API + path;
  return KEY ? u + (u.includes("?") ? "&" : "?") + "key=" + encodeURIComponent(KEY) : u;
}

async function getJson(path) {
  const response = await fetch(url(path), { cache: "no-store" });
  if (!response.ok) throw new Error(path + ": " + response.status + " " + (await response.text()));
  return response.json();
}

function el(tag, attrs, ...children) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function num(v) { return typeof v === "number" ? v : Number(v); }
function fmt(v, digits = 3) {
  v = num(v);
  if (!isFinite(v)) return "–";
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (Math.abs(v) >= 1000) return String(Math.round(v));
  return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
}
function time(t) { return new Date(t).toLocaleString(); }
function setLive(ok) { document.getElementById("live").className = ok ? "live" : "live stale"; }

// ---- routing ----
function route() {
  const m = location.hash.match(/^#\/run\/([^/]+)$/);
  if (current && current.timer) clearTimeout(current.timer);
  current = null;
  document.getElementById("runs-view").hidden = !!m;
  document.getElementById("run-view").hidden = !m;
  if (m) openRun(decodeURIComponent(m[1])); else pollRuns();
}
window.addEventListener("hashchange", route);

// ---- runs list ----
let runsTimer = null;
async function pollRuns() {
  clearTimeout(runsTimer);
  if (location.hash.startsWith("#/run/")) return;
  try {
    renderRuns(await getJson("/runs"));
    setLive(true);
  } catch (e) {
    setLive(false);
  }
  document.body.dataset.ready = "runs";
  runsTimer = setTimeout(pollRuns, 2000);
}

function renderRuns(runs) {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...runs.map(r => el("tr", { "data-run": r.runId },
    el("td", {}, el("a", { href: "#/run/" + encodeURIComponent(r.runId) }, r.name === r.runId ? r.runId : r.runId + " (" + r.name + ")")),
    el("td", {}, el("span", { class: "badge s-" + r.status }, r.status)),
    el("td", {}, r.currentStage),
    el("td", {}, ...r.stages.map(s => el("span", { class: "badge s-" + s.status, title: s.status + " " + s.step + "/" + s.totalSteps }, s.name)).flatMap(x => [x, " "])),
    el("td", {}, time(r.updated)))));
}

// ---- one run ----
async function openRun(runId) {
  current = { runId, view: null, cursor: 0, entries: [], timer: null };
  await pollRun(current);
}

async function pollRun(state) {
  if (current !== state) return;
  try {
    state.view = await getJson("/runs/" + encodeURIComponent(state.runId));
    // Read the journal on until caught up (a page of entries per request).
    for (;;) {
      const page = await getJson("/runs/" + encodeURIComponent(state.runId) + "/journal?from=" + state.cursor);
      state.entries.push(...page.entries);
      const more = page.next > state.cursor && page.entries.length > 0;
      state.cursor = page.next;
      if (!more || page.entries.length < 500) break;
    }
    if (current !== state) return;
    renderRun(state);
    setLive(true);
    document.body.dataset.ready = "run";
    document.body.dataset.cursor = String(state.cursor);
  } catch (e) {
    setLive(false);
    document.getElementById("run-reason").textContent = String(e.message || e);
  }
  const terminal = state.view && ["Completed", "Failed", "Cancelled"].includes(state.view.status);
  state.timer = setTimeout(() => pollRun(state), terminal ? 5000 : 1000);
}

function renderRun(state) {
  const v = state.view;
  document.getElementById("run-name").textContent = v.runId;
  const badge = document.getElementById("run-status");
  badge.textContent = v.status;
  badge.className = "badge s-" + v.status;
  document.getElementById("run-reason").textContent = v.reason || "";
  renderTimeline(v, state.entries);
  renderStages(v, state.entries);
  renderEvaluations(v);
  renderCheckpoints(v);
  renderAlerts(state.entries);
}

// The stage timeline: one row per stage, a bar segment per status it was in, from the journal's StageStatusChanged.
function renderTimeline(v, entries) {
  const svg = document.getElementById("timeline");
  const changes = entries.filter(e => e.type === "StageStatusChanged");
  const width = 1200, row = 26, left = 90, right = 10, top = 8, axis = 20;
  const height = top + v.stages.length * row + axis;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", height);
  const nodes = [];
  const t0 = changes.length ? changes[0].t : Date.now();
  const lastT = entries.length ? entries[entries.length - 1].t : t0;
  const terminal = ["Completed", "Failed", "Cancelled"].includes(v.status);
  const t1 = Math.max(terminal ? lastT : Date.now(), t0 + 1000);
  const x = t => left + (t - t0) / (t1 - t0) * (width - left - right);
  v.stages.forEach((s, i) => {
    const y = top + i * row;
    nodes.push(el("svg:text", { x: 4, y: y + 16 }, s.name));
    const mine = changes.filter(c => c.stage === s.name);
    mine.forEach((c, j) => {
      const end = j + 1 < mine.length ? mine[j + 1].t : t1;
      const w = Math.max(1, x(end) - x(c.t));
      nodes.push(el("svg:rect", { class: "segment", "data-stage": s.name, "data-status": c.to, x: x(c.t).toFixed(1), y: y + 3, width: w.toFixed(1), height: row - 8, fill: STATUS_COLORS[c.to] || "#ced4da" },
        el("svg:title", {}, `${s.name}: ${c.to} (attempt ${c.attempt}) from ${time(c.t)}${c.reason ? " — " + c.reason : ""}`)));
    });
  });
  const yAxis = top + v.stages.length * row;
  nodes.push(el("svg:line", { class: "axis", x1: left, x2: width - right, y1: yAxis, y2: yAxis }));
  nodes.push(el("svg:text", { x: left, y: yAxis + 14 }, time(t0)));
  nodes.push(el("svg:text", { x: width - right, y: yAxis + 14, "text-anchor": "end" }, time(t1)));
  svg.replaceChildren(...nodes);
  const legend = document.getElementById("legend");
  if (!legend.childElementCount) {
    legend.replaceChildren(...Object.entries(STATUS_COLORS).map(([k, c]) => el("span", {}, el("i", { style: "background:" + c }), k)));
  }
}

function renderStages(v, entries) {
  const host = document.getElementById("stages");
  const cards = v.stages.map(s => {
    const progress = entries.filter(e => e.type === "TrainingProgressed" && e.stage === s.name);
    const alerts = entries.filter(e => e.type === "AlertRaised" && e.stage === s.name && e.step !== undefined);
    const rollbacks = alerts.filter(a => a.kind === "rolled-back");
    const others = alerts.filter(a => a.kind !== "rolled-back");
    const segments = split(progress, rollbacks);
    const card = el("div", { class: "stage-card", "data-stage": s.name },
      el("h3", {}, s.name + " ", el("span", { class: "badge s-" + s.status }, s.status), s.attempt > 1 ? ` attempt ${s.attempt}` : ""),
      el("div", { class: "facts" },
        `step ${s.step}/${s.totalSteps} · tokens ${fmt(s.tokensTrained)}/${fmt(s.tokenBudget)} · loss ${fmt(s.loss)} · ${fmt(s.tokensPerSecond)} tok/s · shards ${s.shardsTokenized}/${s.shardsTotal}` +
        (s.shardsFailed ? ` (${s.shardsFailed} failed)` : "") + ` · records ${fmt(s.recordsOut)} kept of ${fmt(s.recordsIn)} (${s.duplicates} dup, ${s.quarantined} quarantined)` +
        (s.reason ? " · " + s.reason : "")),
      el("div", { class: "charts" },
        chart("loss", s.name, "loss", segments.map(seg => seg.map(p => [num(p.step), num(p.loss)])), "series-loss", others, rollbacks),
        chart("tps", s.name, "tokens/s", segments.map(seg => seg.map(p => [num(p.step), num(p.tokensPerSecond)])), "series-tps", others, rollbacks)));
    return card;
  });
  host.replaceChildren(...cards);
  // Where each chart landed on the page, for tools that look at a screenshot of it.
  for (const svg of host.querySelectorAll("svg.chart")) {
    const r = svg.getBoundingClientRect();
    svg.dataset.rect = [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round).join(",");
  }
}

// One segment per attempt and per rollback within it (those steps are trained again), each in step order:
// events of one stage may reach the journal slightly out of order, a rollback or a new attempt never does.
function split(progress, rollbacks) {
  const segments = new Map();
  for (const p of progress) {
    const epoch = rollbacks.filter(r => r.seq < p.seq && (r.attempt === undefined || r.attempt === p.attempt)).length;
    const key = p.attempt + ":" + epoch;
    if (!segments.has(key)) segments.set(key, new Map());
    segments.get(key).set(num(p.step), p); // a step reported twice (a resumed trainer) counts once, the later report
  }
  return [...segments.values()].map(seg => [...seg.values()].sort((a, b) => num(a.step) - num(b.step)));
}

// A line chart of segments (the last drawn solid, earlier ones faded), with alert triangles and rollback lines at their steps.
function chart(kind, stage, label, segments, cls, alerts, rollbacks) {
  const W = 560, H = 220, L = 58, R = 12, T = 12, B = 30;
  const pw = W - L - R, ph = H - T - B;
  const svg = el("svg:svg", { class: "chart " + kind, id: `${kind}-${stage}`, "data-stage": stage, width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const pts = segments.flat().filter(([x, y]) => isFinite(x) && isFinite(y));
  svg.append(el("svg:text", { x: L, y: T - 1 }, ""));
  if (!pts.length) {
    svg.dataset.points = "0";
    svg.append(el("svg:rect", { class: "axis", x: L, y: T, width: pw, height: ph, fill: "none" }),
      el("svg:text", { class: "empty", x: L + pw / 2, y: T + ph / 2, "text-anchor": "middle" }, "no " + label + " reported yet"));
    return svg;
  }
  let xmin = Math.min(...pts.map(p => p[0])), xmax = Math.max(...pts.map(p => p[0]));
  let ymin = Math.min(...pts.map(p => p[1])), ymax = Math.max(...pts.map(p => p[1]));
  if (xmax === xmin) xmax = xmin + 1;
  const yTop = ymax === ymin ? ymax + 1 : ymax, yBottom = ymax === ymin ? ymin - 1 : ymin;
  const sx = x => L + (x - xmin) / (xmax - xmin) * pw;
  const sy = y => T + (yTop - y) / (yTop - yBottom) * ph;
  Object.assign(svg.dataset, {
    points: String(pts.length), xMin: String(xmin), xMax: String(xmax), yMin: String(ymin), yMax: String(ymax),
    yTop: String(yTop), yBottom: String(yBottom), plotLeft: String(L), plotTop: String(T), plotWidth: String(pw), plotHeight: String(ph),
  });
  for (let i = 0; i <= 4; i++) {
    const y = T + i * ph / 4, v = yTop - i * (yTop - yBottom) / 4;
    svg.append(el("svg:line", { class: "grid", x1: L, x2: L + pw, y1: y, y2: y }), el("svg:text", { x: L - 4, y: y + 4, "text-anchor": "end" }, fmt(v)));
  }
  svg.append(el("svg:line", { class: "axis", x1: L, x2: L, y1: T, y2: T + ph }), el("svg:line", { class: "axis", x1: L, x2: L + pw, y1: T + ph, y2: T + ph }),
    el("svg:text", { x: L, y: H - 8 }, "step " + fmt(xmin)), el("svg:text", { x: L + pw, y: H - 8, "text-anchor": "end" }, "step " + fmt(xmax)),
    el("svg:text", { x: L + pw / 2, y: H - 8, "text-anchor": "middle" }, label));
  segments.forEach((seg, i) => {
    const good = seg.filter(([x, y]) => isFinite(x) && isFinite(y));
    if (!good.length) return;
    const points = good.map(([x, y]) => sx(x).toFixed(2) + "," + sy(y).toFixed(2)).join(" ");
    svg.append(el("svg:polyline", { class: "series " + cls + (i < segments.length - 1 ? " superseded" : ""), "data-segment": i, points }));
  });
  for (const r of rollbacks) {
    const x = sx(Math.min(Math.max(num(r.step), xmin), xmax));
    svg.append(el("svg:line", { class: "rollback-mark", "data-step": r.step, x1: x, x2: x, y1: T, y2: T + ph }, el("svg:title", {}, "rolled back to step " + r.step + ": " + r.message)));
  }
  for (const a of alerts) {
    const x = sx(Math.min(Math.max(num(a.step), xmin), xmax));
    svg.append(el("svg:path", { class: "alert-mark", "data-kind": a.kind, "data-step": a.step, d: `M${x - 5},${T} L${x + 5},${T} L${x},${T + 8} Z` }, el("svg:title", {}, `${a.severity} ${a.kind} at step ${a.step}: ${a.message}`)));
  }
  return svg;
}

function renderEvaluations(v) {
  const rows = [];
  const domains = new Set(), metrics = new Set();
  for (const s of v.stages) {
    for (const e of s.evaluations) {
      e.results.forEach(r => domains.add(r.domain));
      (e.metrics || []).forEach(m => { if (!/^(perplexity|bits_per_byte|loss)\//.test(m.name)) metrics.add(m.name); });
      rows.push([s, e]);
    }
  }
  const dl = [...domains].sort(), ml = [...metrics].sort();
  const head = document.querySelector("#evaluations thead");
  head.replaceChildren(el("tr", {}, el("th", {}, "stage"), el("th", {}, "step"),
    ...dl.map(d => el("th", {}, "ppl " + d)), ...dl.map(d => el("th", {}, "bpb " + d)), ...ml.map(m => el("th", {}, m))));
  document.querySelector("#evaluations tbody").replaceChildren(...rows.map(([s, e]) => {
    const by = Object.fromEntries(e.results.map(r => [r.domain, r]));
    const mv = Object.fromEntries((e.metrics || []).map(m => [m.name, m.value]));
    return el("tr", { "data-stage": s.name, "data-step": e.step }, el("td", {}, s.name), el("td", { class: "num" }, e.step),
      ...dl.map(d => el("td", { class: "num", "data-metric": "perplexity/" + d }, by[d] ? fmt(by[d].perplexity, 4) : "")),
      ...dl.map(d => el("td", { class: "num", "data-metric": "bits_per_byte/" + d }, by[d] ? fmt(by[d].bitsPerByte, 4) : "")),
      ...ml.map(m => el("td", { class: "num", "data-metric": m }, m in mv ? fmt(mv[m], 4) : "")));
  }));
}

function renderCheckpoints(v) {
  const rows = [], published = [];
  for (const s of v.stages) {
    const evaluated = new Set(s.evaluations.map(e => e.step));
    const pub = Object.fromEntries(s.published.map(p => [p.step, p]));
    for (const c of s.checkpoints) {
      rows.push(el("tr", { "data-stage": s.name, "data-step": c.step }, el("td", {}, s.name), el("td", { class: "num" }, c.step), el("td", { class: "num" }, fmt(c.tokens)),
        el("td", { class: "num" }, fmt(c.loss, 4)), el("td", {}, evaluated.has(c.step) ? "yes" : ""), el("td", {}, pub[c.step] ? pub[c.step].revision : ""), el("td", {}, c.folder)));
    }
    for (const p of s.published) {
      published.push(el("tr", { "data-stage": s.name, "data-revision": p.revision }, el("td", {}, s.name), el("td", { class: "num" }, p.step), el("td", {}, p.repo),
        el("td", {}, p.revision), el("td", {}, p.created ? "yes" : "no"), el("td", {}, p.folder)));
    }
  }
  document.querySelector("#checkpoints tbody").replaceChildren(...rows);
  document.querySelector("#published tbody").replaceChildren(...published);
}

function renderAlerts(entries) {
  const alerts = entries.filter(e => e.type === "AlertRaised").slice(-100).reverse();
  document.getElementById("alerts").replaceChildren(...alerts.map(a => el("li", { class: a.severity, "data-kind": a.kind },
    `${time(a.t)} · ${a.stage || "run"} · ${a.severity} ${a.kind}${a.step !== undefined ? " at step " + a.step : ""}: ${a.message}`)));
}

route();
