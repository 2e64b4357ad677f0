#!/usr/bin/env node
// The `coco` command. Kept to the runtime check and the compile cache so that everything else
// (the command tree and the groups it loads) compiles through the cache. The tree comes from
// its bundle (dist/bundle/coco.mjs, made by npm run build: one file instead of ~500 modules to
// resolve and link) when there is one, else from tsc's output. `coco --version` answers without
// loading the tree (scripts and probes call it to see coco is there).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startEntry } from "../node-runtime.js";

await startEntry("coco", async () => {
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`${(await import("../version.js")).packageVersion()}\n`);
    return;
  }
  const bundle = new URL("../../bundle/coco.mjs", import.meta.url);
  const program: typeof import("./program.js") = existsSync(fileURLToPath(bundle))
    ? await import(bundle.href)
    : await import("./program.js");
  await program.main();
});
