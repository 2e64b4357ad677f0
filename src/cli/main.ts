#!/usr/bin/env node
// The `coco` command. Kept to the runtime check and the compile cache so that everything else
// (program.ts and the command groups it loads) compiles through the cache.
import { startEntry } from "../node-runtime.js";

await startEntry("coco", async () => (await import("./program.js")).main());
