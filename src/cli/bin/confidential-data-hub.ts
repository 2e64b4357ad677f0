#!/usr/bin/env node
/**
 * `confidential-data-hub`: drop-in for upstream's ttrpc CDH (guest-components `ttrpc-cdh`,
 * installed as /usr/local/bin/confidential-data-hub). Same flag (`-c <config>`), same config
 * layout, same environment: `AA_KBC_PARAMS`, `AA_SOCKET`, `KBS_CERT`,
 * `SKIP_SEALED_SECRET_VERIFICATION`, `CDH_DEFAULT_IMAGE_AUTHENTICATED_REGISTRY_CREDENTIALS`,
 * `OCICRYPT_KEYPROVIDER_CONFIG`, `OFFLINE_FS_KBC_EXTRA_FILE_PATH`, `RUST_LOG`, and the kernel
 * parameters `agent.aa_kbc_params`, `cdh.kbs_resources`, `agent.image_registry_auth`,
 * `agent.enable_signature_verification`/`agent.image_policy_file` and `agent.*_proxy`.
 */
import type { Command } from "commander";
import { type CdhConfig, cdhConfigFromKbcParams, loadCdhConfig } from "../../guest/cdh/config.js";
import { startConfidentialDataHub } from "../../guest/cdh/daemon.js";
import { waitForSignal } from "../guest-common.js";
import {
  cmdlineParam,
  DropInError,
  dropInProgram,
  isMain,
  kernelCmdline,
  runDropIn,
  stderrLogger,
} from "./common.js";

/** The `[image]` table upstream derives from the kernel command line when no file is given. */
export function imageConfigFromCmdline(cmdline: string): Record<string, unknown> | undefined {
  const image: Record<string, unknown> = {};
  const auth = cmdlineParam(cmdline, "agent.image_registry_auth");
  if (auth !== undefined) image.authenticated_registry_credentials_uri = auth;
  const policy = cmdlineParam(cmdline, "agent.image_policy_file");
  if (cmdlineParam(cmdline, "agent.enable_signature_verification") === "true" && policy) {
    image.image_security_policy_uri = policy;
  }
  const proxy: Record<string, string> = {};
  for (const k of ["https_proxy", "http_proxy", "no_proxy"]) {
    const v = cmdlineParam(cmdline, `agent.${k}`);
    if (v !== undefined) proxy[k] = v;
  }
  if (Object.keys(proxy).length > 0) image.image_pull_proxy = proxy;
  return Object.keys(image).length > 0 ? image : undefined;
}

/** `cdh.kbs_resources=<uri>::<path>,…` from the kernel command line (upstream's format). */
export function credentialsFromCmdline(cmdline: string): CdhConfig["credentials"] {
  const v = cmdlineParam(cmdline, "cdh.kbs_resources") ?? "";
  const out: CdhConfig["credentials"] = [];
  for (const item of v.split(",")) {
    const at = item.indexOf("::");
    if (item === "" || at < 0) continue;
    out.push({ resourceUri: item.slice(0, at), path: item.slice(at + 2) });
  }
  return out;
}

/**
 * The CDH config the flag, environment and kernel command line select, with upstream's
 * precedence (`CdhConfig::from_file` / `default_with_kernel_cmdline`, then
 * `set_configuration_envs`: a variable already set in the environment wins over the file).
 * Returns the config and one line per override applied, for the log.
 */
export function resolveCdhConfig(
  configPath: string | undefined,
  env: NodeJS.ProcessEnv,
  cmdline: string,
): { config: CdhConfig; notes: string[] } {
  const notes: string[] = [];
  let config: CdhConfig;
  if (configPath !== undefined) {
    config = loadCdhConfig(configPath);
    notes.push(`Using config file: ${configPath}`);
  } else {
    config = cdhConfigFromKbcParams(
      env.AA_KBC_PARAMS ?? cmdlineParam(cmdline, "agent.aa_kbc_params"),
    );
    const image = imageConfigFromCmdline(cmdline);
    if (image) config.image = image;
    notes.push("No CDH config path specified. Using default configuration.");
  }
  const creds = env.CDH_DEFAULT_IMAGE_AUTHENTICATED_REGISTRY_CREDENTIALS;
  if (creds !== undefined) {
    config.image = { ...(config.image ?? {}), authenticated_registry_credentials_uri: creds };
    notes.push("authenticated registry credentials URI taken from the environment");
  }
  config.credentials.push(...credentialsFromCmdline(cmdline));
  if (configPath !== undefined && env.AA_KBC_PARAMS !== undefined) {
    const kbc = cdhConfigFromKbcParams(env.AA_KBC_PARAMS).kbc;
    config.kbc = { ...kbc, ...(config.kbc.kbsCert ? { kbsCert: config.kbc.kbsCert } : {}) };
    notes.push(`AA_KBC_PARAMS from the environment overrides [kbc] (${kbc.name})`);
  }
  if (env.AA_SOCKET !== undefined) {
    config.aaSocket = env.AA_SOCKET;
    notes.push("AA_SOCKET from the environment overrides [aa] aa_socket");
  }
  if (config.kbc.kbsCert === undefined && env.KBS_CERT) config.kbc.kbsCert = env.KBS_CERT;
  if (env.SKIP_SEALED_SECRET_VERIFICATION === "true") {
    config.skipSealedSecretVerification = true;
    notes.push("SKIP_SEALED_SECRET_VERIFICATION=true: sealed secrets are not verified");
  }
  return { config, notes };
}

/** Builds the `confidential-data-hub` program. */
export function confidentialDataHubProgram(env: NodeJS.ProcessEnv = process.env): Command {
  return dropInProgram("confidential-data-hub", "Confidential Data Hub, ttRPC service")
    .option("-c, --config <path>", "Path to the config file (TOML, or JSON by extension)")
    .action(async (o: { config?: string }) => {
      const { config, notes } = resolveCdhConfig(o.config, env, kernelCmdline());
      const log = stderrLogger("confidential-data-hub", config.logLevel, env);
      for (const n of notes) log(n);
      if (!config.socket.startsWith("unix://")) {
        throw new DropInError(
          "ERR_DROPIN_USAGE",
          `socket ${JSON.stringify(config.socket.slice(0, 200))}: socket address scheme is not expected (unix:// only)`,
        );
      }
      const running = await startConfidentialDataHub({ config, env, log });
      await waitForSignal(running.close);
    });
}

if (isMain(import.meta.url)) {
  await runDropIn("confidential-data-hub", confidentialDataHubProgram());
}
