#!/usr/bin/env node
// The `coco` command. Kept to the runtime check and the compile cache so that everything else
// (program.ts and the command groups it loads) compiles through the cache. `coco --version`
// answers without loading the command tree (scripts and probes call it to see coco is there).
import { startEntry } from "../node-runtime.js";

await startEntry("coco", async () => {
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`${(await import("../version.js")).packageVersion()}\n`);
    return;
  }
  await (await import("./program.js")).main();
});
