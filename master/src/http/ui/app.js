// Corral's web UI: polls the master's GET /state every 2 s and renders the
// Overview, Agents, Frameworks and Tasks pages (chosen by the URL hash).
//
// No framework, no build step, no external resources. Every value taken
// from /state reaches the DOM through textContent or setAttribute, never
// innerHTML, so it is always escaped. Missing or mistyped fields render
// as "–" or 0 instead of breaking the page.
"use strict";

const POLL_INTERVAL_MS = 2000;
const FETCH_TIMEOUT_MS = 5000;
// The utilization chart keeps one sample per poll for this long (a ring
// of at most CHART_MAX_SAMPLES).
const CHART_WINDOW_MS = 10 * 60 * 1000;
const CHART_MAX_SAMPLES = 600;
const CHART_MIN_SPAN_MS = 60 * 1000;
// A hole longer than this between two samples breaks the chart's line.
const CHART_GAP_MS = 3 * POLL_INTERVAL_MS;

const PAGES = ["overview", "agents", "frameworks", "tasks"];

const RESOURCE_TYPES = [
  { key: "cpus", label: "CPUs", format: formatCpus },
  { key: "mem", label: "Memory", format: formatMegabytes },
  { key: "disk", label: "Disk", format: formatMegabytes },
  { key: "gpus", label: "GPUs", format: formatCpus },
];

// The overview's rows: the scalars, and ports as a count over agents.
const TOTAL_TYPES = [...RESOURCE_TYPES, { key: "ports", label: "Ports", format: (v) => String(Math.round(v)) }];

// Mesos's task states, in lifecycle order.
const TASK_STATES = [
  "TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING",
  "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
  "TASK_DROPPED", "TASK_UNREACHABLE", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
  "TASK_UNKNOWN",
];

// Terminal states as Mesos's isTerminalState defines them.
const TERMINAL_STATES = new Set([
  "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
  "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
]);

// The colour family of each state, as a CSS class suffix.
const STATE_TONES = {
  TASK_STAGING: "pending", TASK_STARTING: "pending", TASK_RUNNING: "ok",
  TASK_KILLING: "warn", TASK_FINISHED: "done", TASK_KILLED: "done",
  TASK_FAILED: "bad", TASK_ERROR: "bad", TASK_LOST: "bad", TASK_DROPPED: "bad",
  TASK_GONE: "bad", TASK_GONE_BY_OPERATOR: "bad", TASK_UNREACHABLE: "warn",
  TASK_UNKNOWN: "warn",
};

const ui = {
  state: null, // the last /state that loaded, normalized
  lastSuccessMs: null,
  samples: [], // {timeMs, cpus, mem}: used/total fractions
};

// ---------------------------------------------------------------------------
// Reading /state defensively.

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function str(value) {
  return typeof value === "string" ? value : (typeof value === "number" ? String(value) : "");
}

function num(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function list(value) {
  return Array.isArray(value) ? value : [];
}

function normalizeResources(raw) {
  const r = isObject(raw) ? raw : {};
  return { cpus: num(r.cpus), mem: num(r.mem), disk: num(r.disk), gpus: num(r.gpus), ports: str(r.ports) };
}

// Sums over agents (/state's totals, a framework's used and offered) count
// ports: the same range on two agents is two sets of ports.
function normalizeQuantities(raw) {
  const r = isObject(raw) ? raw : {};
  return { cpus: num(r.cpus), mem: num(r.mem), disk: num(r.disk), gpus: num(r.gpus), ports: num(r.ports) };
}

// How many ports a range text such as "[31000-31999,32005-32005]" holds.
function countPorts(text) {
  let n = 0;
  for (const part of str(text).replace(/[\[\]\s]/g, "").split(",")) {
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (m && Number(m[2]) >= Number(m[1])) n += Number(m[2]) - Number(m[1]) + 1;
  }
  return n;
}

function sumResources(items) {
  const total = normalizeQuantities({});
  for (const r of items) {
    for (const { key } of RESOURCE_TYPES) total[key] += r[key];
    total.ports += countPorts(r.ports);
  }
  return total;
}

function normalizeAgent(raw) {
  const a = isObject(raw) ? raw : {};
  const http = str(a.http);
  return {
    id: str(a.id),
    hostname: str(a.hostname),
    pid: str(a.pid),
    // Only http(s) URLs become links: anything else could run script.
    http: /^https?:\/\//i.test(http) ? http.replace(/\/+$/, "") : null,
    total: normalizeResources(a.total),
    used: normalizeResources(a.used),
    offered: normalizeResources(a.offered),
    attributes: str(a.attributes),
    reachable: a.reachable === true,
  };
}

function normalizeFramework(raw) {
  const f = isObject(raw) ? raw : {};
  return {
    id: str(f.id),
    name: str(f.name),
    role: str(f.role),
    connected: f.connected === true,
    used: normalizeQuantities(f.used),
    offered: normalizeQuantities(f.offered),
    removedMs: typeof f.removed_time_ms === "number" ? f.removed_time_ms : null,
  };
}

function normalizeHistory(raw) {
  return list(raw)
    .filter(isObject)
    .map((h) => ({ state: str(h.state), timeMs: num(h.time_ms) }));
}

function normalizeTask(raw) {
  const t = isObject(raw) ? raw : {};
  return {
    id: str(t.id),
    name: str(t.name),
    frameworkId: str(t.framework_id),
    agentId: str(t.agent_id),
    state: str(t.state) || "TASK_UNKNOWN",
    resources: normalizeResources(t.resources),
    history: normalizeHistory(t.history),
  };
}

function normalizeTotals(raw, agents) {
  if (!isObject(raw)) {
    return {
      total: sumResources(agents.map((a) => a.total)),
      used: sumResources(agents.map((a) => a.used)),
      offered: sumResources(agents.map((a) => a.offered)),
    };
  }
  return {
    total: normalizeQuantities(raw.total),
    used: normalizeQuantities(raw.used),
    offered: normalizeQuantities(raw.offered),
    unreachable: normalizeQuantities(raw.unreachable),
  };
}

function normalizeState(raw) {
  const s = isObject(raw) ? raw : {};
  const agents = list(s.agents).filter(isObject).map(normalizeAgent);
  return {
    version: str(s.version),
    leader: str(s.leader),
    pid: str(s.pid),
    startTimeMs: typeof s.start_time_ms === "number" ? s.start_time_ms : null,
    agents,
    frameworks: list(s.frameworks).filter(isObject).map(normalizeFramework),
    completedFrameworks: list(s.completed_frameworks).filter(isObject).map(normalizeFramework),
    tasks: list(s.tasks).filter(isObject).map(normalizeTask),
    outstandingOffers: num(s.outstanding_offers),
    totals: normalizeTotals(s.totals, agents),
  };
}

// ---------------------------------------------------------------------------
// Formatting.

function formatCpus(value) {
  return String(Math.round(value * 100) / 100);
}

function formatMegabytes(mb) {
  if (mb >= 1024 * 1024) return `${(mb / 1024 / 1024).toFixed(1)} TB`;
  if (mb >= 1024) return `${(mb / 1024).toFixed(1)} GB`;
  return `${Math.round(mb)} MB`;
}

function formatPercent(fraction) {
  return `${Math.round(fraction * 100)}%`;
}

function fraction(used, total) {
  return total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

function formatTime(ms) {
  if (!ms) return "–";
  const d = new Date(ms);
  const day = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  return `${day} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function formatClock(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function formatDuration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h ${minutes}m`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds % 60}s`;
  return `${seconds}s`;
}

function stateLabel(state) {
  return state.replace(/^TASK_/, "").replace(/_/g, " ").toLowerCase();
}

// ---------------------------------------------------------------------------
// DOM helpers: everything goes through textContent and setAttribute.

// Creates `<tag attrs...>children</tag>`; attributes that are null,
// undefined or false are left out; children that are not nodes become text.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined)
    .map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttributes(node, attrs);
  node.append(...children.map(String));
  return node;
}

function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, String(value));
  }
}

// Sets a bar's width through the CSSOM (allowed where a Content Security
// Policy forbids inline style attributes).
function withWidth(node, percent) {
  node.style.width = `${percent.toFixed(1)}%`;
  return node;
}

function byId(id) {
  return document.getElementById(id);
}

// Sets the text of #id, and its data-value when `value` is given (the raw
// number, for tests and scripts).
function setText(id, text, value) {
  const node = byId(id);
  if (!node) return;
  node.textContent = text;
  if (value !== undefined) node.setAttribute("data-value", String(value));
}

function fillBody(id, rows, columns, emptyText) {
  const body = byId(id);
  if (rows.length > 0) {
    body.replaceChildren(...rows);
  } else {
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: columns }, emptyText)));
  }
}

// Long ids (a UUID prefix and a counter) keep their start and their end,
// which tells them apart; the whole id is in the tooltip.
function shortId(id) {
  return id.length > 28 ? `${id.slice(0, 8)}…${id.slice(-14)}` : id;
}

function idCell(id) {
  return el("td", { class: "mono id", title: id }, shortId(id) || "–");
}

function badge(text, tone) {
  return el("span", { class: `badge tone-${tone}` }, text);
}

// A small used/total bar with its numbers beside.
function usageCell(kind, used, total, format) {
  const bar = el("span", { class: "mini-bar" },
    withWidth(el("span", { class: "mini-fill" }), fraction(used, total) * 100));
  return el("td", { class: "usage", "data-resource": kind, "data-used": used, "data-total": total },
    bar, el("span", { class: "usage-text" }, `${format(used)} / ${format(total)}`));
}

// ---------------------------------------------------------------------------
// Overview.

function renderOverview(s, nowMs) {
  renderCounts(s);
  setText("leader", s.leader || "–");
  setText("version", s.version || "–");
  setText("master-pid", s.pid || "–");
  setText("start-time", s.startTimeMs ? formatTime(s.startTimeMs) : "–", s.startTimeMs ?? "");
  setText("uptime", s.startTimeMs ? formatDuration(nowMs - s.startTimeMs) : "–");
  renderResources(s.totals);
  renderStateChips(countByState(s.tasks));
  renderChart(ui.samples, nowMs);
}

function renderCounts(s) {
  const unreachable = s.agents.filter((a) => !a.reachable).length;
  const disconnected = s.frameworks.filter((f) => !f.connected).length;
  const active = s.tasks.filter((t) => !TERMINAL_STATES.has(t.state)).length;
  const running = s.tasks.filter((t) => t.state === "TASK_RUNNING").length;
  setText("agent-count", String(s.agents.length), s.agents.length);
  setText("agent-note", unreachable ? `${unreachable} unreachable` : "all reachable");
  setText("framework-count", String(s.frameworks.length), s.frameworks.length);
  setText("framework-note", disconnected ? `${disconnected} disconnected` : "all connected");
  setText("task-count", String(s.tasks.length), s.tasks.length);
  setText("task-note", `${active} active, ${s.tasks.length - active} completed`);
  setText("running-count", String(running), running);
  setText("offer-count", String(s.outstandingOffers), s.outstandingOffers);
}

function resourceRow(type, totals) {
  const total = totals.total[type.key];
  const used = totals.used[type.key];
  const offered = totals.offered[type.key];
  const usedPct = fraction(used, total) * 100;
  const offeredPct = Math.min(100 - usedPct, fraction(offered, total) * 100);
  const bar = el("div", { class: "bar", title: `${formatPercent(usedPct / 100)} used` },
    withWidth(el("div", { class: "bar-used" }), usedPct),
    withWidth(el("div", { class: "bar-offered" }), offeredPct));
  const cell = (suffix, value) => el("td", { class: "num" },
    el("span", { id: `${type.key}-${suffix}`, "data-value": value }, type.format(value)));
  return el("tr", { "data-resource": type.key },
    el("th", { scope: "row" }, type.label),
    el("td", { class: "bar-col" }, bar, el("span", { class: "bar-pct" }, formatPercent(usedPct / 100))),
    cell("used", used), cell("offered", offered), cell("total", total));
}

function renderResources(totals) {
  byId("resource-rows").replaceChildren(...TOTAL_TYPES.map((t) => resourceRow(t, totals)));
  // Unreachable agents' resources are in no total: say what is left out.
  const away = totals.unreachable;
  const parts = away ? RESOURCE_TYPES.filter((t) => away[t.key] > 0)
    .map((t) => `${t.format(away[t.key])} ${t.label.toLowerCase()}`) : [];
  setText("unreachable-note", parts.length ? `Not counted: ${parts.join(", ")} on unreachable agents.` : "");
}

function countByState(tasks) {
  const counts = new Map();
  for (const t of tasks) counts.set(t.state, (counts.get(t.state) || 0) + 1);
  return counts;
}

// One chip per state that has tasks, in lifecycle order (unknown names last).
function renderStateChips(counts) {
  const known = TASK_STATES.filter((s) => counts.has(s));
  const other = [...counts.keys()].filter((s) => !TASK_STATES.includes(s)).sort();
  const chips = [...known, ...other].map((state) =>
    el("li", { class: `chip tone-${STATE_TONES[state] || "warn"}`, "data-state-count": state },
      el("span", { class: "chip-count" }, counts.get(state)), " ", stateLabel(state)));
  const list = byId("task-states");
  if (chips.length > 0) list.replaceChildren(...chips);
  else list.replaceChildren(el("li", { class: "muted" }, "No tasks yet"));
}

// ---------------------------------------------------------------------------
// The utilization chart: an SVG line chart of the samples this page took.

function recordSample(s, nowMs) {
  const { total, used } = s.totals;
  ui.samples.push({ timeMs: nowMs, cpus: fraction(used.cpus, total.cpus), mem: fraction(used.mem, total.mem) });
  const oldest = nowMs - CHART_WINDOW_MS;
  while (ui.samples.length > CHART_MAX_SAMPLES || (ui.samples.length && ui.samples[0].timeMs < oldest)) {
    ui.samples.shift();
  }
}

// Splits the samples where they have a hole, so the line does not bridge
// a time when /state could not be read.
function segments(samples) {
  const out = [];
  let current = [];
  for (const sample of samples) {
    const last = current[current.length - 1];
    if (last && sample.timeMs - last.timeMs > CHART_GAP_MS) {
      out.push(current);
      current = [];
    }
    current.push(sample);
  }
  if (current.length) out.push(current);
  return out;
}

// The time the chart spans: the samples so far, at least a minute, at
// most the whole window, so a fresh page does not show an empty chart.
function chartSpanMs(samples, nowMs) {
  const first = samples.length ? samples[0].timeMs : nowMs;
  return Math.min(CHART_WINDOW_MS, Math.max(CHART_MIN_SPAN_MS, nowMs - first));
}

function formatAgo(ms) {
  if (ms <= 0) return "now";
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `−${seconds} s`;
  return `−${(seconds / 60).toFixed(1).replace(/\.0$/, "")} min`;
}

function chartGrid(box, spanMs) {
  const nodes = [];
  for (const pct of [0, 25, 50, 75, 100]) {
    const y = box.top + box.height * (1 - pct / 100);
    nodes.push(svgEl("line", { class: "grid-line", x1: box.left, x2: box.left + box.width, y1: y, y2: y }));
    nodes.push(svgEl("text", { class: "axis-label", x: box.left - 8, y: y + 4, "text-anchor": "end" }, `${pct}%`));
  }
  for (const at of [0, 0.25, 0.5, 0.75, 1]) {
    const anchor = at === 0 ? "start" : (at === 1 ? "end" : "middle");
    const label = formatAgo(spanMs * (1 - at));
    nodes.push(svgEl("text", { class: "axis-label", x: box.left + box.width * at, y: box.top + box.height + 18, "text-anchor": anchor }, label));
  }
  return nodes;
}

function chartSeries(samples, key, box, nowMs, spanMs) {
  const start = nowMs - spanMs;
  const x = (t) => box.left + box.width * Math.max(0, (t - start) / spanMs);
  const y = (f) => box.top + box.height * (1 - f);
  return segments(samples).map((seg) => {
    const points = seg.map((p) => `${x(p.timeMs).toFixed(1)},${y(p[key]).toFixed(1)}`);
    if (seg.length === 1) {
      return svgEl("circle", { class: `series series-${key}`, cx: x(seg[0].timeMs), cy: y(seg[0][key]), r: 2.5 });
    }
    const base = `${x(seg[seg.length - 1].timeMs).toFixed(1)},${y(0)} ${x(seg[0].timeMs).toFixed(1)},${y(0)}`;
    const group = svgEl("g", { class: `series series-${key}` });
    group.append(svgEl("polygon", { class: "area", points: `${points.join(" ")} ${base}` }),
      svgEl("polyline", { class: "line", points: points.join(" ") }));
    return group;
  });
}

function renderChart(samples, nowMs) {
  const svg = byId("util-chart");
  const width = Math.max(320, svg.clientWidth || 800);
  const height = 180;
  const box = { left: 44, top: 10, width: width - 60, height: height - 40 };
  const spanMs = chartSpanMs(samples, nowMs);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("data-samples", samples.length);
  svg.replaceChildren(...chartGrid(box, spanMs),
    ...chartSeries(samples, "mem", box, nowMs, spanMs), ...chartSeries(samples, "cpus", box, nowMs, spanMs));
  renderChartLegend(samples[samples.length - 1]);
}

function renderChartLegend(latest) {
  const item = (key, label) => el("span", { class: `legend-item series-${key}` },
    el("span", { class: "legend-line" }), `${label} ${latest ? formatPercent(latest[key]) : "–"}`);
  byId("chart-legend").replaceChildren(item("cpus", "CPUs"), item("mem", "Memory"));
}

// ---------------------------------------------------------------------------
// Agents, frameworks, tasks.

function activeTasksBy(tasks, field) {
  const counts = new Map();
  for (const t of tasks) {
    if (!TERMINAL_STATES.has(t.state)) counts.set(t[field], (counts.get(t[field]) || 0) + 1);
  }
  return counts;
}

// The "ip:port" of an agent's pid (agent@ip:port), to tell apart agents
// sharing a hostname: on one machine they differ by address or by port.
function pidAddr(pid) {
  const at = str(pid).indexOf("@");
  return at >= 0 ? str(pid).slice(at + 1) : str(pid);
}

function agentRow(a, activeTasks, shared) {
  const status = a.reachable ? badge("reachable", "ok") : badge("unreachable", "bad");
  // Several agents on one machine share its hostname: add each one's address.
  const name = a.hostname && shared.has(a.hostname) ? `${a.hostname} (${pidAddr(a.pid)})` : a.hostname;
  const host = a.http
    ? el("a", { href: a.http, title: `${a.pid}` }, name || a.http)
    : el("span", { title: a.pid }, name || "–");
  return el("tr", { "data-agent-id": a.id, "data-reachable": a.reachable },
    idCell(a.id), el("td", {}, host), el("td", {}, status),
    usageCell("cpus", a.used.cpus, a.total.cpus, formatCpus),
    usageCell("mem", a.used.mem, a.total.mem, formatMegabytes),
    usageCell("disk", a.used.disk, a.total.disk, formatMegabytes),
    el("td", { class: "num" }, activeTasks.get(a.id) || 0),
    el("td", { class: "mono attributes" }, a.attributes || "–"));
}

function renderAgents(s) {
  const active = activeTasksBy(s.tasks, "agentId");
  const agents = [...s.agents].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
  const seen = new Set();
  const shared = new Set();
  for (const a of agents) (seen.has(a.hostname) ? shared : seen).add(a.hostname);
  fillBody("agents-body", agents.map((a) => agentRow(a, active, shared)), 8, "No agents have registered.");
  const reachable = s.agents.filter((a) => a.reachable).length;
  setText("agents-summary", `${s.agents.length} registered, ${reachable} reachable`);
}

function frameworkRow(f, activeTasks) {
  const status = f.connected ? badge("connected", "ok") : badge("disconnected", "warn");
  const offered = `${formatCpus(f.offered.cpus)} cpus, ${formatMegabytes(f.offered.mem)}`;
  return el("tr", { "data-framework-id": f.id, "data-connected": f.connected },
    idCell(f.id), el("td", { class: "strong" }, f.name || "–"), el("td", { class: "mono" }, f.role || "–"),
    el("td", {}, status), el("td", { class: "num" }, activeTasks.get(f.id) || 0),
    el("td", { class: "num", "data-value": f.used.cpus }, formatCpus(f.used.cpus)),
    el("td", { class: "num", "data-value": f.used.mem }, formatMegabytes(f.used.mem)),
    el("td", { class: "num muted" }, offered));
}

function completedFrameworkRow(f, taskCounts) {
  return el("tr", { "data-completed-framework-id": f.id },
    idCell(f.id), el("td", { class: "strong" }, f.name || "–"), el("td", { class: "mono" }, f.role || "–"),
    el("td", { class: "nowrap", "data-time-ms": f.removedMs }, formatTime(f.removedMs)),
    el("td", { class: "num" }, taskCounts.get(f.id) || 0));
}

function renderFrameworks(s) {
  const active = activeTasksBy(s.tasks, "frameworkId");
  const frameworks = [...s.frameworks].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  fillBody("frameworks-body", frameworks.map((f) => frameworkRow(f, active)), 8, "No frameworks are subscribed.");
  const connected = s.frameworks.filter((f) => f.connected).length;
  setText("frameworks-summary", `${s.frameworks.length} subscribed, ${connected} connected`);
  const tasks = new Map();
  for (const t of s.tasks) tasks.set(t.frameworkId, (tasks.get(t.frameworkId) || 0) + 1);
  // The latest removal first.
  const completed = [...s.completedFrameworks].sort((a, b) => (b.removedMs || 0) - (a.removedMs || 0));
  fillBody("completed-frameworks-body", completed.map((f) => completedFrameworkRow(f, tasks)), 5, "No framework has been removed.");
  setText("completed-frameworks-summary", `${completed.length} kept`);
}

// When the task started: its first TASK_RUNNING, else its first state.
function startedMs(task) {
  const running = task.history.find((h) => h.state === "TASK_RUNNING");
  const first = running || task.history[0];
  return first ? first.timeMs : 0;
}

// Where the agent serves a file of the task's sandbox, or null.
function sandboxUrl(agent, task, file) {
  if (!agent || !agent.http) return null;
  const path = ["frameworks", task.frameworkId, "tasks", task.id, file].map(encodeURIComponent).join("/");
  return `${agent.http}/files/download?path=${path}`;
}

function sandboxLinks(agent, task) {
  const links = ["stdout", "stderr"].map((file) => {
    const href = sandboxUrl(agent, task, file);
    return href ? el("a", { href, class: "file-link", "data-file": file, target: "_blank", rel: "noopener" }, file) : null;
  }).filter(Boolean);
  if (links.length === 0) return el("td", { class: "muted" }, "–");
  return el("td", { class: "links" }, links[0], " ", links[1]);
}

function taskRow(t, agents, frameworks) {
  const agent = agents.get(t.agentId);
  const framework = frameworks.get(t.frameworkId);
  const started = startedMs(t);
  return el("tr", { "data-task-id": t.id, "data-state": t.state, "data-task-framework": t.frameworkId, "data-task-agent": t.agentId },
    idCell(t.id), el("td", {}, t.name || "–"),
    el("td", {}, badge(stateLabel(t.state), STATE_TONES[t.state] || "warn")),
    el("td", { title: t.frameworkId }, (framework && framework.name) || t.frameworkId || "–"),
    el("td", { title: t.agentId }, (agent && agent.hostname) || t.agentId || "–"),
    el("td", { class: "nowrap", "data-time-ms": started || null }, formatTime(started)),
    el("td", { class: "num" }, formatCpus(t.resources.cpus)),
    el("td", { class: "num" }, formatMegabytes(t.resources.mem)),
    sandboxLinks(agent, t));
}

function taskMatches(t, filter, agents, frameworks) {
  if (!filter) return true;
  const agent = agents.get(t.agentId);
  const framework = frameworks.get(t.frameworkId);
  const haystack = [t.id, t.name, t.state, t.frameworkId, t.agentId,
    agent ? agent.hostname : "", framework ? framework.name : ""].join(" ").toLowerCase();
  return haystack.includes(filter);
}

// Active tasks first, then the most recently started.
function compareTasks(a, b) {
  const ended = (t) => (TERMINAL_STATES.has(t.state) ? 1 : 0);
  return ended(a) - ended(b) || startedMs(b) - startedMs(a) || a.id.localeCompare(b.id);
}

function renderTasks(s) {
  const agents = new Map(s.agents.map((a) => [a.id, a]));
  const frameworks = new Map([...s.completedFrameworks, ...s.frameworks].map((f) => [f.id, f]));
  const filter = byId("task-filter").value.trim().toLowerCase();
  const shown = s.tasks.filter((t) => taskMatches(t, filter, agents, frameworks)).sort(compareTasks);
  const empty = filter ? "No task matches the filter." : "No tasks yet.";
  fillBody("tasks-body", shown.map((t) => taskRow(t, agents, frameworks)), 9, empty);
  const active = s.tasks.filter((t) => !TERMINAL_STATES.has(t.state)).length;
  setText("tasks-summary", `${active} active, ${s.tasks.length - active} completed`);
}

// ---------------------------------------------------------------------------
// Polling, freshness and the error banner.

function renderAll(nowMs) {
  const s = ui.state;
  if (!s) return;
  renderOverview(s, nowMs);
  renderAgents(s);
  renderFrameworks(s);
  renderTasks(s);
}

function showFreshness(ok, nowMs) {
  const updated = byId("last-updated");
  if (ui.lastSuccessMs) {
    updated.textContent = formatClock(ui.lastSuccessMs);
    updated.setAttribute("data-time-ms", ui.lastSuccessMs);
    updated.setAttribute("title", `${formatDuration(nowMs - ui.lastSuccessMs)} ago`);
  }
  byId("live-dot").className = ok ? "live-dot live" : "live-dot stale";
}

function showError(message) {
  const banner = byId("banner");
  const since = ui.lastSuccessMs ? ` Showing the state from ${formatClock(ui.lastSuccessMs)}.` : "";
  banner.textContent = `Cannot load the master's state: ${message}.${since} Retrying every ${POLL_INTERVAL_MS / 1000} s.`;
  banner.hidden = false;
  document.body.setAttribute("data-error", "true");
}

function clearError() {
  byId("banner").hidden = true;
  document.body.removeAttribute("data-error");
}

async function fetchState() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch("state", { cache: "no-store", signal: abort.signal, redirect: "manual" });
    // This master stopped leading and redirects to the leader, on another
    // origin the page may not fetch from: load the page again, which the
    // standby sends to the leader's UI.
    if (response.type === "opaqueredirect") {
      location.reload();
      throw new Error("this master no longer leads; going to the leader's UI");
    }
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    return await response.json();
  } catch (e) {
    throw new Error(e.name === "AbortError" ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : e.message);
  } finally {
    clearTimeout(timer);
  }
}

async function poll() {
  try {
    const raw = await fetchState();
    const nowMs = Date.now();
    ui.state = normalizeState(raw);
    ui.lastSuccessMs = nowMs;
    recordSample(ui.state, nowMs);
    renderAll(nowMs);
    clearError();
    showFreshness(true, nowMs);
    document.body.setAttribute("data-loaded", "true");
  } catch (e) {
    showError(e.message || String(e));
    showFreshness(false, Date.now());
  } finally {
    setTimeout(poll, POLL_INTERVAL_MS);
  }
}

// ---------------------------------------------------------------------------
// Navigation by the URL hash: #/, #/agents, #/frameworks, #/tasks.

function currentPage() {
  const name = location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return PAGES.includes(name) ? name : "overview";
}

function showPage() {
  const page = currentPage();
  for (const section of document.querySelectorAll("[data-page]")) {
    section.hidden = section.getAttribute("data-page") !== page;
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.getAttribute("data-nav") === page);
  }
  document.body.setAttribute("data-page", page);
  document.title = page === "overview" ? "Corral" : `Corral · ${page[0].toUpperCase()}${page.slice(1)}`;
  // The chart measures its width, which a hidden page does not have.
  if (page === "overview" && ui.state) renderChart(ui.samples, Date.now());
}

function start() {
  window.addEventListener("hashchange", showPage);
  window.addEventListener("resize", () => ui.state && renderChart(ui.samples, Date.now()));
  byId("task-filter").addEventListener("input", () => ui.state && renderTasks(ui.state));
  showPage();
  poll();
}

start();
