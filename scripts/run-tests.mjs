#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's own test runner.
// Arguments filter by substring of the path: `node scripts/run-tests.mjs rego oci/`.
// Each test gets 180 s unless it sets its own `timeout` (a hang must fail, not stall CI), and the
// process exits once its tests are done even if a leaked handle would keep it alive.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
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
const r = spawnSync(
  process.execPath,
  ["--test", "--test-reporter=spec", "--test-timeout=180000", "--test-force-exit", ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(r.status ?? 1);
