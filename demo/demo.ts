/**
 * `npm run demo`: the end-to-end story as far as it exists today. Each capability extends it.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const r = spawnSync(process.execPath, [cli, "--help"], { stdio: "inherit" });
process.exit(r.status ?? 1);
