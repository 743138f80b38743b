/**
 * The run viewer's page: plain HTML, CSS and JavaScript (no framework, nothing fetched from
 * elsewhere), kept as strings so `npm run build` ships them inside `dist/`. The script polls
 * the viewer's JSON (`Viewer.ts`): the run list every 2 s, an unfinished run every second. It
 * writes data into the page with `textContent` only, never as HTML.
 *
 * @example
 * ```ts
 * import { pageHtml } from "./Page.ts"
 * HttpServerResponse.text(pageHtml, { contentType: "text/html" })
 * ```
 * @module
 */

/**
 * The HTML of the page.
 *
 * @example
 * ```ts
 * pageHtml.includes("<title>mcpflow runs</title>") // => true
 * ```
 */
export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mcpflow runs</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header><h1>mcpflow runs</h1><span id="state-dir"></span><span id="poll-state"></span></header>
<main>
<section id="list">
  <form id="filters">
    <input name="flow" placeholder="flow">
    <select name="status"><option value="">any status</option></select>
    <input name="since" placeholder="since (2h, 7d)" size="10">
    <input name="limit" placeholder="limit" size="5" inputmode="numeric">
    <button type="submit">filter</button>
  </form>
  <p id="list-error" class="error" hidden></p>
  <table id="runs"><thead><tr><th>run</th><th>flow</th><th>status</th><th>started</th><th>took</th></tr></thead><tbody></tbody></table>
</section>
<section id="run" hidden>
  <h2 id="run-title"></h2>
  <p id="run-meta"></p>
  <p id="run-error" class="error" hidden></p>
  <div class="panes">
    <div class="pane"><h3>Steps</h3><ul id="steps" class="tree"></ul></div>
    <div class="pane"><h3>Timeline</h3><div id="gantt"></div><ol id="timeline"></ol></div>
  </div>
  <div class="panes">
    <div class="pane"><h3>Plan</h3><div id="plan-svg"></div><details><summary>Mermaid source</summary><pre id="plan-source"></pre></details></div>
    <div class="pane"><h3>Input</h3><pre id="input"></pre><h3>Output</h3><pre id="output"></pre></div>
  </div>
  <div class="pane" id="audit-panel"><h3>Audit</h3><!-- AUDIT PANEL: filled from /api/audit?run=<id> --><table id="audit"><tbody></tbody></table><p id="audit-empty">no audit entries (no audit store)</p></div>
</section>
</main>
</body>
</html>
`

/**
 * The page's style.
 *
 * @example
 * ```ts
 * appCss.includes(".status-failed") // => true
 * ```
 */
export const appCss = `
:root { --ok: #1a7f37; --bad: #cf222e; --run: #0969da; --wait: #9a6700; --muted: #6e7781; --comp: #8250df; font: 14px/1.4 system-ui, sans-serif; }
body { margin: 0; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1em; background: #24292f; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; }
header span { color: #c9d1d9; font-size: .9em; }
main { display: grid; grid-template-columns: minmax(380px, 36%) 1fr; gap: 1em; padding: 1em; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .8em; overflow: auto; }
form { display: flex; flex-wrap: wrap; gap: .4em; margin-bottom: .6em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2em .4em; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
#runs tbody tr { cursor: pointer; }
#runs tbody tr:hover, #runs tbody tr.selected { background: #ddf4ff; }
code, pre, .mono { font-family: ui-monospace, monospace; font-size: .9em; }
pre { background: #f6f8fa; padding: .5em; overflow: auto; max-height: 18em; }
h2 { font-size: 1.1em; margin: 0 0 .3em; } h3 { font-size: 1em; margin: .4em 0; }
.panes { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.pane { min-width: 0; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .85em; color: #fff; background: var(--muted); }
.status-succeeded { background: var(--ok); } .status-failed, .status-crashed { background: var(--bad); }
.status-running { background: var(--run); } .status-waiting, .status-sleeping { background: var(--wait); }
.status-interrupted, .status-cancelled, .status-skipped { background: var(--muted); }
.tree, .tree ul { list-style: none; margin: 0; padding-left: 1.1em; }
.tree { padding-left: 0; }
.step { margin: .15em 0; }
.step .icon { display: inline-block; width: 1.2em; }
.step[data-status="succeeded"] > .line .icon { color: var(--ok); }
.step[data-status="failed"] > .line .icon { color: var(--bad); }
.step[data-status="running"] > .line .icon { color: var(--run); }
.step[data-status="waiting"] > .line .icon { color: var(--wait); }
.muted { color: var(--muted); }
.tag { font-size: .8em; border: 1px solid #d0d7de; border-radius: 3px; padding: 0 .3em; margin-left: .3em; }
.comp { color: var(--comp); } .comp-failed { color: var(--bad); }
.error { color: var(--bad); white-space: pre-wrap; }
#timeline { padding-left: 0; list-style: none; max-height: 22em; overflow: auto; }
#timeline li { display: grid; grid-template-columns: 5.5em 9em 1fr; gap: .4em; border-bottom: 1px solid #eaeef2; }
#timeline li[data-kind="failed"], #timeline li[data-kind="compensation-failed"] { color: var(--bad); }
#timeline li[data-kind="retry"], #timeline li[data-kind="policy"] { color: var(--wait); }
#timeline li[data-kind^="compens"] { color: var(--comp); }
#timeline li[data-kind="replayed"] { color: var(--muted); }
#timeline li[data-kind="fault"], .step .fault { color: var(--wait); font-weight: 600; }
.bar-row { display: grid; grid-template-columns: 9em 1fr; gap: .4em; align-items: center; font-size: .85em; }
.bar-track { position: relative; height: .9em; background: #f6f8fa; }
.bar { position: absolute; top: 0; bottom: 0; min-width: 2px; background: var(--ok); }
.bar.faulted { outline: 2px dashed var(--wait); outline-offset: 1px; }
.bar.failed { background: var(--bad); } .bar.running { background: var(--run); } .bar.waiting { background: var(--wait); } .bar.replayed { background: #afb8c1; }
#plan-svg svg { max-width: 100%; height: auto; }
#plan-svg rect { fill: #fff; stroke: #8c959f; }
#plan-svg .succeeded rect { fill: #dafbe1; stroke: var(--ok); } #plan-svg .failed rect { fill: #ffebe9; stroke: var(--bad); }
#plan-svg .running rect { fill: #ddf4ff; stroke: var(--run); } #plan-svg .waiting rect { fill: #fff8c5; stroke: var(--wait); }
#plan-svg .compensated rect { fill: #fbefff; stroke: var(--comp); }
#plan-svg text { font-size: 11px; }
#plan-svg line { stroke: #8c959f; } #plan-svg line.dashed { stroke-dasharray: 4 3; }
@media (max-width: 900px) { main, .panes { grid-template-columns: 1fr; } }
`

/**
 * The page's script (written without backticks or dollar-brace, so it sits in a plain string).
 *
 * @example
 * ```ts
 * appJs.includes("/api/runs") // => true
 * ```
 */
export const appJs = String.raw`
"use strict";
(function () {
  var statuses = ["running", "sleeping", "waiting", "crashed", "cancelled", "interrupted", "succeeded", "failed"];
  var selected = null, detailTimer = null, listTimer = null, planFor = null, planIds = {}, lastDetail = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function ms(n) {
    if (n === undefined || n === null) return "—";
    if (n < 1000) return Math.round(n) + "ms";
    if (n < 60000) return (n / 1000).toFixed(1) + "s";
    var m = Math.floor(n / 60000), s = Math.round((n % 60000) / 1000);
    return m + "m " + (s < 10 ? "0" : "") + s + "s";
  }
  function when(t) { return t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "—"; }
  function badge(status) { return el("span", { "class": "badge status-" + status, "data-status": status }, status); }
  function getJson(url) {
    return fetch(url, { headers: { accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body && body.error ? body.error.message : r.status + " " + r.statusText);
        return body;
      });
    });
  }
  function query() {
    var form = $("filters"), params = new URLSearchParams();
    ["flow", "status", "since", "limit"].forEach(function (name) {
      var v = form.elements[name].value.trim();
      if (v !== "") params.set(name, v);
    });
    return params.toString();
  }

  // ---- the run list ----
  function loadList() {
    return getJson("/api/runs?" + query()).then(function (body) {
      $("list-error").hidden = true;
      $("state-dir").textContent = body.stateDir + (body.journal ? "" : " (no journal yet)");
      var tbody = $("runs").tBodies[0];
      tbody.textContent = "";
      body.runs.forEach(function (run) {
        var tr = el("tr", { "data-run-id": run.runId, "data-status": run.status });
        if (run.runId === selected) tr.className = "selected";
        tr.appendChild(el("td", { "class": "mono", title: run.runId }, run.runId.slice(0, 8)));
        tr.appendChild(el("td", null, run.flow));
        var td = el("td"); td.appendChild(badge(run.status)); tr.appendChild(td);
        tr.appendChild(el("td", null, when(run.startedAt)));
        tr.appendChild(el("td", null, run.finishedAt ? ms(run.finishedAt - run.startedAt) : "—"));
        tr.addEventListener("click", function () { location.hash = "run=" + run.runId; });
        tbody.appendChild(tr);
      });
      if (body.runs.length === 0) {
        var empty = el("tr"); empty.appendChild(el("td", { colspan: "5", "class": "muted" }, "no runs" + (query() ? " match" : ""))); tbody.appendChild(empty);
      }
    }).catch(function (e) { $("list-error").hidden = false; $("list-error").textContent = e.message; });
  }

  // ---- one run ----
  function stepLine(step) {
    var li = el("li", { "class": "step", "data-path": step.path, "data-status": step.status, "data-kind": step.kind });
    var line = el("div", { "class": "line" });
    var icons = { succeeded: "✓", failed: "✗", running: "▶", waiting: "⏸", skipped: "⊘", interrupted: "■" };
    line.appendChild(el("span", { "class": "icon" }, icons[step.status] || "•"));
    line.appendChild(el("span", { "class": "name" }, step.name));
    if (step.kind !== "step") line.appendChild(el("span", { "class": "tag" }, step.kind));
    line.appendChild(el("span", { "class": "muted" }, " " + step.status + (step.durationMs !== undefined ? " · " + ms(step.durationMs) : "")));
    if (step.attempts && step.attempts > 1) line.appendChild(el("span", { "class": "tag attempts" }, step.attempts + " attempts"));
    if (step.replayed) line.appendChild(el("span", { "class": "tag replayed" }, "replayed"));
    if (step.rerun) line.appendChild(el("span", { "class": "tag rerun" }, "re-run after crash"));
    li.appendChild(line);
    step.retries.forEach(function (r) {
      li.appendChild(el("div", { "class": "retry muted" }, "↻ retry " + r.attempt + " after " + ms(r.delayMs) + ": " + r.reason));
    });
    if (step.compensation) {
      var c = step.compensation;
      var text = c.status === "compensated" ? "↩ compensated" + (c.durationMs !== undefined ? " in " + ms(c.durationMs) : "")
        : c.status === "failed" ? "↩ compensation failed: " + c.error : "↩ compensating…";
      li.appendChild(el("div", { "class": c.status === "failed" ? "comp comp-failed" : "comp", "data-compensation": c.status }, text));
    }
    if (step.waiting) {
      li.appendChild(el("div", { "class": "muted" }, step.waiting.signal ? "waiting for signal " + JSON.stringify(step.waiting.signal) : "sleeping until " + when(step.waiting.until)));
    }
    if (step.why) li.appendChild(el("div", { "class": "muted" }, "skipped: " + step.why));
    if (step.error) li.appendChild(el("div", { "class": "error" }, step.error));
    step.notes.forEach(function (n) { li.appendChild(el("div", { "class": "muted note" }, n)); });
    (step.faults || []).forEach(function (f) { li.appendChild(el("div", { "class": "fault" }, "ϟ " + f)); });
    return li;
  }
  function renderSteps(steps) {
    var root = $("steps"); root.textContent = "";
    var stack = [{ depth: -1, ul: root }];
    steps.forEach(function (step) {
      while (stack.length > 1 && stack[stack.length - 1].depth >= step.depth) stack.pop();
      var li = stepLine(step);
      stack[stack.length - 1].ul.appendChild(li);
      var ul = el("ul"); li.appendChild(ul);
      stack.push({ depth: step.depth, ul: ul });
    });
    if (steps.length === 0) root.appendChild(el("li", { "class": "muted" }, "no steps yet"));
  }
  function renderTimeline(detail) {
    var gantt = $("gantt"); gantt.textContent = "";
    var run = detail.run, now = Date.now();
    var total = Math.max(1, run.finishedAt ? run.finishedAt - run.startedAt : now - run.startedAt);
    detail.steps.forEach(function (s) { if (s.startMs !== undefined && s.durationMs !== undefined) total = Math.max(total, s.startMs + s.durationMs); });
    detail.steps.filter(function (s) { return s.kind === "step" && s.startMs !== undefined; }).forEach(function (s) {
      var row = el("div", { "class": "bar-row", "data-path": s.path });
      row.appendChild(el("span", { "class": "mono", title: s.path }, s.name));
      var track = el("div", { "class": "bar-track" });
      var faults = s.faults || [];
      var bar = el("div", {
        "class": "bar " + (s.replayed ? "replayed" : s.status) + (faults.length ? " faulted" : ""),
        title: s.path + " " + ms(s.durationMs) + faults.map(function (f) { return "\nϟ " + f; }).join("")
      });
      bar.style.left = (100 * s.startMs / total) + "%";
      bar.style.width = (100 * (s.durationMs || 0) / total) + "%";
      track.appendChild(bar); row.appendChild(track); gantt.appendChild(row);
    });
    var list = $("timeline"); list.textContent = "";
    detail.timeline.forEach(function (t) {
      var li = el("li", { "data-kind": t.kind, "data-path": t.path });
      li.appendChild(el("span", { "class": "mono" }, "+" + ms(t.offsetMs)));
      li.appendChild(el("span", { "class": "mono", title: t.path }, t.path || "(run)"));
      li.appendChild(el("span", null, t.text));
      list.appendChild(li);
    });
  }
  function renderRun(detail) {
    lastDetail = detail;
    var run = detail.run;
    $("run").hidden = false;
    var title = $("run-title"); title.textContent = "";
    title.appendChild(el("span", { "class": "mono" }, run.runId + " "));
    title.appendChild(el("span", null, run.flow + " "));
    title.appendChild(badge(run.status));
    title.setAttribute("data-status", run.status);
    var meta = "started " + when(run.startedAt) + (run.finishedAt ? " · took " + ms(run.finishedAt - run.startedAt) : "") +
      " · " + detail.counters.retries + " retries · " + detail.counters.compensations + " compensations" +
      (detail.counters.compensationFailures ? " (" + detail.counters.compensationFailures + " failed)" : "") +
      (detail.counters.faultsFired ? " · " + detail.counters.faultsFired + (detail.counters.faultsFired === 1 ? " fault" : " faults") + " injected" : "") +
      (run.source ? " · " + run.source : "") +
      (run.owner && detail.live ? " · pid " + run.owner.pid + " on " + run.owner.host : "") +
      (run.parked ? " · parked at " + run.parked.step : "");
    $("run-meta").textContent = meta;
    var err = $("run-error");
    err.hidden = !run.error;
    err.textContent = run.error ? (run.failedStep ? run.failedStep + ": " : "") + run.error : "";
    renderSteps(detail.steps);
    renderTimeline(detail);
    $("input").textContent = JSON.stringify(run.input, null, 2);
    $("output").textContent = run.output === undefined ? "(not recorded in the journal)" : JSON.stringify(run.output, null, 2);
    colourPlan();
    $("poll-state").textContent = detail.live ? "live: polling every second" : "";
  }
  function loadRun(id) {
    return getJson("/api/runs/" + encodeURIComponent(id)).then(function (detail) {
      if (selected !== id) return;
      renderRun(detail);
      if (planFor !== detail.run.runId) { planFor = detail.run.runId; loadPlan(detail.run.runId); loadAudit(detail.run.runId); }
      clearTimeout(detailTimer);
      if (detail.live) detailTimer = setTimeout(function () { loadRun(id); }, 1000);
    }).catch(function (e) {
      $("run").hidden = false; $("run-error").hidden = false; $("run-error").textContent = e.message;
    });
  }

  // ---- the plan: Mermaid source, drawn as a small layered SVG ----
  function unlabel(s) {
    var named = { quot: '"', lt: "<", gt: ">" };
    return s.replace(/#(\w+);/g, function (_, n) { return named[n] !== undefined ? named[n] : /^\d+$/.test(n) ? String.fromCharCode(Number(n)) : "#" + n + ";"; });
  }
  function parseMermaid(src) {
    var nodes = {}, order = [], edges = [], groups = {}, stack = [];
    src.split("\n").forEach(function (raw) {
      var line = raw.trim(), m;
      if ((m = /^subgraph (\w+)/.exec(line))) { groups[m[1]] = []; stack.push(m[1]); return; }
      if (line === "end") { stack.pop(); return; }
      if ((m = /^(\w+)\s+(-->|-\.->)(?:\|"?(.*?)"?\|)?\s+(\w+)$/.exec(line))) { edges.push({ from: m[1], to: m[4], dashed: m[2] !== "-->", label: m[3] }); return; }
      if ((m = /^(\w+)(\["|\{\{"|\(\[")(.*?)("\]|"\}\}|"\]\))$/.exec(line))) {
        nodes[m[1]] = { id: m[1], label: unlabel(m[3]).split("<br/>"), shape: m[2] };
        order.push(m[1]);
        stack.forEach(function (g) { groups[g].push(m[1]); });
      }
    });
    function expand(id) { return groups[id] ? groups[id].filter(function (n) { return nodes[n]; }) : nodes[id] ? [id] : []; }
    var flat = [];
    edges.forEach(function (e) { expand(e.from).forEach(function (a) { expand(e.to).forEach(function (b) { if (a !== b) flat.push({ from: a, to: b, dashed: e.dashed, label: e.label }); }); }); });
    return { nodes: nodes, order: order, edges: flat };
  }
  function drawPlan(src) {
    var g = parseMermaid(src), layer = {}, changed = true, guard = 0;
    g.order.forEach(function (id) { layer[id] = 0; });
    while (changed && guard++ < 200) {
      changed = false;
      g.edges.forEach(function (e) {
        var want = e.label === "on failure" ? layer[e.from] : layer[e.from] + 1;
        if (layer[e.to] < want) { layer[e.to] = want; changed = true; }
      });
    }
    var rows = {}, W = 190, H = 44, GX = 16, GY = 30, pos = {}, width = 0, height = 0;
    g.order.forEach(function (id) { (rows[layer[id]] = rows[layer[id]] || []).push(id); });
    Object.keys(rows).forEach(function (l) {
      rows[l].forEach(function (id, i) { pos[id] = { x: 8 + i * (W + GX), y: 8 + Number(l) * (H + GY) }; width = Math.max(width, pos[id].x + W + 8); height = Math.max(height, pos[id].y + H + 8); });
    });
    var NS = "http://www.w3.org/2000/svg";
    function svgEl(tag, attrs, text) { var e = document.createElementNS(NS, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img", "aria-label": "plan" });
    g.edges.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      if (!a || !b) return;
      var side = e.label === "on failure";
      svg.appendChild(svgEl("line", side
        ? { x1: a.x + W, y1: a.y + H / 2, x2: b.x, y2: b.y + H / 2, "class": "dashed" }
        : { x1: a.x + W / 2, y1: a.y + H, x2: b.x + W / 2, y2: b.y, "class": e.dashed ? "dashed" : "" }));
    });
    g.order.forEach(function (id) {
      var p = pos[id], n = g.nodes[id];
      var grp = svgEl("g", { "data-id": id });
      grp.appendChild(svgEl("rect", { x: p.x, y: p.y, width: W, height: H, rx: n.shape === '(["' ? 18 : 4 }));
      n.label.slice(0, 2).forEach(function (t, i) {
        grp.appendChild(svgEl("text", { x: p.x + 8, y: p.y + 17 + i * 15 }, t.length > 30 ? t.slice(0, 29) + "…" : t));
      });
      svg.appendChild(grp);
    });
    var box = $("plan-svg"); box.textContent = ""; box.appendChild(svg);
  }
  function colourPlan() {
    if (!lastDetail) return;
    lastDetail.steps.forEach(function (s) {
      var id = planIds[s.path];
      if (!id) return;
      var node = document.querySelector('#plan-svg g[data-id="' + id + '"]');
      if (node) node.setAttribute("class", s.status);
      var undo = document.querySelector('#plan-svg g[data-id="u' + id.slice(1) + '"]');
      if (undo && s.compensation) undo.setAttribute("class", s.compensation.status === "compensated" ? "compensated" : "failed");
    });
  }
  function loadPlan(id) {
    $("plan-svg").textContent = "loading the plan…"; $("plan-source").textContent = "";
    getJson("/api/runs/" + encodeURIComponent(id) + "/plan").then(function (plan) {
      if (planFor !== id) return;
      if (plan.error) { $("plan-svg").textContent = "no plan: " + plan.error; return; }
      planIds = plan.ids || {};
      $("plan-source").textContent = plan.mermaid;
      drawPlan(plan.mermaid);
      colourPlan();
    }).catch(function (e) { $("plan-svg").textContent = "no plan: " + e.message; });
  }

  // ---- AUDIT PANEL: entries from /api/audit (an empty list until an audit store exists) ----
  function loadAudit(id) {
    getJson("/api/audit?run=" + encodeURIComponent(id)).then(function (entries) {
      var tbody = $("audit").tBodies[0]; tbody.textContent = "";
      $("audit-empty").hidden = entries.length > 0;
      entries.forEach(function (entry) {
        var tr = el("tr");
        Object.keys(entry).forEach(function (k) { tr.appendChild(el("td", { "class": "mono", title: k }, typeof entry[k] === "string" ? entry[k] : JSON.stringify(entry[k]))); });
        tbody.appendChild(tr);
      });
    }).catch(function () { $("audit-empty").hidden = false; });
  }

  function route() {
    var m = /run=([^&]+)/.exec(location.hash);
    var id = m ? decodeURIComponent(m[1]) : null;
    if (id === selected) return;
    selected = id; planFor = null; lastDetail = null; planIds = {};
    clearTimeout(detailTimer);
    Array.prototype.forEach.call(document.querySelectorAll("#runs tbody tr"), function (tr) { tr.className = tr.getAttribute("data-run-id") === id ? "selected" : ""; });
    if (id) loadRun(id); else $("run").hidden = true;
  }
  function pollList() { clearTimeout(listTimer); loadList().then(function () { listTimer = setTimeout(pollList, 2000); }); }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("#filters select");
    statuses.forEach(function (s) { select.appendChild(el("option", { value: s }, s)); });
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); pollList(); });
    window.addEventListener("hashchange", route);
    pollList();
    route();
  });
})();
`
