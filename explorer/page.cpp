// The explorer's page: one HTML document with its CSS and JavaScript inline (nothing is fetched
// from elsewhere, so it works offline). Boards are SVG drawn by the script from the JSON API
// (explorer/explorer.hpp). Cells carry data-* attributes (square, legal, predicted, prob) that
// the browser test (tests/e2e/explorer.e2e.mjs) reads.
#include "explorer/explorer.hpp"

namespace ogpt::explorer {

namespace {
const char kPage[] = R"PAGE(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>othello-gpt explorer</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f4f1; color: #222; }
header { background: #23303a; color: #eee; padding: 8px 16px; }
header b { font-size: 16px; } header span { color: #aab; margin-left: 12px; }
#controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 10px 16px; }
#game { width: 380px; font-family: monospace; }
#slider { width: 220px; }
button, select, input { font: inherit; }
#error { color: #a00; padding: 0 16px; min-height: 1.4em; white-space: pre-wrap; }
main { display: flex; flex-wrap: wrap; gap: 16px; padding: 0 16px 16px; }
.panel { background: #fff; border: 1px solid #ccc; border-radius: 6px; padding: 10px; width: 360px; }
.panel h2 { font-size: 15px; margin: 0 0 6px; }
.opts { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 6px; }
.text { font-size: 13px; margin-top: 6px; } .text div { margin: 2px 0; }
.mono { font-family: monospace; }
.pass { color: #070; font-weight: bold; } .fail { color: #a00; font-weight: bold; }
svg text { font-family: system-ui, sans-serif; pointer-events: none; }
.legend { padding: 0 16px 16px; color: #555; font-size: 13px; }
#busy { color: #777; }
</style></head>
<body>
<header><b>othello-gpt explorer</b><span id="model">loading...</span></header>
<div id="controls">
  <input id="game" placeholder='paste a game, e.g. "f5 d6 c3 d3 c4"' aria-label="game">
  <button id="load">Load</button><button id="new">New game</button>
  <button id="first" title="start">&laquo;</button><button id="back" title="back (left arrow)">&lsaquo;</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="move">
  <button id="fwd" title="forward (right arrow)">&rsaquo;</button><button id="last" title="end">&raquo;</button>
  <span id="moveinfo"></span> <span id="busy"></span>
</div>
<div id="error" role="alert"></div>
<main>
  <section class="panel"><h2>Board and the model's next move</h2>
    <svg id="board-game" width="345" height="345"></svg><div id="game-text" class="text"></div></section>
  <section class="panel"><h2>Probe: the board read from the residual stream</h2>
    <div class="opts"><select id="probe-kind"></select><select id="probe-basis"></select>
      <select id="probe-layer"></select></div>
    <svg id="board-probe" width="345" height="345"></svg><div id="probe-text" class="text"></div></section>
  <section class="panel"><h2>Intervention: edit the board inside the model</h2>
    <div class="opts">click a disc to <select id="edit-action"><option value="flip">flip it</option>
      <option value="empty">erase it</option></select>
      <select id="edit-method"></select> from layer <select id="edit-layer"></select>
      at <select id="edit-positions"><option value="last">the last position</option>
      <option value="since">every position since it changed</option></select></div>
    <svg id="board-edit" width="345" height="345"></svg><div id="edit-text" class="text"></div></section>
</main>
<div class="legend">Board: a1 top-left. Cell colour and % = the model's probability of that next move;
ring = a legal move (engine); yellow square = the model's top-N (N = number of legal moves); red = an
error (predicted but illegal, or legal but not predicted). Probe board: discs as the probe reads them,
faded by its confidence; a red cross marks a cell it reads wrong.</div>
<script>
"use strict";
const $ = id => document.getElementById(id);
const FILES = "abcdefgh";
const sqName = s => FILES[s % 8] + (Math.floor(s / 8) + 1);
const S = 40, M = 20;  // cell size and margin (px)
let info = null, game = {moves: [], upto: 0}, current = null, seq = 0;

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
  return j;
}
function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }
function el(tag, attrs, parent) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function heat(p) {  // white-green board to orange as p grows (sqrt: small p stay visible)
  const t = Math.min(1, Math.sqrt(p));
  const a = [46, 125, 50], b = [255, 160, 0];
  return "rgb(" + a.map((x, i) => Math.round(x + (b[i] - x) * t)).join(",") + ")";
}
// opts: board (64 chars .BW), probs {sq: p}, legal [], predicted [], wrong [] (red squares),
// missed [] (red rings), discs (64 entries {fill, opacity} overriding board), crosses [],
// highlight sq, last sq, onclick(sq, cellchar), clickable(sq) -> bool
function drawBoard(svg, o) {
  svg.textContent = "";
  const legal = new Set(o.legal || []), pred = new Set(o.predicted || []);
  const wrong = new Set(o.wrong || []), missed = new Set(o.missed || []), cross = new Set(o.crosses || []);
  for (let c = 0; c < 8; c++) el("text", {x: M + c * S + S / 2, y: 14, "text-anchor": "middle", "font-size": 12}, svg).textContent = FILES[c];
  for (let r = 0; r < 8; r++) el("text", {x: 7, y: M + r * S + S / 2 + 4, "text-anchor": "middle", "font-size": 12}, svg).textContent = r + 1;
  for (let s = 0; s < 64; s++) {
    const x = M + (s % 8) * S, y = M + Math.floor(s / 8) * S, name = sqName(s), cx = x + S / 2, cy = y + S / 2;
    const p = o.probs && name in o.probs ? o.probs[name] : null;
    const g = el("g", {"data-square": name, "data-legal": legal.has(name) ? 1 : 0,
                       "data-predicted": pred.has(name) ? 1 : 0, "data-cell": o.board ? o.board[s] : "."}, svg);
    if (p !== null) g.setAttribute("data-prob", p.toFixed(6));
    el("rect", {x, y, width: S, height: S, fill: p !== null ? heat(p) : "#2e7d32", stroke: "#1b4d1e"}, g);
    const d = o.discs ? o.discs[s] : (o.board && o.board[s] !== "." ? {fill: o.board[s] === "B" ? "#111" : "#f5f5f5", opacity: 1} : null);
    if (d) el("circle", {cx, cy, r: S * 0.4, fill: d.fill, "fill-opacity": d.opacity, stroke: "#333", "stroke-opacity": d.opacity}, g);
    if (d && d.mark) el("rect", {x: cx - 6, y: cy - 6, width: 12, height: 12, fill: d.mark, opacity: d.opacity}, g);
    if (legal.has(name)) el("circle", {cx, cy, r: S * 0.3, fill: "none", stroke: missed.has(name) ? "#e00" : "#fff", "stroke-width": 2.5}, g);
    if (pred.has(name)) el("rect", {x: x + 3, y: y + 3, width: S - 6, height: S - 6, fill: "none",
                                    stroke: wrong.has(name) ? "#e00" : "#ffeb3b", "stroke-width": 2.5}, g);
    if (p !== null && p >= 0.005 && !d) {
      const t = el("text", {x: cx, y: cy + 4, "text-anchor": "middle", "font-size": 11, fill: "#000"}, g);
      t.textContent = (100 * p).toFixed(p >= 0.1 ? 0 : 1);
    }
    if (cross.has(name)) el("path", {d: `M${x + 6},${y + 6}L${x + S - 6},${y + S - 6}M${x + S - 6},${y + 6}L${x + 6},${y + S - 6}`, stroke: "#e00", "stroke-width": 3}, g);
    if (o.last === name) el("circle", {cx: x + S - 7, cy: y + 7, r: 4, fill: "#e53935"}, g);
    if (o.highlight === name) el("rect", {x: x + 1, y: y + 1, width: S - 2, height: S - 2, fill: "none", stroke: "#2196f3", "stroke-width": 3}, g);
    if (o.onclick && (!o.clickable || o.clickable(name, s))) {
      g.style.cursor = "pointer";
      g.addEventListener("click", () => o.onclick(name, s));
    }
  }
}
function line(parent, html, cls) { const d = document.createElement("div"); d.innerHTML = html; if (cls) d.className = cls; parent.appendChild(d); return d; }
const list = a => a.length ? a.join(" ") : "(none)";

async function refresh() {
  const my = ++seq;
  $("busy").textContent = "working...";
  try {
    const st = await api("/api/state", {moves: game.moves, upto: game.upto});
    if (my !== seq) return;
    current = st;
    showError(null);
    renderGame(st);
    resetEdit(st);
    await refreshProbe(my);
  } catch (e) { if (my === seq) showError(e); }
  if (my === seq) $("busy").textContent = "";
}
function renderGame(st) {
  $("slider").max = game.moves.length; $("slider").value = game.upto;
  $("moveinfo").textContent = "move " + game.upto + " of " + game.moves.length + (st.last_move ? " (" + st.last_move + ")" : "");
  const m = st.model;
  const legal = new Set(st.legal), predicted = m ? m.predicted : [];
  drawBoard($("board-game"), {board: st.board, probs: m ? m.probabilities : null, legal: st.legal, predicted,
    wrong: predicted.filter(s => !legal.has(s)), missed: st.legal.filter(s => !predicted.includes(s)), last: st.last_move,
    onclick: sq => play(sq), clickable: sq => legal.has(sq)});
  const t = $("game-text"); t.textContent = "";
  line(t, st.game_over ? "game over" : "<b>" + st.to_move + "</b> to move &middot; black " + st.score.black + ", white " + st.score.white);
  line(t, "legal (" + st.legal.length + "): <span class=mono>" + list(st.legal) + "</span>");
  if (m) {
    line(t, "model top-" + st.legal.length + ": <span class=mono>" + list(m.predicted) + "</span> &middot; errors <b id=game-errors>" + m.errors + "</b>");
    line(t, "probability on legal moves " + (100 * m.p_legal).toFixed(1) + "%, top-1 " + m.top1);
  } else line(t, st.model_note || "");
  line(t, "moves: <span class=mono>" + (game.moves.slice(0, game.upto).join(" ") || "(start)") + "</span>");
}
function play(sq) {
  game.moves = game.moves.slice(0, game.upto).concat([sq]);
  game.upto++;
  $("game").value = game.moves.join(" ");
  refresh();
}
function go(k) { game.upto = Math.max(0, Math.min(game.moves.length, k)); refresh(); }

// ---- probe panel ----
function probeChoices() {
  const kind = $("probe-kind").value, basis = $("probe-basis").value;
  return info.probes.filter(p => p.kind === kind && p.basis === basis);
}
function fillSelect(sel, values, keep) {
  const old = sel.value; sel.textContent = "";
  for (const v of values) { const o = document.createElement("option"); o.value = v[0]; o.textContent = v[1]; sel.appendChild(o); }
  if (keep && values.some(v => String(v[0]) === old)) sel.value = old;
}
function fillProbeMenus(changed) {
  const ps = info.probes;
  if (changed === undefined) fillSelect($("probe-kind"), [...new Set(ps.map(p => p.kind))].map(k => [k, k]), true);
  const bases = [...new Set(ps.filter(p => p.kind === $("probe-kind").value).map(p => p.basis))];
  if (changed !== "basis" && changed !== "layer") fillSelect($("probe-basis"), bases.map(b => [b, b]), true);
  if (changed !== "layer") fillSelect($("probe-layer"), probeChoices().map(p => [p.layer, "layer " + p.layer]), true);
}
async function refreshProbe(my) {
  const t = $("probe-text");
  if (!info.probes.length) { t.textContent = "no probes loaded (serve --probe DIR)"; drawBoard($("board-probe"), {}); return; }
  if (game.upto === 0 || (current && current.upto > info.model.n_ctx)) {
    t.textContent = game.upto === 0 ? "play or paste a move: probes read the model's activations" : "the model reads at most " + info.model.n_ctx + " moves";
    drawBoard($("board-probe"), {board: current ? current.board : null}); return;
  }
  const r = await api("/api/probe", {moves: game.moves, upto: game.upto, layer: +$("probe-layer").value,
                                     basis: $("probe-basis").value, kind: $("probe-kind").value});
  if (my !== seq) return;
  const mineBlack = r.to_move === "black", binary = r.classes.length === 2;
  const colour = c => binary ? (c === 1 ? {fill: "none", mark: "#2196f3"} : null)
    : c === 0 ? null : ((c === 1) === (r.basis === "black-white" || mineBlack) ? {fill: "#111"} : {fill: "#f5f5f5"});
  const discs = r.reading.map((c, s) => { const d = colour(c); if (d) d.opacity = Math.max(0.25, r.confidence[s]); return d; });
  const crosses = r.reading.map((c, s) => c !== r.truth[s] ? sqName(s) : null).filter(x => x);
  drawBoard($("board-probe"), {discs, crosses, board: r.board});
  t.textContent = "";
  line(t, r.kind + " " + r.basis + " probe at <span class=mono>" + r.hook + "</span> (layer " + r.layer + ")");
  line(t, "<b id=probe-correct>" + r.correct + "</b>/64 cells read right" +
       (r.basis === "mine-theirs" ? " &middot; mine = " + r.to_move + " (to move)" : "") +
       (binary ? " &middot; blue = " + r.basis : ""));
  if (r.fitted_position === false)
    line(t, "<span id=probe-window>this probe was fitted on token positions " + r.positions + "; this is position " +
         (r.upto - 1) + ", outside them: the reading extrapolates</span>");
}

// ---- intervention panel ----
function resetEdit(st) {
  const t = $("edit-text"); t.textContent = "";
  const ok = info && Object.keys(info.intervene).length && st.model;
  drawBoard($("board-edit"), {board: st.board, last: st.last_move,
    onclick: ok ? sq => intervene(sq) : null, clickable: (sq, s) => st.board[s] !== "."});
  line(t, !info || !Object.keys(info.intervene).length ? "no board probes loaded: interventions need --probe"
       : !st.model ? (st.model_note || "") : "click a disc to " + ($("edit-action").value === "flip" ? "flip its colour" : "erase it") + " inside the model");
}
async function intervene(sq) {
  const my = ++seq;
  const s = FILES.indexOf(sq[0]) + 8 * (+sq[1] - 1), mine = current.to_move === "black" ? "B" : "W";
  const to = $("edit-action").value === "empty" ? "empty" : (current.board[s] === mine ? "theirs" : "mine");
  $("busy").textContent = "editing the model...";
  try {
    const r = await api("/api/intervene", {moves: game.moves, upto: game.upto, cell: sq, to,
                                           method: $("edit-method").value, layer: +$("edit-layer").value,
                                           positions: $("edit-positions").value});
    if (my !== seq) return;
    showError(null);
    const a = r.after, legal = new Set(a.legal);
    drawBoard($("board-edit"), {board: a.board, probs: a.probabilities, legal: a.legal, predicted: a.predicted,
      wrong: r.false_positives, missed: r.false_negatives, highlight: r.cell,
      onclick: c => intervene(c), clickable: (c, i) => current.board[i] !== "."});
    const t = $("edit-text"); t.textContent = "";
    line(t, "<b>" + r.cell + "</b>: " + r.from + " &rarr; " + r.to + " for " + r.to_move + "; " + r.method + " edit at layers " + r.layers.join(","));
    line(t, "legal before (" + r.before.legal.length + "): <span class=mono>" + list(r.before.legal) + "</span>, model: <span class=mono>" + list(r.before.predicted) + "</span>");
    line(t, "legal after (" + a.legal.length + "): <span class=mono id=edit-legal>" + list(a.legal) + "</span>");
    line(t, "model after, top-" + a.legal.length + ": <span class=mono id=edit-predicted>" + list(a.predicted) + "</span>");
    const d = line(t, "errors <b id=edit-errors>" + r.errors + "</b> (false positives: " + list(r.false_positives) +
      "; false negatives: " + list(r.false_negatives) + ") &middot; null errors " + r.null_errors + " ");
    d.setAttribute("data-errors", r.errors); d.setAttribute("data-null-errors", r.null_errors);
    line(t, r.pass ? "PASS: the edited model's top-N is exactly the edited board's legal set" : "FAIL: differs in " + r.errors + " square(s)", r.pass ? "pass" : "fail");
  } catch (e) { if (my === seq) showError(e); }
  if (my === seq) $("busy").textContent = "";
}
function fillEditMenus() {  // on start and on a change of method: that method's layers, its default chosen
  const ms = ["linear", "gradient"].filter(m => m in info.intervene);
  if ($("edit-method").options.length === 0) fillSelect($("edit-method"), ms.map(m => [m, m]), false);
  const m = info.intervene[$("edit-method").value];
  if (!m) return;
  fillSelect($("edit-layer"), m.layers.map(l => [l, String(l)]), false);
  $("edit-layer").value = m.default;
}

async function start() {
  try {
    info = await api("/api/info");
  } catch (e) { showError(e); return; }
  $("model").textContent = info.model.describe + " — " + info.model.path + " — " + info.probes.length + " probes";
  if (info.probes.length) {
    fillProbeMenus();
    const mt = info.probes.find(p => p.basis === "mine-theirs");
    if (mt) { $("probe-kind").value = mt.kind; fillProbeMenus("kind"); $("probe-basis").value = "mine-theirs"; fillProbeMenus("basis"); }
  }
  fillEditMenus();
  $("probe-kind").onchange = () => { fillProbeMenus("kind"); refresh(); };
  $("probe-basis").onchange = () => { fillProbeMenus("basis"); refresh(); };
  $("probe-layer").onchange = () => refresh();
  $("edit-method").onchange = () => { fillEditMenus(); if (current) resetEdit(current); };
  $("edit-layer").onchange = $("edit-action").onchange = $("edit-positions").onchange =
    () => { if (current) resetEdit(current); };
  $("load").onclick = async () => {
    try {
      const st = await api("/api/state", {moves: $("game").value});
      game = {moves: st.moves, upto: st.moves.length};
      refresh();
    } catch (e) { showError(e); }
  };
  $("game").addEventListener("keydown", e => { if (e.key === "Enter") $("load").click(); });
  $("new").onclick = () => { game = {moves: [], upto: 0}; $("game").value = ""; refresh(); };
  $("first").onclick = () => go(0);
  $("back").onclick = () => go(game.upto - 1);
  $("fwd").onclick = () => go(game.upto + 1);
  $("last").onclick = () => go(game.moves.length);
  $("slider").oninput = () => go(+$("slider").value);
  document.addEventListener("keydown", e => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;  // they use the arrows
    if (e.key === "ArrowLeft") go(game.upto - 1);
    if (e.key === "ArrowRight") go(game.upto + 1);
  });
  refresh();
}
start();
</script>
</body></html>
)PAGE";
}  // namespace

std::string_view page_html() { return {kPage, sizeof kPage - 1}; }

}  // namespace ogpt::explorer
