import type { Command } from "commander";
import { registerAttest } from "./attest.js";
import { registerTrustee } from "./trustee.js";

/**
 * The subcommand groups of `coco`, one module per group. A group appears here only once
 * something real stands behind it.
 */
export const commandGroups: ReadonlyArray<(program: Command) => void> = [registerAttest, registerTrustee];
