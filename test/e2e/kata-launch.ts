/**
 * How the Kata agent starts the guest components (kata-containers src/agent/src/main.rs,
 * `builtin_coco_plan` + `launch_process`, and src/agent/src/initdata.rs), as data: fixed paths,
 * fixed arguments, `-c <config>` appended only when the init-data provided that file, the
 * stale socket removed first, then a wait for the socket (1 s polls, `launch_process_timeout`,
 * default 6 s). `agent.guest_components_procs` picks how many (default `api-server-rest`: all
 * three) and `agent.guest_components_rest_api` the REST features (default `resource`).
 */

/** Where the agent extracts init-data (`INITDATA_PATH`). */
export const INITDATA_PATH = "/run/confidential-containers/initdata";
/** AA socket URI the agent passes and the socket file it waits for. */
export const AA_ATTESTATION_SOCKET =
  "/run/confidential-containers/attestation-agent/attestation-agent.sock";
/** CDH socket the agent waits for (CDH's default; the agent passes no socket flag). */
export const CDH_SOCKET = "/run/confidential-containers/cdh.sock";
/** `OCICRYPT_KEYPROVIDER_CONFIG` the agent sets for CDH. */
export const OCICRYPT_CONFIG_PATH = "/etc/ocicrypt_config.json";
/** Kata's default `launch_process_timeout`, in seconds. */
export const LAUNCH_PROCESS_TIMEOUT_S = 6;

/** One process of the plan. */
export interface LaunchSpec {
  id: "attestation-agent" | "confidential-data-hub" | "api-server-rest";
  path: string;
  args: string[];
  env: Record<string, string>;
  /** Socket file waited for (removed before the start), if any. */
  waitSocket?: string;
}

/** What the agent found in init-data (files written under {@link INITDATA_PATH}). */
export interface InitdataPresent {
  initdataToml: boolean;
  aaToml: boolean;
  cdhToml: boolean;
}

/**
 * The agent's built-in launch plan for `guest_components_procs` (1 = attestation-agent,
 * 2 = + confidential-data-hub, 3 = + api-server-rest), with `-c` added as `launch_process` does.
 */
export function kataLaunchPlan(
  present: InitdataPresent,
  level: 1 | 2 | 3 = 3,
  restFeatures: "resource" | "attestation" | "all" = "resource",
): LaunchSpec[] {
  const plan: LaunchSpec[] = [];
  const aaArgs = ["--attestation_sock", `unix://${AA_ATTESTATION_SOCKET}`];
  if (present.initdataToml) aaArgs.push("--initdata-toml", `${INITDATA_PATH}/initdata.toml`);
  if (present.aaToml) aaArgs.push("-c", `${INITDATA_PATH}/aa.toml`);
  plan.push({
    id: "attestation-agent",
    path: "/usr/local/bin/attestation-agent",
    args: aaArgs,
    env: {},
    waitSocket: AA_ATTESTATION_SOCKET,
  });
  if (level >= 2) {
    plan.push({
      id: "confidential-data-hub",
      path: "/usr/local/bin/confidential-data-hub",
      args: present.cdhToml ? ["-c", `${INITDATA_PATH}/cdh.toml`] : [],
      env: { OCICRYPT_KEYPROVIDER_CONFIG: OCICRYPT_CONFIG_PATH },
      waitSocket: CDH_SOCKET,
    });
  }
  if (level >= 3) {
    plan.push({
      id: "api-server-rest",
      path: "/usr/local/bin/api-server-rest",
      args: ["--features", restFeatures],
      env: {},
    });
  }
  return plan;
}
