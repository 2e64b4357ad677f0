/**
 * The pod VM's start-up (what cloud-api-adaptor's podvm image does with process-user-data, the
 * kata-agent and agent-protocol-forwarder services): provision from user-data, start the agent
 * with the init-data from it, and only once the agent answers, open the forwarder. The VM's
 * TEE launch field (the sample TEE's, set by whoever launched the VM) reaches the agent in its
 * environment; the agent's attestation agent refuses to start when the init-data's digest
 * differs from it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_USER_DATA_BYTES, PEERPOD_DIR } from "../../protocol/peerpod/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { forwardHostLoopback } from "../agent/host-loopback.js";
import { PodVmError } from "./errors.js";
import { type Forwarder, startForwarder } from "./forwarder.js";
import { INITDATA_TOML_PATH, provisionUserData } from "./user-data.js";

/** How the pod VM starts. */
export interface PodVmOptions {
  /** The user-data file (a mounted NoCloud `cidata` volume's `user-data`, or a plain file). */
  userDataFile: string;
  /** The forwarder's address (`0.0.0.0:15150` in a VM). */
  listenHost: string;
  listenPort: number;
  /** Give /run/peerpod, /run/kata-containers, /run/confidential-containers private tmpfs mounts (a process "VM" in its own mount namespace). */
  privateMounts?: boolean;
  /** The agent command; the boot config path is appended. */
  agentCommand: string[];
  /** Loopback registries reached over plain HTTP (development). */
  insecureRegistries?: string[];
  /** Host loopback ports served on the VM's loopback (development plumbing, as the qemu sandbox). */
  forwardPorts?: number[];
  /** The host as the VM's user network sees it (default 10.0.2.2). */
  forwardHost?: string;
  /** The agent must answer within this (default 600 s: TCG boots are slow). */
  agentTimeoutMs?: number;
  log: (line: string) => void;
}

/** A running pod VM. */
export interface PodVm {
  readonly forwarder: Forwarder;
  readonly agent: ChildProcess;
  /** Resolves with the agent's exit code when it ends. */
  readonly done: Promise<number>;
  stop(): Promise<void>;
}

const AGENT_SOCKET = "/run/kata-containers/agent.sock";

/** Starts the pod VM's services in order; fails (and leaves nothing running) on any error. */
export async function startPodVm(o: PodVmOptions): Promise<PodVm> {
  const log = o.log;
  if (o.privateMounts) {
    // A process "VM" shares the host's filesystem: its pod state, keys and tokens live on
    // private tmpfs mounts the host side cannot see (as the process sandbox).
    execFileSync("mount", ["--make-rprivate", "/"]);
    for (const dir of [PEERPOD_DIR, "/run/kata-containers", "/run/confidential-containers"]) {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      execFileSync("mount", ["-t", "tmpfs", "-o", "mode=0755,nosuid,nodev", "tmpfs", dir]);
    }
  }
  let size: number;
  try {
    size = statSync(o.userDataFile).size;
  } catch (err) {
    throw new PodVmError(
      "ERR_PODVM_USER_DATA",
      `no user-data at ${o.userDataFile}: ${(err as Error).message}`,
    );
  }
  if (size > MAX_USER_DATA_BYTES)
    throw new PodVmError(
      "ERR_PODVM_USER_DATA",
      `user-data is larger than ${MAX_USER_DATA_BYTES} bytes`,
    );
  const p = provisionUserData(new Uint8Array(readFileSync(o.userDataFile)), { log });
  log(
    `user-data provisioned: ${p.written.length} files${p.initData ? `, init-data ${p.initData.algorithm} ${Buffer.from(p.initData.digest).toString("hex")}` : ", no init-data (every request will be denied)"}`,
  );
  const cfgPath = join(PEERPOD_DIR, "agent.json");
  writeFileSync(
    cfgPath,
    JSON.stringify({
      root: "/run/kata-containers",
      socket: `unix://${AGENT_SOCKET}`,
      runcRoot: "/run/kata-containers/.runc",
      initdataDir: "/run/confidential-containers/initdata",
      ...(p.initData ? { initdataToml: INITDATA_TOML_PATH } : {}),
      insecureRegistries: o.insecureRegistries ?? [],
    }),
    { mode: 0o600 },
  );
  const [cmd, ...args] = o.agentCommand;
  if (!cmd) throw new PodVmError("ERR_PODVM_ARGS", "no agent command");
  const agent = spawn(cmd, [...args, cfgPath], { stdio: ["ignore", "inherit", "inherit"] });
  let exitCode: number | undefined;
  const done = new Promise<number>((resolve) => {
    agent.once("exit", (code, sig) => {
      exitCode = code ?? (sig ? 128 : 1);
      resolve(exitCode);
    });
    agent.once("error", (err) => {
      log(`agent: ${err.message}`);
      exitCode = 127;
      resolve(127);
    });
  });
  const stopAgent = async () => {
    if (exitCode === undefined) {
      agent.kill("SIGTERM");
      const t = setTimeout(() => agent.kill("SIGKILL"), 10_000);
      await done;
      clearTimeout(t);
    }
  };
  const deadline = Date.now() + (o.agentTimeoutMs ?? 600_000);
  for (;;) {
    if (exitCode !== undefined)
      throw new PodVmError("ERR_PODVM_AGENT", `the agent exited (${exitCode}) before it served`);
    const c = new TtrpcClient(`unix://${AGENT_SOCKET}`, { timeoutMs: 5000 });
    try {
      await c.callRaw("grpc.Health", "Check", new Uint8Array(0));
      break;
    } catch {
      // not yet
    } finally {
      c.close();
    }
    if (Date.now() > deadline) {
      await stopAgent();
      throw new PodVmError("ERR_PODVM_AGENT", "the agent did not answer in time");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const loop = o.forwardPorts?.length
    ? await forwardHostLoopback(o.forwardPorts, {
        ...(o.forwardHost ? { host: o.forwardHost } : {}),
        log,
      })
    : undefined;
  let forwarder: Forwarder;
  try {
    forwarder = await startForwarder({
      host: o.listenHost,
      port: o.listenPort,
      apf: p.apf,
      agentAddress: `unix://${AGENT_SOCKET}`,
      log,
    });
  } catch (err) {
    loop?.close();
    await stopAgent();
    throw err;
  }
  return {
    forwarder,
    agent,
    done,
    async stop() {
      await forwarder.close();
      loop?.close();
      await stopAgent();
    },
  };
}

/**
 * The TCP sockets listening in this network namespace (`/proc/net/tcp`, `/proc/net/tcp6`), as
 * `address:port`: the VM reports them once it serves, so "nothing else listens" is checkable.
 */
export function listeningTcpSockets(): string[] {
  const out: string[] = [];
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== "0A") continue; // TCP_LISTEN
      const [hexAddr = "", hexPort = "0"] = (cols[1] ?? "").split(":");
      const port = Number.parseInt(hexPort, 16);
      out.push(`${decodeProcAddress(hexAddr)}:${port}`);
    }
  }
  return out.sort();
}

function decodeProcAddress(hex: string): string {
  if (hex.length === 8) {
    // IPv4, little-endian u32.
    const b = Buffer.from(hex, "hex");
    return `${b[3]}.${b[2]}.${b[1]}.${b[0]}`;
  }
  const b = Buffer.from(hex, "hex");
  const words: string[] = [];
  for (let i = 0; i < 16; i += 4) {
    // Each 32-bit group is host (little-endian) order.
    const w = Buffer.from([b[i + 3] ?? 0, b[i + 2] ?? 0, b[i + 1] ?? 0, b[i] ?? 0]).toString("hex");
    words.push(w.slice(0, 4), w.slice(4));
  }
  return `[${words
    .map((w) => w.replace(/^0+(?=.)/, ""))
    .join(":")
    .replace(/(^|:)0(:0)+(:|$)/, "::")}]`;
}
