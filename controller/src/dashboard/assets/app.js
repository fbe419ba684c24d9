// serin dashboard: a small hand-written page over the dashboard's JSON API and its stream of
// changes (server-sent events). No framework, no build step.
"use strict";

const state = { info: {}, rows: new Map(), detail: null, route: null };
const $ = (sel) => document.querySelector(sel);

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function age(iso) {
  if (!iso) return "-";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.floor(s / 60) + "m";
  if (s < 172800) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}

function phase(p) {
  return `<span class="phase phase-${esc(p)}">${esc(p || "-")}</span>`;
}

function weightBar(w) {
  return `<span class="bar"><span style="width:${Number(w) || 0}%"></span></span><span class="weight" data-weight="${esc(w)}">${esc(w)}%</span>`;
}

function parseRoute() {
  const m = location.pathname.match(/^\/canaries\/([^/]+)\/([^/]+)$/);
  return m ? { namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) } : null;
}

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || r.statusText);
  return r.json();
}

// The list of Canaries.
function renderList() {
  const rows = [...state.rows.values()].sort((a, b) => (a.namespace + "/" + a.name).localeCompare(b.namespace + "/" + b.name));
  if (rows.length === 0) {
    $("#main").innerHTML = `<h1>Canaries</h1><p class="muted">No Canaries in ${esc(state.info.scope)}.</p>`;
    return;
  }
  const body = rows.map((r) => `<tr data-canary="${esc(r.namespace + "/" + r.name)}">
      <td><a href="/canaries/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}">${esc(r.name)}</a></td>
      <td>${esc(r.namespace)}</td><td>${phase(r.phase)}${r.paused ? ' <span class="muted">(paused)</span>' : ""}</td>
      <td>${weightBar(r.weight)}</td><td>${esc(r.step)}</td>
      <td>${esc(r.failedChecks)}${r.threshold != null ? "/" + esc(r.threshold) : ""}</td>
      <td>${age(r.lastTransition)}</td><td><code>${esc(r.primaryRevision || "-")}</code></td><td><code>${esc(r.canaryRevision || "-")}</code></td></tr>`).join("");
  $("#main").innerHTML = `<h1>Canaries</h1><table id="canaries"><thead><tr><th>Name</th><th>Namespace</th><th>Phase</th>
    <th>Weight</th><th>Step</th><th>Failed checks</th><th>Last change</th><th>Primary</th><th>Canary</th></tr></thead><tbody>${body}</tbody></table>`;
}

// A chart of points {t, y} as SVG: a step line for weights, dots coloured by outcome for metrics.
function chart(points, opts) {
  const W = 600, H = 160, L = 40, R = 10, T = 10, B = 22;
  if (points.length === 0) return `<p class="muted">No data yet.</p>`;
  const t0 = Math.min(...points.map((p) => p.t));
  const t1 = Math.max(Date.now(), ...points.map((p) => p.t), t0 + 1000);
  let lo = opts.min, hi = opts.max;
  const ys = points.map((p) => p.y).filter((y) => y != null);
  if (lo == null) lo = Math.min(...ys, opts.bandMin ?? Infinity, opts.bandMax ?? Infinity);
  if (hi == null) hi = Math.max(...ys, opts.bandMin ?? -Infinity, opts.bandMax ?? -Infinity);
  if (!isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 1; }
  if (hi === lo) { hi += 1; lo -= 1; }
  const pad = opts.min == null ? (hi - lo) * 0.1 : 0;
  lo -= pad; hi += pad;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  let svg = `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(opts.label)}">`;
  if (opts.bandMin != null || opts.bandMax != null) {
    const top = y(Math.min(hi, opts.bandMax ?? hi)), bottom = y(Math.max(lo, opts.bandMin ?? lo));
    svg += `<rect class="band" x="${L}" y="${top}" width="${W - L - R}" height="${Math.max(0, bottom - top)}"/>`;
  }
  svg += `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>`;
  svg += `<text x="2" y="${T + 8}">${esc(+hi.toFixed(2))}</text><text x="2" y="${H - B}">${esc(+lo.toFixed(2))}</text>`;
  svg += `<text x="${L}" y="${H - 6}">${esc(new Date(t0).toLocaleTimeString())}</text><text x="${W - R - 60}" y="${H - 6}">${esc(new Date(t1).toLocaleTimeString())}</text>`;
  if (opts.step) {
    let d = "";
    points.forEach((p, i) => { d += (i === 0 ? `M${x(p.t)},${y(p.y)}` : `H${x(p.t)}V${y(p.y)}`); });
    d += `H${x(t1)}`;
    svg += `<path class="line" d="${d}"/>`;
  } else {
    const defined = points.filter((p) => p.y != null);
    if (defined.length > 1) svg += `<path class="line" d="${defined.map((p, i) => (i ? "L" : "M") + x(p.t) + "," + y(p.y)).join("")}"/>`;
    for (const p of points) {
      const colour = { Pass: "#1f8a4c", Fail: "#c62f3b", Error: "#c62f3b", NoData: "#a86a00" }[p.outcome] || "#0f6f95";
      svg += `<circle cx="${x(p.t)}" cy="${p.y == null ? H - B : y(p.y)}" r="3" fill="${colour}"><title>${esc(p.outcome)} ${esc(p.y ?? "no data")}</title></circle>`;
    }
  }
  return svg + "</svg>";
}

function table(headers, rows) {
  if (rows.length === 0) return `<p class="muted">None.</p>`;
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

// The page of one Canary.
function renderDetail() {
  const d = state.detail;
  if (!d) return;
  const v = d.view, h = d.history;
  const weights = h.weight.map((p) => ({ t: Date.parse(p.time), y: p.weight }));
  const actions = state.info.allowActions
    ? `<div class="actions">${["promote", "abort", "retry", "pause", "resume"].map((a) => `<button data-action="${a}">${a[0].toUpperCase() + a.slice(1)}</button>`).join("")}<span id="message" class="muted"></span></div>`
    : "";
  const metricCharts = v.metrics.map((m) => {
    const pts = (h.metrics[m.name] || []).map((p) => ({ t: Date.parse(p.time), y: p.value, outcome: p.outcome }));
    return `<div class="card"><h2>${esc(m.name)} <span class="muted">(${esc(m.range)})</span></h2>${chart(pts, { label: m.name, bandMin: m.min, bandMax: m.max })}</div>`;
  }).join("");
  $("#main").innerHTML = `
    <h1 id="title">${esc(v.namespace)}/${esc(v.name)}</h1>
    <div class="card" id="summary">${phase(v.phase)}${v.controls.paused ? ' <span class="muted">(paused)</span>' : ""}
      &nbsp; ${weightBar(v.weight)} &nbsp; step ${esc(v.step)} &nbsp; failed checks ${esc(v.failedChecks)}${v.threshold != null ? "/" + esc(v.threshold) : ""}
      &nbsp; <span class="muted">since ${age(v.lastTransition)} · ${esc(v.strategy)}${v.interval ? ", a step every " + esc(v.interval) : ""}</span>
      ${v.controls.pending.length ? `<div class="muted">Requests not acted on yet: ${esc(v.controls.pending.join(", "))}</div>` : ""}
      ${v.problems.map((p) => `<div class="Fail">${esc(p)}</div>`).join("")}</div>
    ${actions}
    <div class="card"><h2>Steps</h2><div class="steps">${v.steps.map((s) => `<span class="step ${esc(s.state)}">${esc(s.label)}</span>`).join("")}</div></div>
    <div class="grid"><div class="card"><h2>Canary weight</h2>${chart(weights, { label: "weight", min: 0, max: 100, step: true })}</div>${metricCharts}</div>
    <div class="card"><h2>Metrics</h2>${table(["Metric", "Range", "Value", "Outcome", "Checked", "Message"], v.metrics.map((m) => [esc(m.name), esc(m.range), esc(m.value ?? "-"), `<span class="${esc(m.outcome)}">${esc(m.outcome ?? "-")}</span>`, m.time ? age(m.time) + " ago" : "never", `<span class="muted">${esc(m.outcome === "Pass" ? "" : m.message)}</span>`]))}</div>
    <div class="grid">
      <div class="card"><h2>Workloads</h2>${table(["Role", "Kind", "Name", "Images", "Ready"], [["target", v.target], ["primary", v.primary]].filter(([, w]) => w).map(([role, w]) => [role, esc(w.kind), esc(w.name), esc(w.images.join(", ")), esc(w.exists ? w.ready || "" : "not found")]))}</div>
      <div class="card"><h2>Generated objects</h2>${table(["Kind", "Name", ""], v.generated.map((o) => [esc(o.kind), esc(o.name), `<span class="muted">${esc(o.detail)}</span>`]))}</div>
    </div>
    <div class="grid">
      <div class="card"><h2>Webhooks and gates</h2>${table(["Name", "Type", "URL", ""], v.webhooks.map((w) => [esc(w.name), esc(w.kind), `<code>${esc(w.url)}</code>`, w.holding ? '<span class="NoData">holding</span>' : w.gate ? "gate" : ""]))}</div>
      <div class="card"><h2>Conditions</h2>${table(["Type", "Status", "Reason", "Message"], v.conditions.map((c) => [esc(c.type), esc(c.status), esc(c.reason), `<span class="muted">${esc(c.message)}</span>`]))}</div>
    </div>
    <div class="card"><h2>Comparison with the primary</h2><p class="muted">serin records no comparison evidence in this Canary's status.</p></div>
    <div class="card"><h2>Events</h2>${table(["Age", "Type", "Reason", "Message"], v.events.slice().reverse().map((e) => [age(e.time), `<span class="${esc(e.type)}">${esc(e.type)}</span>`, esc(e.reason), `<span class="note">${esc(e.note)}${e.count > 1 ? " (x" + esc(e.count) + ")" : ""}</span>`]))}</div>
    ${v.notes.map((n) => `<p class="muted">note: ${esc(n)}</p>`).join("")}`;
  for (const button of document.querySelectorAll("button[data-action]")) button.addEventListener("click", onAction);
}

// Actions ask for a second click, then wait for serin's answer.
async function onAction(ev) {
  const button = ev.currentTarget, action = button.dataset.action, v = state.detail.view;
  if (!button.classList.contains("armed")) {
    for (const b of document.querySelectorAll("button.armed")) { b.classList.remove("armed"); b.textContent = b.dataset.action[0].toUpperCase() + b.dataset.action.slice(1); }
    button.classList.add("armed");
    button.textContent = `Click again to ${action}`;
    return;
  }
  for (const b of document.querySelectorAll("button[data-action]")) b.disabled = true;
  $("#message").textContent = `${action}: waiting for serin…`;
  try {
    const r = await fetch(`/api/canaries/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}/${action}`, { method: "POST", headers: { "X-Serin-Action": "1" } });
    const body = await r.json();
    state.message = r.ok ? `${action}: ${body.message}` : `${action} failed: ${body.error}`;
  } catch (e) {
    state.message = `${action} failed: ${e}`;
  }
  await loadDetail();
  $("#message").textContent = state.message;
}

async function loadDetail() {
  const { namespace, name } = state.route;
  try {
    state.detail = await getJSON(`/api/canaries/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
    renderDetail();
    if (state.message && $("#message")) $("#message").textContent = state.message;
  } catch (e) {
    $("#main").innerHTML = `<h1>${esc(namespace)}/${esc(name)}</h1><p class="muted">${esc(e.message)}</p>`;
  }
}

async function loadList() {
  const rows = await getJSON("/api/canaries");
  state.rows = new Map(rows.map((r) => [r.namespace + "/" + r.name, r]));
  renderList();
}

function reload() {
  return state.route ? loadDetail() : loadList();
}

async function start() {
  state.info = await getJSON("/api/info");
  $("#scope").textContent = `${state.info.server} · ${state.info.scope}${state.info.allowActions ? " · actions allowed" : " · read-only"}`;
  state.route = parseRoute();
  await reload();
  const events = new EventSource("/api/stream");
  events.onopen = () => { $("#live").textContent = "live"; $("#live").classList.add("on"); reload(); };
  events.onerror = () => { $("#live").textContent = "reconnecting…"; $("#live").classList.remove("on"); };
  events.addEventListener("reload", reload);
  events.addEventListener("canary", (e) => {
    const update = JSON.parse(e.data);
    if (state.route) {
      if (update.key === state.route.namespace + "/" + state.route.name) loadDetail();
    } else {
      if (update.row) state.rows.set(update.key, update.row); else state.rows.delete(update.key);
      renderList();
    }
  });
}

start().catch((e) => { $("#main").innerHTML = `<p class="Fail">${esc(e.message)}</p>`; });
