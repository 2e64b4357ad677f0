import { fileURLToPath } from "node:url";

/**
 * The `dist/` folder of this build. This module is two levels below it in both layouts a
 * program can run from: tsc's output (`dist/src/dist-root.js`) and a bundle that inlines it
 * (`dist/bundle/<program>`), so programs that start other programs of the build (the agent,
 * the qemu mux, the shim) find them the same way bundled or not.
 */
export const DIST_ROOT = fileURLToPath(new URL("../", import.meta.url));
