#!/usr/bin/env node
/**
 * `attestation-agent`: drop-in for upstream's ttrpc Attestation Agent (guest-components
 * `ttrpc-aa`, installed as /usr/local/bin/attestation-agent). Same flags (`-a/--attestation_sock`,
 * `-c/--config-file`, `-i/--initdata-digest`, `-t/--initdata-toml`), same environment
 * (`AA_KBC_PARAMS`, kernel `agent.aa_kbc_params=`, `RUST_LOG`, `AAEL_PATH`,
 * `ENABLE_SAMPLE_DEVICE`), same config file layout.
 */
import { basename, dirname } from "node:path";
import type { Command } from "commander";
import {
  type AaConfig,
  configFromKbcParams,
  kbcParamsFromCmdline,
  loadAaConfig,
} from "../../guest/aa/config.js";
import { AA_DEFAULT_SOCKET, startAttestationAgent } from "../../guest/aa/daemon.js";
import { waitForSignal } from "../guest-common.js";
import {
  DropInError,
  dropInProgram,
  isMain,
  kernelCmdline,
  runDropIn,
  stderrLogger,
} from "./common.js";

/** Options as commander hands them over. */
interface AaOptions {
  attestation_sock: string;
  configFile?: string;
  initdataDigest?: string;
  initdataToml?: string;
}

/** The AA config the flags and environment select (upstream `Config::from_file`). */
export function resolveAaConfig(
  o: { configFile?: string },
  env: NodeJS.ProcessEnv,
  cmdline: string,
): AaConfig {
  if (o.configFile !== undefined) return loadAaConfig(o.configFile);
  return configFromKbcParams(env.AA_KBC_PARAMS ?? kbcParamsFromCmdline(cmdline));
}

/** Decodes `--initdata-digest` (standard base64, as upstream). */
export function decodeInitdataDigest(b64: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new DropInError(
      "ERR_DROPIN_USAGE",
      "--initdata-digest must be standard base64 (base64 decode initdata failed)",
    );
  }
  return Buffer.from(b64, "base64");
}

/** Builds the `attestation-agent` program. */
export function attestationAgentProgram(env: NodeJS.ProcessEnv = process.env): Command {
  return dropInProgram("attestation-agent", "Attestation Agent, ttRPC service")
    .option(
      "-a, --attestation_sock <addr>",
      "Attestation ttRPC Unix socket addr (unix://…)",
      AA_DEFAULT_SOCKET,
    )
    .option("-c, --config-file <path>", "Configuration file for Attestation Agent (TOML or JSON)")
    .option(
      "-i, --initdata-digest <b64>",
      "Initdata digest to be verified by AA (standard base64); --initdata-toml takes precedence",
    )
    .option("-t, --initdata-toml <path>", "Path to the Initdata TOML file to be verified by AA")
    .action(async (o: AaOptions) => {
      if (!o.attestation_sock.startsWith("unix://")) {
        throw new DropInError(
          "ERR_DROPIN_USAGE",
          `--attestation_sock ${JSON.stringify(o.attestation_sock.slice(0, 200))}: socket address scheme is not expected (unix:// only)`,
        );
      }
      const config = resolveAaConfig(o, env, kernelCmdline());
      const log = stderrLogger("attestation-agent", config.logLevel, env);
      log(
        o.configFile
          ? `Using config file: ${o.configFile}`
          : "No AA config file specified. Using default configuration and the kbs address will be read from kernel cmdline.",
      );
      const digest =
        o.initdataToml === undefined && o.initdataDigest !== undefined
          ? decodeInitdataDigest(o.initdataDigest)
          : undefined;
      // Upstream writes the AAEL to $AAEL_PATH (default /run/attestation-agent/eventlog).
      const aael = env.AAEL_PATH;
      const running = await startAttestationAgent({
        socket: o.attestation_sock,
        config,
        ...(o.initdataToml !== undefined ? { initDataToml: o.initdataToml } : {}),
        ...(digest ? { initDataDigest: digest } : {}),
        ...(aael && basename(aael) === "eventlog" ? { eventLogDir: dirname(aael) } : {}),
        env,
        log,
      });
      if (aael && basename(aael) !== "eventlog") {
        log(`AAEL_PATH ${aael}: the event log file must be named 'eventlog'; using its default`);
      }
      await waitForSignal(running.close);
    });
}

if (isMain(import.meta.url)) {
  await runDropIn("attestation-agent", attestationAgentProgram());
}
