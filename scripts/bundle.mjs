#!/usr/bin/env node
// Bundles programs into one self-contained file each with esbuild (run by `npm run build` and so
// by `npm ci`, after tsc). A bundled program loads one file: no module resolution, no
// node_modules, one parse. Bundled from tsc's output in dist/, so a bundle runs exactly the code
// the tests ran.
//
// To bundle another program (the CLI, the containerd shim), add a line to BUNDLES:
//   { out: "<name>.mjs", entry: "dist/src/<path>/<main>.js", about: "<what it is>" }
// `split: true` (ESM only) puts each dynamically imported part in a chunk `<stem>-<hash>.mjs`.
// `.mjs` is ESM; `.cjs` is CommonJS, which the qemu guest runs through cached-run.js with a V8
// code cache (vm.Script takes a cache; ES modules cannot, on Node 20).
// Output: dist/bundle/<out> (+ .map). `node scripts/bundle.mjs NAME...` builds only those outs.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;

/** The programs bundled, each into dist/bundle/<out>. */
export const BUNDLES = [
  {
    out: "guest-agent.cjs",
    entry: "dist/src/guest/agent/main.js",
    about: "the pod agent with AA, CDH and the image pipeline (qemu guest)",
  },
  {
    out: "guest-serial.cjs",
    entry: "dist/src/guest/agent/serial-main.js",
    about: "the virtio-serial bridge to the agent (qemu guest)",
  },
  {
    out: "coco.mjs",
    entry: "dist/src/cli/program.js",
    about: "the coco command tree, loaded by the coco entry (dist/src/cli/main.js)",
    // Each command group (a dynamic import) and what only it uses go to their own chunk
    // (coco-<hash>.mjs beside it, so import.meta.url keeps its depth): `coco rego eval` loads
    // the tree and the rego engine, not the image pipeline, Trustee and the shim.
    split: true,
  },
  {
    out: "oci-unpack-worker.cjs",
    entry: "dist/src/oci/unpack/worker-main.js",
    about: "the image pull's unpack worker thread (started by the bundled agent)",
  },
  {
    out: "guest-podvm.cjs",
    entry: "dist/src/guest/peerpod/main.js",
    about: "the peer-pod VM's services: process-user-data, agent start, forwarder (podvm image)",
  },
  {
    out: "containerd-shim-coco-v2.mjs",
    entry: "dist/src/host/shim/program.js",
    about: "the containerd shim, loaded by its entry (dist/src/host/shim/main.js)",
    // `start` and `delete` (once per pod and container) load their chunk, not the long-running
    // shim's sandbox and agent code.
    split: true,
  },
  {
    out: "guest-run.mjs",
    entry: "dist/src/guest/agent/cached-run.js",
    about: "runs a .cjs guest program with its V8 code cache (qemu guest)",
  },
];

// ESM: CommonJS dependencies bundled into it still call require() for node's builtins.
const ESM = {
  format: "esm",
  banner: {
    js:
      'import { createRequire as __cocoCreateRequire } from "node:module";\n' +
      "const require = __cocoCreateRequire(import.meta.url);",
  },
};
// CommonJS: our ES modules' import.meta.url becomes the bundle's own file URL.
const CJS = {
  format: "cjs",
  define: { "import.meta.url": "__cocoImportMetaUrl" },
  banner: { js: 'var __cocoImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
};

const engines = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines?.node ?? "";
const target = `node${/(\d+)/.exec(engines)?.[1] ?? "20"}`;

const only = process.argv.slice(2);
// A full build starts clean, so no bundle of a program since removed lingers.
if (only.length === 0) rmSync(join(root, "dist", "bundle"), { recursive: true, force: true });
for (const b of BUNDLES) {
  if (only.length > 0 && !only.some((o) => b.out.startsWith(o))) continue;
  const outdir = join(root, "dist", "bundle");
  const outfile = join(outdir, b.out);
  const stem = b.out.replace(/\.[cm]js$/, "");
  if (b.split) {
    // A partial rebuild: no chunk of the previous build lingers.
    for (const f of existsSync(outdir) ? readdirSync(outdir) : [])
      if (f.startsWith(`${stem}-`)) rmSync(join(outdir, f));
  }
  await build({
    ...(b.split
      ? {
          entryPoints: { [stem]: join(root, b.entry) },
          outdir,
          splitting: true,
          chunkNames: `${stem}-[hash]`,
          outExtension: { ".js": ".mjs" },
        }
      : { entryPoints: [join(root, b.entry)], outfile }),
    bundle: true,
    platform: "node",
    ...(b.out.endsWith(".cjs") ? CJS : ESM),
    target,
    minify: true,
    sourcemap: "external",
    legalComments: "eof",
    logLevel: "warning",
  });
  const kib = Math.round(statSync(outfile).size / 1024);
  if (process.env.COCO_BUNDLE_VERBOSE) console.error(`bundle: ${b.out} ${kib} KiB (${b.about})`);
}
