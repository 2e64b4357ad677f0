#!/usr/bin/env node
// Generates the TypeScript for every .proto under src/protocol/proto with protoc (Debian's
// protobuf-compiler, installed by scripts/setup) and @bufbuild/protoc-gen-es (a devDependency).
// The generated *_pb.ts files are committed beside their .proto; `npm run proto` rewrites them and
// src/protocol/proto/generated.test.ts regenerates into a temp folder and fails on any difference.
// Usage: node scripts/gen-proto.mjs [--out DIR]   (default: src/protocol/proto itself)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const protoRoot = join(root, "src/protocol/proto");
const outIdx = process.argv.indexOf("--out");
const out = outIdx > 0 ? process.argv[outIdx + 1] : protoRoot;
if (!out) {
  console.error("gen-proto: --out needs a folder");
  process.exit(2);
}

function walk(dir, acc) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, acc);
    else if (e.name.endsWith(".proto")) acc.push(relative(protoRoot, p));
  }
  return acc;
}

const plugin = join(root, "node_modules/.bin/protoc-gen-es");
if (!existsSync(plugin)) {
  console.error("gen-proto: node_modules/.bin/protoc-gen-es is missing; run npm ci");
  process.exit(1);
}
const files = walk(protoRoot, []).sort();
const r = spawnSync(
  "protoc",
  [
    `--plugin=protoc-gen-es=${plugin}`,
    `--es_out=${out}`,
    "--es_opt=target=ts,import_extension=js",
    `-I${protoRoot}`,
    ...files,
  ],
  { stdio: "inherit", cwd: protoRoot },
);
if (r.error) {
  console.error(
    `gen-proto: cannot run protoc (${r.error.message}); scripts/setup installs Debian's protobuf-compiler`,
  );
  process.exit(1);
}
process.exit(r.status ?? 1);
