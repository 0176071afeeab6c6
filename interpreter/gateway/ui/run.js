// The page of one run: its graph (drawn as SVG here, from GET /runs/{id}/graph), live
// from the events stream, the report's table, and cancel and resume for a write key.

import { api, badge, byId, el, json, readEvents, showError, signIn, time } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const STEP_W = 168;
const UNDO_W = 92;
const GAP = 14;
const NODE_H = 46;
const CELL_W = STEP_W + GAP + UNDO_W + 36;
const ROW_H = NODE_H + 44;
const PER_ROW = 4; // a wider layer wraps, so a fan-out of fifty stays on screen
const MARGIN = 16;
const RETRY_MS = 2000;

const ENDED = new Set(["COMPLETED", "COMPENSATED", "COMPENSATION_FAILED", "INCOMPLETE"]);
const UNDO_STATE = { COMPENSATING: "undoing", COMPENSATED: "undone", COMPENSATION_FAILED: "failed" };

const runId = decodeURIComponent(location.pathname.replace(/^\/ui\/runs\//, ""));
const runPath = `/runs/${encodeURIComponent(runId)}`;
let scope = "read";
let lastReport = null;

async function main() {
  byId("title").textContent = `Run ${runId}`;
  document.title = `${runId} · saga run`;
  scope = (await signIn()).scope;
  setUpActions();
  // The graph and the stream at once: a report that comes first paints when it is drawn.
  await Promise.all([graph(), follow()]);
}

async function graph() {
  const data = await json(await api(`${runPath}/graph`));
  byId("title").textContent = `Run ${runId} of ${data.saga}`;
  draw(data);
  performance.mark("graph-drawn");
  if (lastReport) for (const step of lastReport.steps) paint(step);
}

// --- the events stream -----------------------------------------------------------------

async function follow() {
  let ended = false;
  while (!ended) {
    live("live");
    try {
      await readEvents(`${runPath}/events`, (event) => {
        if (event.event === "report") show(JSON.parse(event.data));
        else if (event.event === "end") ended = true;
        else if (event.event === "error") throw new Error(JSON.parse(event.data).detail);
      });
    } catch (error) {
      if (error.status === 404) throw error;
      live(`connection lost (${error.message}); reconnecting`);
    }
    if (!ended) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  live(lastReport && ENDED.has(lastReport.status) ? "ended" : "");
}

function live(text) {
  byId("live").textContent = text ? `(${text})` : "";
}

function show(report) {
  lastReport = report;
  byId("saga-status").replaceChildren(report.status.replaceAll("_", " "));
  byId("saga-status").className = `badge status-${report.status}`;
  byId("saga-status").dataset.status = report.status;
  summary(report);
  for (const step of report.steps) paint(step);
  table(report);
  actions(report);
  if (!performance.getEntriesByName("report-shown").length) performance.mark("report-shown");
}

function summary(report) {
  const rows = [
    ["Reason", report.reason],
    ["Failed step", report.failed_step],
    ["Error", report.error],
    ["Started", time(report.started_at)],
    ["Finished", time(report.finished_at)],
  ];
  const items = rows.filter(([, value]) => value).flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]);
  if (report.compensation_failures.length) {
    const list = report.compensation_failures.map((line) => el("li", {}, line));
    items.push(el("dt", {}, "Compensation failures"), el("dd", {}, el("ul", {}, ...list)));
  }
  byId("summary").replaceChildren(...items);
}

function table(report) {
  const rows = report.steps.map((step) =>
    el(
      "tr",
      { "data-step": step.name },
      el("th", { scope: "row" }, step.name),
      el("td", {}, badge(step.status)),
      el("td", {}, String(step.attempts)),
      el("td", { className: "time" }, clock(step.started_at)),
      el("td", { className: "time" }, took(step.started_at, step.finished_at)),
      el("td", {}, compensation(step)),
      el("td", { className: "message" }, step.compensation_error || step.last_error || ""),
    ),
  );
  byId("report").tBodies[0].replaceChildren(...rows);
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : "";
}

function took(start, end) {
  if (!start || !end) return "";
  const ms = new Date(end) - new Date(start);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

function compensation(step) {
  if (step.compensation_skipped) return "skipped by an operator";
  if (!step.compensation_attempts) return "";
  const when = step.compensated_at ? `, done ${clock(step.compensated_at)}` : "";
  return `${step.compensation_attempts} attempt${step.compensation_attempts > 1 ? "s" : ""}${when}`;
}

// --- cancel and resume -------------------------------------------------------------------

function setUpActions() {
  byId("actions").hidden = scope !== "write";
  if (scope !== "write") return;
  byId("cancel").onclick = () => act("cancel", null, "Cancel requested: the run compensates.");
  byId("resume-retry").onclick = () => act("resume", { retry: true }, "Resumed: retrying.");
  byId("resume-skip").onclick = () => act("resume", { skip: byId("skip-step").value }, "Resumed: skipped.");
}

async function act(what, body, done) {
  const message = byId("action-message");
  message.textContent = "";
  const options = { method: "POST" };
  if (body) Object.assign(options, { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  try {
    const answer = await api(`${runPath}/${what}`, options);
    await json(answer);
    message.textContent = done;
  } catch (error) {
    message.textContent = `Error: ${error.message}`;
  }
}

function actions(report) {
  if (scope !== "write") return;
  byId("cancel").hidden = report.status !== "RUNNING";
  byId("resume").hidden = report.status !== "PARKED";
  const failed = report.steps.filter((s) => s.status === "COMPENSATION_FAILED").map((s) => s.name);
  const select = byId("skip-step");
  if (select.options.length !== failed.length || failed.some((name, i) => select.options[i].value !== name)) {
    select.replaceChildren(...failed.map((name) => el("option", { value: name }, name)));
  }
}

// --- the graph ---------------------------------------------------------------------------

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Positions: a row per layer (a wide layer wraps), steps ordered by where their deps are. */
function layout(steps) {
  const byName = new Map(steps.map((step, index) => [step.name, { ...step, index }]));
  const layers = [];
  for (const node of byName.values()) (layers[node.layer] ||= []).push(node);
  let row = 0;
  let width = 0;
  for (const layer of layers.filter(Boolean)) {
    const centre = (node) => {
      const xs = node.after.map((name) => byName.get(name).x).filter((x) => x !== undefined);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : node.index * CELL_W;
    };
    layer.sort((a, b) => centre(a) - centre(b) || a.index - b.index);
    for (let i = 0; i < layer.length; i++) {
      const node = layer[i];
      node.x = MARGIN + (i % PER_ROW) * CELL_W;
      node.y = MARGIN + (row + Math.floor(i / PER_ROW)) * ROW_H;
      width = Math.max(width, node.x + CELL_W);
    }
    row += Math.ceil(layer.length / PER_ROW);
  }
  return { nodes: byName, width: width + MARGIN, height: MARGIN * 2 + row * ROW_H - (ROW_H - NODE_H) };
}

function draw(graph) {
  const { nodes, width, height } = layout(graph.steps);
  const root = svg("svg", {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `The ${graph.steps.length} steps of ${graph.saga}, with their compensations; the report below lists each step's status`,
  });
  root.append(markers());
  const edges = svg("g", { class: "edges" });
  const boxes = svg("g", { class: "nodes" });
  for (const node of nodes.values()) {
    for (const name of node.after) {
      const dep = nodes.get(name);
      edges.append(edge(dep.x + STEP_W / 2, dep.y + NODE_H, node.x + STEP_W / 2, node.y, "forward"));
      if (node.compensation && dep.compensation) {
        const ux = (n) => n.x + STEP_W + GAP + UNDO_W / 2;
        edges.append(edge(ux(node), node.y, ux(dep), dep.y + NODE_H, "undo"));
      }
    }
    boxes.append(stepNode(node));
    if (node.compensation) boxes.append(undoNode(node));
  }
  root.append(edges, boxes);
  byId("graph").replaceChildren(root);
}

function markers() {
  const arrow = (id) =>
    svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z" }));
  return svg("defs", {}, arrow("arrow-forward"), arrow("arrow-undo"));
}

function edge(x1, y1, x2, y2, kind) {
  const bend = Math.max(18, Math.abs(y2 - y1) / 2) * Math.sign(y2 - y1 || 1);
  const d = `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
  return svg("path", { d, class: `edge ${kind}`, "marker-end": `url(#arrow-${kind})` });
}

function stepNode(node) {
  const title = svg("title");
  title.textContent = node.name;
  const name = svg("text", { x: node.x + 10, y: node.y + 18, class: "name" });
  name.textContent = node.name.length > 22 ? `${node.name.slice(0, 21)}…` : node.name;
  const status = svg("text", { x: node.x + 10, y: node.y + 36, class: "status" });
  status.textContent = "PENDING";
  const marks = [node.pivot ? "pivot" : "", node.when ? "when" : ""].filter(Boolean).join(" · ");
  const mark = svg("text", { x: node.x + STEP_W - 8, y: node.y + 36, class: "mark", "text-anchor": "end" });
  mark.textContent = marks;
  const rect = svg("rect", { x: node.x, y: node.y, width: STEP_W, height: NODE_H, rx: 6, class: node.pivot ? "box pivot" : "box" });
  return svg("g", { class: "step status-PENDING", "data-step": node.name, "data-status": "PENDING" }, title, rect, name, status, mark);
}

function undoNode(node) {
  const x = node.x + STEP_W + GAP;
  const title = svg("title");
  title.textContent = `the compensation of ${node.name}`;
  const label = svg("text", { x: x + 8, y: node.y + 18, class: "name" });
  label.textContent = "undo";
  const state = svg("text", { x: x + 8, y: node.y + 36, class: "status" });
  const link = svg("path", { d: `M${node.x + STEP_W},${node.y + NODE_H / 2} h${GAP}`, class: "edge undo" });
  const rect = svg("rect", { x, y: node.y, width: UNDO_W, height: NODE_H, rx: 6, class: "box" });
  return svg("g", { class: "undo", "data-undo": node.name }, title, link, rect, label, state);
}

function paint(step) {
  const name = CSS.escape(step.name);
  const node = document.querySelector(`#graph g.step[data-step="${name}"]`);
  if (!node) return;
  node.setAttribute("class", `step status-${step.status}`);
  node.dataset.status = step.status;
  node.querySelector(".status").textContent = step.status.replaceAll("_", " ");
  const undo = document.querySelector(`#graph g.undo[data-undo="${name}"]`);
  if (undo) {
    const state = UNDO_STATE[step.status] || (step.compensation_skipped ? "skipped" : "");
    undo.setAttribute("class", state ? `undo status-${step.status}` : "undo");
    undo.querySelector(".status").textContent = state;
  }
}

main().catch(showError);
