#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's own test runner.
// Arguments filter by substring of the path: `node scripts/run-tests.mjs rego oci/`.
// Each test FILE gets 180 s (node's --test-timeout bounds a whole file, not each test in it) unless
// its first lines declare more, as files that boot VMs do:
//   // run-tests: timeout 15 min (why that much)
// Files are run grouped by that budget, the quick ones first, so slow boots never starve them. A
// hang must fail, not stall CI; the process exits once its tests are done even if a leaked handle
// would keep it alive.
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
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
const groups = new Map();
for (const f of files) {
  const ms = budget(f);
  groups.set(ms, [...(groups.get(ms) ?? []), f]);
}
// Runs one group, passing its report through and adding up its closing counts.
const totals = { passed: 0, failed: 0, skipped: 0 };
function runGroup(ms, group) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--test", "--test-reporter=spec", `--test-timeout=${ms}`, "--test-force-exit", ...group],
      { stdio: ["inherit", "pipe", "inherit"], cwd: root },
    );
    let line = "";
    child.stdout.on("data", (chunk) => {
      process.stdout.write(chunk);
      const lines = (line + chunk.toString("utf8")).split("\n");
      line = lines.pop() ?? "";
      for (const l of lines) {
        const m = /^ℹ (pass|fail|cancelled|skipped) (\d+)$/.exec(l);
        if (!m) continue;
        const n = Number(m[2]);
        if (m[1] === "pass") totals.passed += n;
        else if (m[1] === "skipped") totals.skipped += n;
        else totals.failed += n;
      }
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}
let status = 0;
for (const ms of [...groups.keys()].sort((a, b) => a - b)) {
  const group = groups.get(ms);
  if (groups.size > 1) {
    console.log(`# run-tests: ${group.length} file(s) with ${ms / 60_000} min each`);
  }
  const code = await runGroup(ms, group);
  if (code !== 0) status = code;
}
// One closing line over every group.
console.log(`total: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(status);
