#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's own test runner.
// Arguments filter by substring of the path: `node scripts/run-tests.mjs rego oci/`.
// Each test FILE gets 180 s (node's --test-timeout bounds a whole file, not each test in it) unless
// its first lines declare more, as files that boot VMs do:
//   // run-tests: timeout 15 min (why that much)
// Files run quick ones first, so slow boots never starve them, each in its own `node --test` child
// (COCO_TEST_CONCURRENCY side by side, default one less than the cores). A hang must fail, not stall
// CI: a file still running a minute after its budget is killed with its process group; the process
// exits once its tests are done even if a leaked handle would keep it alive.
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
// The tests run on the Node.js package.json's `engines` asks for (npm scripts run the one
// scripts/setup pins in .tools/node); an older one fails here rather than in odd ways later.
const minMajor = Number(
  /(\d+)/.exec(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines.node)[1],
);
if (Number(process.versions.node.split(".")[0]) < minMajor) {
  console.error(
    `run-tests: ERR_NODE_VERSION: the tests need Node.js ${minMajor} or newer; this is ${process.version} (${process.execPath}). Run scripts/setup, then npm test (npm scripts run .tools/node/bin/node).`,
  );
  process.exit(1);
}
const dist = join(root, "dist");
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const files = walk(dist, [])
  .filter((f) => filters.length === 0 || filters.some((s) => relative(dist, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files under dist/ match ${JSON.stringify(filters)}; run npm run build`);
  process.exit(1);
}
const DEFAULT_MS = 180_000;
/** The file's declared budget (`// run-tests: timeout N min` in its first 2 KiB), ms. */
function budget(file) {
  const buf = Buffer.alloc(2048);
  const fd = openSync(file, "r");
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const m = /^\/\/ run-tests: timeout (\d+) min\b/m.exec(buf.subarray(0, n).toString("utf8"));
  return m ? Number(m[1]) * 60_000 : DEFAULT_MS;
}
// Quick files first, so slow boots never starve them; then by path.
const plan = files.map((f) => ({ file: f, ms: budget(f) })).sort((a, b) => a.ms - b.ms);
// node's --test-timeout fails a test that overruns, but a file whose top level never settles (a
// hung import, an await on a peer that never answers) is not stopped by it: each file therefore
// runs in its own `node --test` child, in its own process group, killed with everything it started
// once its budget plus a grace minute is spent, and counted as a failure.
const GRACE_MS = 60_000;
const workers = Math.max(
  1,
  Number(process.env.COCO_TEST_CONCURRENCY) || availableParallelism() - 1,
);
const totals = { passed: 0, failed: 0, skipped: 0 };
function runFile({ file, ms }) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--test", "--test-reporter=spec", `--test-timeout=${ms}`, "--test-force-exit", file],
      { stdio: ["ignore", "pipe", "pipe"], cwd: root, detached: true },
    );
    // One file at a time streams its report; files run side by side print theirs when done.
    const stream = workers === 1;
    const out = [];
    const emit = (chunk, to) => (stream ? to.write(chunk) : out.push([to, chunk]));
    let line = "";
    let counted = false;
    child.stdout.on("data", (chunk) => {
      emit(chunk, process.stdout);
      const lines = (line + chunk.toString("utf8")).split("\n");
      line = lines.pop() ?? "";
      for (const l of lines) {
        const m = /^ℹ (pass|fail|cancelled|skipped) (\d+)$/.exec(l);
        if (!m) continue;
        counted = true;
        const n = Number(m[2]);
        if (m[1] === "pass") totals.passed += n;
        else if (m[1] === "skipped") totals.skipped += n;
        else totals.failed += n;
      }
    });
    child.stderr.on("data", (chunk) => emit(chunk, process.stderr));
    let killed = false;
    const watchdog = setTimeout(() => {
      killed = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, ms + GRACE_MS);
    child.on("close", (code, signal) => {
      clearTimeout(watchdog);
      for (const [to, chunk] of out) to.write(chunk);
      const name = relative(root, file);
      if (killed) {
        console.log(
          `✖ ${name}: still running ${(ms + GRACE_MS) / 60_000} min after it started (budget ${ms / 60_000} min + 1); killed with its process group`,
        );
      } else if (code !== 0 && !counted) {
        console.log(`✖ ${name}: exited ${signal ?? code} before reporting its tests`);
      }
      if (killed || (code !== 0 && !counted)) totals.failed += 1;
      resolve(killed ? 1 : (code ?? 1));
    });
  });
}
let status = 0;
let next = 0;
let lastMs = -1;
async function worker() {
  while (next < plan.length) {
    const item = plan[next++];
    if (item.ms !== lastMs) {
      lastMs = item.ms;
      console.log(`# run-tests: files with ${item.ms / 60_000} min each`);
    }
    const code = await runFile(item);
    if (code !== 0) status = code;
  }
}
await Promise.all(Array.from({ length: Math.min(workers, plan.length) }, worker));
// One closing line over every file.
console.log(`total: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);
