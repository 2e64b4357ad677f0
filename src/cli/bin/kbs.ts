#!/usr/bin/env node
/**
 * `kbs`: drop-in for upstream Trustee's `kbs` binary (KBS with the built-in Attestation Service
 * and RVPS): `kbs -c/--config-file <file>` or `KBS_CONFIG_FILE`, the config in upstream's layout
 * as TOML, JSON or YAML by extension. Keys naming features coco-ts does not implement are
 * refused by name (see docs/trustee.md).
 */
import type { Command } from "commander";
import { loadTrusteeConfig } from "../../trustee/config.js";
import { serveTrustee } from "../trustee.js";
import { DropInError, dropInProgram, isMain, runDropIn } from "./common.js";

/** Builds the `kbs` program. */
export function kbsProgram(env: NodeJS.ProcessEnv = process.env): Command {
  return dropInProgram("kbs", "Key Broker Service with built-in Attestation Service and RVPS")
    .option(
      "-c, --config-file <path>",
      "Path to a KBS config file (TOML, YAML or JSON) [env: KBS_CONFIG_FILE]",
    )
    .action(async (o: { configFile?: string }) => {
      const file = o.configFile ?? env.KBS_CONFIG_FILE;
      if (file === undefined || file === "") {
        throw new DropInError(
          "ERR_DROPIN_USAGE",
          "the following required arguments were not provided: --config-file <CONFIG_FILE> (or KBS_CONFIG_FILE)",
        );
      }
      process.stderr.write(`${new Date().toISOString()} kbs: Using config file ${file}\n`);
      await serveTrustee(loadTrusteeConfig(file));
    });
}

if (isMain(import.meta.url)) {
  await runDropIn("kbs", kbsProgram());
}
