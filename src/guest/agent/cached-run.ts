#!/usr/bin/env node
// Runs a CommonJS program bundle with V8's code cache, as the qemu guest's init starts the guest
// programs:
//   node cached-run.js <bundle.cjs> [args...]
// The cache (<bundle.cjs>.cache) is made when the guest image is built, by running the bundle
// once with COCO_CODE_CACHE_WRITE=1: the functions that run then are stored compiled, so the
// guest's node parses and compiles them again only if V8 rejects the cache (another node
// version or V8 flags, e.g. NODE_OPTIONS=--jitless), in which case it just compiles as usual.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { Script } from "node:vm";

const file = resolve(process.argv[2] ?? "");
if (!process.argv[2]) {
  process.stderr.write("usage: cached-run.js <bundle.cjs> [args...]\n");
  process.exit(2);
}
// The program sees itself as argv[1] and its own arguments after it.
process.argv.splice(1, 2, file);
const source = readFileSync(file, "utf8").replace(/^#!.*/, "");
let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(`${file}.cache`);
} catch {
  // no cache: compile as node would
}
// node's own CommonJS wrapper (Module.wrap).
const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
const script = new Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
if (process.env.COCO_CODE_CACHE_WRITE === "1") {
  // After the run, so the functions it compiled lazily are in the cache too.
  process.on("exit", () => writeFileSync(`${file}.cache`, script.createCachedData()));
}
const mod = { exports: {} } as { exports: unknown };
const run = script.runInThisContext() as (
  exports: unknown,
  require: NodeJS.Require,
  module: unknown,
  filename: string,
  dirname: string,
) => void;
run(mod.exports, createRequire(file), mod, file, dirname(file));
