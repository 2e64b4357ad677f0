#!/usr/bin/env node
/**
 * `containerd-shim-coco-v2`: the containerd runtime v2 shim of coco-ts (runtime type
 * `io.containerd.coco.v2`). containerd starts it for every pod and container (`start`, `delete`)
 * and it starts itself once per pod as the long-running shim, so its start-up is on every pod's
 * path: this entry is kept to the runtime check and the compile cache, and the program comes
 * from its bundle (dist/bundle/containerd-shim-coco-v2.mjs, made by npm run build: one file
 * through the compile cache instead of ~300 modules to resolve, load and link) when there is
 * one, else from tsc's output (program.ts).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startEntry } from "../../node-runtime.js";

await startEntry("containerd-shim-coco-v2", async () => {
  const bundle = new URL("../../../bundle/containerd-shim-coco-v2.mjs", import.meta.url);
  const program: typeof import("./program.js") = existsSync(fileURLToPath(bundle))
    ? await import(bundle.href)
    : await import("./program.js");
  await program.main(process.argv.slice(2));
});
