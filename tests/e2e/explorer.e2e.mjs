// End-to-end test of `othello-gpt serve` in a real browser (headless Chromium, driven by
// playwright-core; no browser download: Debian's chromium is used).
//   node tests/e2e/explorer.e2e.mjs path/to/othello-gpt
// Trains a tiny model and probes, starts the server on a free port, pastes a game, checks the
// heatmap and the legal-move marks against the engine (`othello-gpt show --json`), steps back and
// forward, reads a probe, clicks a disc to flip it inside the model, and checks what the page shows
// against an independent legal-move generator (below) and `othello-gpt intervene --json`.
// Exit 77 (ctest: skipped) when chromium or node_modules is missing.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const SKIP = 77;
const skip = (why) => { console.log("SKIP: " + why); process.exit(SKIP); };
const cli = process.argv[2];
if (!cli || !fs.existsSync(cli)) { console.error("usage: node explorer.e2e.mjs path/to/othello-gpt"); process.exit(2); }
const browserPath = [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p && fs.existsSync(p));
if (!browserPath) skip("chromium not installed (bash scripts/setup.sh --with-browser)");
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch {
  skip("playwright-core not installed: run `npm ci` in tests/e2e");
}

let failures = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failures++;
}
const sameSet = (a, b) => a.length === b.length && [...a].sort().join(" ") === [...b].sort().join(" ");
const run = (...args) => execFileSync(cli, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

// An independent legal-move generator on a 64-char board ('.' 'B' 'W', a1 = index 0).
function legalMoves(board, toMove) {
  const me = toMove === "black" ? "B" : "W", them = me === "B" ? "W" : "B", out = [];
  for (let s = 0; s < 64; s++) {
    if (board[s] !== ".") continue;
    const r = Math.floor(s / 8), c = s % 8;
    let ok = false;
    for (const [dr, dc] of [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]]) {
      let rr = r + dr, cc = c + dc, n = 0;
      while (rr >= 0 && rr < 8 && cc >= 0 && cc < 8 && board[rr * 8 + cc] === them) { rr += dr; cc += dc; n++; }
      if (n > 0 && rr >= 0 && rr < 8 && cc >= 0 && cc < 8 && board[rr * 8 + cc] === me) ok = true;
    }
    if (ok) out.push("abcdefgh"[c] + (r + 1));
  }
  return out;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ogpt-e2e-"));
let server = null, browser = null;
try {
  // A tiny model (2 layers, d_model 64) and probes: enough to drive every panel.
  const runDir = path.join(tmp, "run"), probeDir = path.join(tmp, "probes");
  fs.mkdirSync(probeDir);
  run("train", "--preset", "2x64", "--games", "512", "--batch", "64", "--val-games", "64", "--out", runDir);
  for (const [kind, layer] of [["linear", 1], ["linear", 2], ["mlp", 2]])
    run("probe", "train", "--model", runDir, "--random", "64", "--layer", String(layer), "--kind", kind,
        "--basis", "mine-theirs", "--quiet", "--out", path.join(probeDir, `${kind}-L${layer}.probe`));
  const model = ["--model", runDir, "--probe", probeDir];

  server = spawn(cli, ["serve", "--port", "0", ...model], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("no URL from serve within 60 s: " + out)), 60000);
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/http:\/\/\S+\//);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    server.on("exit", (code) => reject(new Error("serve exited with " + code + ": " + out)));
  });
  console.log("server at " + url);

  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox"] });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById("model").textContent.includes("loading"));

  // Paste a game: the heatmap and the legal marks appear, and match the engine.
  const moves = "f5 d6 c3 d3 c4 f4";
  await page.fill("#game", moves);
  await page.click("#load");
  await page.waitForFunction(() => document.getElementById("moveinfo").textContent.startsWith("move 6 of 6"));
  await page.waitForSelector("#game-errors");
  const cells = (id) => page.$$eval(`#${id} g[data-square]`, (gs) => gs.map((g) => ({
    sq: g.dataset.square, legal: g.dataset.legal === "1", predicted: g.dataset.predicted === "1",
    prob: g.dataset.prob === undefined ? null : +g.dataset.prob, cell: g.dataset.cell })));
  let game = await cells("board-game");
  const truth = JSON.parse(run("show", "--json", "--moves", moves));
  check(game.length === 64, "the game board has 64 cells");
  check(game.filter((c) => c.prob !== null).length === 60, "heatmap: a probability on each of the 60 move squares");
  const psum = game.reduce((s, c) => s + (c.prob || 0), 0);
  check(Math.abs(psum - 1) < 1e-3, `heatmap probabilities sum to 1 (${psum.toFixed(5)})`);
  const marked = game.filter((c) => c.legal).map((c) => c.sq);
  check(sameSet(marked, truth.legal), `legal marks ${marked} = engine's legal moves ${truth.legal}`);
  check(game.filter((c) => c.predicted).length === truth.legal.length, "the model's top-N marks number N");

  // Step back and forward.
  await page.click("#back");
  await page.waitForFunction(() => document.getElementById("moveinfo").textContent.startsWith("move 5 of 6"));
  const back = JSON.parse(run("show", "--json", "--moves", moves.split(" ").slice(0, 5).join(" ")));
  await page.waitForSelector("#game-errors");
  game = await cells("board-game");
  check(sameSet(game.filter((c) => c.legal).map((c) => c.sq), back.legal), "after stepping back: the engine's legal moves");
  await page.click("#fwd");
  await page.waitForFunction(() => document.getElementById("moveinfo").textContent.startsWith("move 6 of 6"));

  // The probe panel reads the board.
  await page.waitForSelector("#probe-correct");
  const correct = +(await page.textContent("#probe-correct"));
  check(correct >= 0 && correct <= 64, `probe panel: ${correct}/64 cells read right`);

  // Play a legal move by clicking it.
  await page.click(`#board-game g[data-square="${truth.legal[0]}"]`);
  await page.waitForFunction(() => document.getElementById("moveinfo").textContent.startsWith("move 7 of 7"));
  await page.click("#back");
  await page.waitForFunction(() => document.getElementById("moveinfo").textContent.startsWith("move 6 of 7"));
  await page.waitForSelector("#game-errors");

  // Flip a disc inside the model: the page's edited board, its legal marks and the errors.
  const before = await cells("board-edit");
  const toMove = truth.to_move, mine = toMove === "black" ? "B" : "W";
  let done = false;
  for (const c of before.filter((c) => c.cell !== ".")) {
    const edited = before.map((x) => x.cell);
    const s = before.indexOf(c);
    edited[s] = c.cell === "B" ? "W" : "B";
    const legalAfter = legalMoves(edited.join(""), toMove);
    if (legalAfter.length === 0) continue;
    await page.click(`#board-edit g[data-square="${c.sq}"]`);
    await page.waitForFunction((sq) => {
      const t = document.getElementById("edit-text").textContent;
      return t.startsWith(sq + ":");
    }, c.sq);
    const after = await cells("board-edit");
    check(after.map((x) => x.cell).join("") === edited.join(""), `edited board: ${c.sq} flipped, the rest unchanged`);
    const shownLegal = after.filter((x) => x.legal).map((x) => x.sq);
    check(sameSet(shownLegal, legalAfter), `edited board's legal marks ${shownLegal} = independent generator's ${legalAfter}`);
    const listed = (await page.textContent("#edit-legal")).trim().split(/\s+/);
    check(sameSet(listed, legalAfter), "listed legal-after set = independent generator's");
    check(after.filter((x) => x.predicted).length === legalAfter.length, "the edited model's top-N marks number N");
    const to = c.cell === mine ? "theirs" : "mine";
    const layer = await page.inputValue("#edit-layer"), method = await page.inputValue("#edit-method");
    const positions = await page.inputValue("#edit-positions");
    const cliOut = JSON.parse(run("intervene", ...model, "--moves", moves, "--cell", c.sq, "--to", to,
                                  "--method", method, "--layer", layer, "--positions", positions, "--json"));
    check(sameSet(cliOut.after.legal, legalAfter), "`intervene --json` agrees on the legal set");
    const errors = +(await page.textContent("#edit-errors"));
    check(errors === cliOut.errors, `errors shown (${errors}) = intervene --json's (${cliOut.errors})`);
    const shownPred = after.filter((x) => x.predicted).map((x) => x.sq);
    check(sameSet(shownPred, cliOut.after.predicted), "predicted marks = intervene --json's top-N");
    done = true;
    break;
  }
  check(done, "found a disc whose flip leaves a legal move");

  // A bad game is refused with a message naming the move.
  await page.fill("#game", "f5 f5");
  await page.click("#load");
  await page.waitForFunction(() => document.getElementById("error").textContent.length > 0);
  const err = await page.textContent("#error");
  check(/move 2 \(f5\)/.test(err), `an illegal move is reported: "${err}"`);
  check(pageErrors.length === 0, "no JavaScript errors" + (pageErrors.length ? ": " + pageErrors.join("; ") : ""));
  check(external.length === 0, "nothing fetched from elsewhere" + (external.length ? ": " + external.join(" ") : ""));

  // Ctrl-C stops the server cleanly.
  const exited = new Promise((resolve) => server.on("exit", (code, sig) => resolve({ code, sig })));
  server.kill("SIGINT");
  const ex = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 10000))]);
  check(ex && ex.code === 0, "SIGINT stops the server with exit code 0");
  if (ex) server = null;
} catch (e) {
  console.error("FAIL " + (e.stack || e));
  failures++;
} finally {
  if (browser) await browser.close();
  if (server) server.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : "explorer e2e: all checks passed");
process.exit(failures ? 1 : 0);
