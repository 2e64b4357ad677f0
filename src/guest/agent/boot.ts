import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseInitDataDisk } from "../../protocol/agent/index.js";
import { type InitData, parseInitData } from "../../protocol/initdata/index.js";
import type { TtrpcServer } from "../../protocol/ttrpc/index.js";
import { writeSecretFile } from "../cdh/credentials.js";
import { createCdhClient, type ImagePuller, type SecretUnsealer } from "./cdh-client.js";
import { createRunc } from "./container/runc.js";
import { AgentError } from "./errors.js";
import { createAgentPolicy, type RegoEngineLike } from "./policy/agent-policy.js";
import { createAgentServer } from "./server.js";
import { AgentService } from "./service.js";
import { agentPaths } from "./storage.js";

/** How the guest side of a sandbox starts (JSON file given to main.ts). */
export interface AgentBootConfig {
  /** Guest root of pod state (`/run/kata-containers`). */
  root: string;
  /** Where the agent listens, `unix:///…`. */
  socket: string;
  /** runc's state folder. */
  runcRoot: string;
  /** Mount a private tmpfs at `root` first (the process sandbox runs in its own mount namespace). */
  privateRoot?: boolean;
  /** More folders given private tmpfs mounts with `privateRoot` (`/run/confidential-containers`). */
  privateDirs?: string[];
  /** The init-data block image (magic `initdata`), as the shim attaches it. */
  initdataDisk?: string;
  /**
   * The init-data TOML as a plain file (a peer-pod VM, where it arrives through user-data, not a
   * disk). Used when `initdataDisk` is absent.
   */
  initdataToml?: string;
  /** Where aa.toml / cdh.toml from init-data are written (`/run/confidential-containers/initdata`). */
  initdataDir?: string;
  /** The CDH socket; without it images are pulled in-process and sealed values cannot be unsealed. */
  cdhAddress?: string;
  /** Registries reached over plain HTTP (loopback test registries). */
  insecureRegistries?: string[];
  /** A policy baked into the guest image, used when init-data carries none. */
  defaultPolicyFile?: string;
}

/** A running agent. */
export interface BootedAgent {
  server: TtrpcServer;
  service: AgentService;
  initData?: InitData;
  close(): Promise<void>;
}

/**
 * Boots the pod agent as the Kata agent does: read init-data from its block image, write the
 * component configs, choose the policy (init-data `policy.rego`, else the image default, else
 * none = deny everything), and only then open the ttrpc server.
 */
export async function bootAgent(
  cfg: AgentBootConfig,
  deps: {
    newEngine: () => RegoEngineLike;
    /** Guest components started in-process (AA + CDH) when init-data configures them. */
    guest?: (
      initData: InitData | undefined,
      initdataDir: string,
    ) => Promise<(ImagePuller & SecretUnsealer & { close?(): Promise<void> }) | undefined>;
    log?: (line: string) => void;
  },
): Promise<BootedAgent> {
  const log = deps.log ?? (() => {});
  mkdirSync(cfg.root, { recursive: true, mode: 0o755 });
  if (cfg.privateRoot) {
    // The guest's state folders get private tmpfs mounts: the host side of a process sandbox
    // sees neither pod state nor the guest components' sockets, keys and tokens.
    execFileSync("mount", ["--make-rprivate", "/"]);
    for (const dir of [cfg.root, ...(cfg.privateDirs ?? [])]) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      execFileSync("mount", ["-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", dir]);
    }
  }
  let initData: InitData | undefined;
  if (cfg.initdataDisk || cfg.initdataToml) {
    const toml = cfg.initdataDisk
      ? parseInitDataDisk(readFileSync(cfg.initdataDisk))
      : new Uint8Array(readFileSync(cfg.initdataToml as string));
    if (toml === undefined) {
      throw new AgentError("ERR_AGENT_INITDATA", `${cfg.initdataDisk} is not an init-data image`);
    }
    initData = parseInitData(toml);
    const dir = cfg.initdataDir ?? "/run/confidential-containers/initdata";
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeSecretFile(join(dir, "initdata.toml"), toml);
    for (const name of ["aa.toml", "cdh.toml"]) {
      const text = initData.data[name];
      if (text !== undefined) writeSecretFile(join(dir, name), new TextEncoder().encode(text));
    }
    log(`init-data loaded (${initData.algorithm} ${Buffer.from(initData.digest).toString("hex")})`);
  }
  let policyText = initData?.data["policy.rego"];
  if (policyText === undefined && cfg.defaultPolicyFile)
    policyText = readFileSync(cfg.defaultPolicyFile, "utf8");
  const policy = createAgentPolicy({
    newEngine: deps.newEngine,
    ...(policyText !== undefined ? { policy: policyText } : {}),
  });
  if (!policy.loaded) log("no agent policy: every request will be denied");

  const fromGuest = await deps.guest?.(
    initData,
    cfg.initdataDir ?? "/run/confidential-containers/initdata",
  );
  const cdh = cfg.cdhAddress ? createCdhClient(cfg.cdhAddress) : undefined;
  const images: ImagePuller = fromGuest ??
    cdh ?? {
      // The in-process puller (and the OCI pipeline behind it) is loaded on first use.
      async pull(ref, bundle) {
        const { createRegistryPuller } = await import("./registry-puller.js");
        const { acceptAnything } = await import("../../oci/pull.js");
        return createRegistryPuller({
          verify: acceptAnything,
          insecureRegistries: cfg.insecureRegistries ?? [],
        }).pull(ref, bundle);
      },
    };
  const secrets: SecretUnsealer = fromGuest ??
    cdh ?? {
      unseal: async () => {
        throw new AgentError(
          "ERR_AGENT_UNSEAL",
          "this sandbox runs no Confidential Data Hub: sealed values cannot be unsealed",
        );
      },
    };
  const service = new AgentService({
    paths: agentPaths(cfg.root),
    runc: createRunc({ root: cfg.runcRoot }),
    images,
    secrets,
    log,
  });
  const server = createAgentServer({ service, policy, log });
  await server.listen(cfg.socket);
  log(
    `agent listening on ${cfg.socket} (node ${process.version}, ${Math.round(process.uptime() * 1000)} ms after process start)`,
  );
  return {
    server,
    service,
    ...(initData ? { initData } : {}),
    async close() {
      try {
        await service.destroySandbox();
      } finally {
        await server.close();
        cdh?.close();
        await fromGuest?.close?.();
      }
    },
  };
}
