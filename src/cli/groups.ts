import type { Command } from "commander";
import { registerAa } from "./aa.js";
import { registerAttest } from "./attest.js";
import { registerCdh } from "./cdh.js";
import { registerExec } from "./exec.js";
import { registerImage } from "./image.js";
import { registerKbsClient } from "./kbs-client.js";
import { registerLogs } from "./logs.js";
import { registerPolicy } from "./policy.js";
import { registerPs } from "./ps.js";
import { registerRego } from "./rego.js";
import { registerRm } from "./rm.js";
import { registerRun } from "./run.js";
import { registerSecret } from "./secret.js";
import { registerTrustee } from "./trustee.js";

/**
 * The subcommand groups of `coco`, one module per group. A group appears here only once
 * something real stands behind it.
 */
export const commandGroups: ReadonlyArray<(program: Command) => void> = [
  registerAttest,
  registerTrustee,
  registerAa,
  registerCdh,
  registerSecret,
  registerKbsClient,
  registerRego,
  registerImage,
  registerRun,
  registerPs,
  registerExec,
  registerLogs,
  registerRm,
  registerPolicy,
];
