import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DIST_ROOT } from "../../dist-root.js";
import { buildInitDataDisk } from "../../protocol/agent/index.js";
import { parseInitData } from "../../protocol/initdata/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { encodeSampleLaunchField, SAMPLE_LAUNCH_FIELD_ENV } from "../../tee/sample/index.js";
import { HostError } from "../errors.js";
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "./sandbox.js";
import { spawnSandboxProcess } from "./spawn.js";

// The guest entry point, launched as a separate program (the host never imports guest code):
// its bundle when the build made one (one file through node's compile cache: a pod's agent
// starts several times faster than from the ~400 modules of tsc's output), else tsc's output.
const AGENT_BUNDLE = join(DIST_ROOT, "bundle", "guest-agent.cjs");
const AGENT_MAIN = join(DIST_ROOT, "src", "guest", "agent", "main.js");
const agentProgram = () => (existsSync(AGENT_BUNDLE) ? AGENT_BUNDLE : AGENT_MAIN);

/** Options for {@link createProcessSandboxBackend}. */
export interface ProcessSandboxOptions {
  /** The node binary for the agent (default: this one). */
  node?: string;
  /** Agent start timeout, ms (default 20 s). */
  startTimeoutMs?: number;
  /**
   * Replaces the sample TEE launch field computed from the init-data. The host owns this value
   * as a VMM owns MRCONFIGID; the option shows what a host that lies about it achieves.
   */
  sampleLaunchField?: Uint8Array;
}

/**
 * The sample TEE launch field for init-data TOML bytes: its digest with the algorithm it names,
 * kept at its own length (Kata `calculate_initdata_digest` for a platform without protection).
 * Init-data that does not parse refuses the start, as Kata's runtime does.
 */
export function sampleLaunchField(initData: Uint8Array): Uint8Array {
  try {
    return parseInitData(initData).digest;
  } catch (err) {
    throw new HostError(
      "ERR_POD_INITDATA",
      `the sandbox cannot measure the init-data: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * The `process` sandbox (runtime class `coco-dev`): the pod agent runs on this host as a child
 * process in its own mount, UTS, IPC and PID namespaces (`unshare`), with a private tmpfs at
 * /run/kata-containers, the sample TEE and real runc. It keeps the host's network namespace so
 * loopback services (registry, Trustee) stay reachable. DEVELOPMENT ONLY, like upstream's
 * coco-dev runtime class: root on this host can read everything in it. The init-data digest is
 * placed in the sample TEE's launch field (the agent's environment at exec, read once by the
 * sample attester), as a VMM places it in MRCONFIGID/HOST_DATA; nothing protects it.
 */
export function createProcessSandboxBackend(opts: ProcessSandboxOptions = {}): SandboxBackend {
  return {
    kind: "process",
    async unavailable() {
      if (process.getuid?.() !== 0) return "the process sandbox needs root (unshare, mount, runc)";
      if (!existsSync(agentProgram()))
        return `agent entry ${AGENT_MAIN} is missing: run npm run build`;
      return false;
    },
    start: (o) => startProcessSandbox(o, opts),
  };
}

async function startProcessSandbox(
  o: SandboxStartOptions,
  opts: ProcessSandboxOptions,
): Promise<Sandbox> {
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const socketPath = join(o.stateDir, "agent.sock");
  const cfg: Record<string, unknown> = {
    root: "/run/kata-containers",
    socket: `unix://${socketPath}`,
    runcRoot: "/run/kata-containers/.runc",
    privateRoot: true,
    privateDirs: ["/run/confidential-containers"],
    initdataDir: "/run/confidential-containers/initdata",
    insecureRegistries: o.insecureRegistries ?? [],
  };
  // The sample TEE's launch field (MRCONFIGID's stand-in) is set by the launcher, never
  // inherited from this process's environment.
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[SAMPLE_LAUNCH_FIELD_ENV];
  if (o.initData) {
    env[SAMPLE_LAUNCH_FIELD_ENV] = encodeSampleLaunchField(
      opts.sampleLaunchField ?? sampleLaunchField(o.initData),
    );
    // Attached as the shim attaches it: a block image with magic, length and gzip.
    const disk = join(o.stateDir, "initdata.img");
    writeFileSync(disk, buildInitDataDisk(o.initData), { mode: 0o644 });
    cfg.initdataDisk = disk;
  }
  const cfgPath = join(o.stateDir, "agent.json");
  writeFileSync(cfgPath, JSON.stringify(cfg), { mode: 0o600 });
  const args = [
    "--mount",
    "--uts",
    "--ipc",
    "--pid",
    "--fork",
    "--mount-proc",
    "--kill-child=SIGTERM",
  ];
  // The agent's diagnostics go to a file, so the sandbox outlives a detached `coco run`.
  const logPath = join(o.stateDir, "agent.log");
  const { child, exited, gone } = spawnSandboxProcess(
    "unshare",
    [...args, opts.node ?? process.execPath, agentProgram(), cfgPath],
    logPath,
    "a",
    env,
  );
  const output = () => {
    try {
      return readFileSync(logPath, "utf8").slice(-8192);
    } catch {
      return "";
    }
  };
  let logged = 0;
  const forward = () => {
    if (!o.onLog) return;
    const text = output();
    const all = text.split("\n");
    for (const line of all.slice(logged, -1)) if (line.trim()) o.onLog(line);
    logged = Math.max(logged, all.length - 1);
  };
  const stop = async () => {
    if (gone() || child.pid === undefined) return;
    // Signal the agent itself (unshare's child) so it tears its containers down; unshare exits
    // when it does. Fall back to unshare, whose --kill-child passes SIGTERM on.
    let target = child.pid;
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8")
        .trim()
        .split(/\s+/);
      if (kids[0]) target = Number(kids[0]);
    } catch {
      // no children file: signal unshare
    }
    try {
      process.kill(target, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        if (!gone() && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };
  // Ready when the agent answers grpc.Health/Check.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (gone()) {
      throw new HostError(
        "ERR_SANDBOX_START",
        `the process sandbox exited during start:\n${output().trim().split("\n").slice(-10).join("\n")}`,
      );
    }
    if (existsSync(socketPath)) {
      const client = new TtrpcClient(`unix://${socketPath}`, { timeoutMs: 2000 });
      try {
        await client.callRaw("grpc.Health", "Check", new Uint8Array(0));
        client.close();
        break;
      } catch {
        client.close();
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new HostError(
        "ERR_SANDBOX_START",
        `the agent did not answer within ${opts.startTimeoutMs ?? 20_000} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  forward();
  child.unref();
  return {
    id: o.id,
    kind: "process",
    agentAddress: `unix://${socketPath}`,
    devOnly: true,
    pid: child.pid ?? -1,
    exited,
    stop,
  };
}

/**
 * Stops a process sandbox by the pid of its `unshare` process (as recorded for `coco rm`):
 * unshare --fork ignores SIGTERM while it waits, so the agent (its child, PID 1 inside) is
 * signalled, tears its containers down, and unshare exits with it.
 */
export async function stopProcessSandbox(unsharePid: number, timeoutMs = 10_000): Promise<void> {
  const alive = () => {
    try {
      process.kill(unsharePid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  let target = unsharePid;
  try {
    const kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8")
      .trim()
      .split(/\s+/);
    if (kids[0]) target = Number(kids[0]);
  } catch {
    // signal unshare itself
  }
  try {
    process.kill(target, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone
    }
  }
}
