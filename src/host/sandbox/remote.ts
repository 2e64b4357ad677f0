/**
 * The `remote` sandbox (runtime class `coco-remote`): peer pods. The pod runs in its own VM made
 * by the node's peer-pods adaptor (`coco peerpod-adaptor`, or upstream's cloud-api-adaptor)
 * through a provider (libvirt, a cloud, local processes). This side is Kata's remote hypervisor:
 * it calls `hypervisor.Hypervisor` CreateVM (the sandbox id and the pod's annotations, the
 * init-data TOML decoded, as Kata passes it) and StartVM on the adaptor's socket, and dials the
 * agent at the socket CreateVM returned, which the adaptor proxies to the VM's forwarder.
 *
 * It also leaves an owner file in the sandbox's state folder and names it to the adaptor, so the
 * adaptor's garbage collection can tell that the pod is gone when StopVM never arrived (the
 * adaptor was down at `coco rm`, or the runtime died).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_HYPERVISOR_SOCKET,
  HYPERVISOR_SERVICE,
  HypervisorMessages,
  PEERPOD_ANNOTATIONS,
} from "../../protocol/peerpod/index.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";
import { HostError } from "../errors.js";
import type { Sandbox, SandboxBackend, SandboxStartOptions } from "./sandbox.js";

/** Options for {@link createRemoteSandboxBackend}. */
export interface RemoteSandboxOptions {
  /** The adaptor's socket (default: COCO_PEERPOD_SOCKET, else /run/peerpod/hypervisor.sock). */
  socket?: string;
  /** CreateVM/StartVM timeout (default 600 s: Kata's remote_hypervisor_timeout). */
  timeoutMs?: number;
}

/** The adaptor socket this host uses. */
export function peerpodSocket(opts: RemoteSandboxOptions = {}): string {
  return opts.socket ?? process.env.COCO_PEERPOD_SOCKET ?? DEFAULT_HYPERVISOR_SOCKET;
}

const OWNER_FILE = "peerpod-owner";
const REMOTE_FILE = "remote.json";

async function call<K extends "CreateVM" | "StartVM" | "StopVM" | "Version">(
  socket: string,
  method: K,
  req: object,
  timeoutMs: number,
): Promise<Uint8Array> {
  const client = new TtrpcClient(`unix://${socket}`, { timeoutMs });
  try {
    const codec = HypervisorMessages[`${method}Request`] as { encode(v: object): Uint8Array };
    return await client.callRaw(HYPERVISOR_SERVICE, method, codec.encode(req));
  } finally {
    client.close();
  }
}

/** The `remote` sandbox backend (see the module comment). */
export function createRemoteSandboxBackend(opts: RemoteSandboxOptions = {}): SandboxBackend {
  const socket = peerpodSocket(opts);
  const timeoutMs = opts.timeoutMs ?? 600_000;
  return {
    kind: "remote",
    async unavailable() {
      if (!existsSync(socket))
        return `no peer-pods adaptor at ${socket}: start \`coco peerpod-adaptor\` on this node (or set COCO_PEERPOD_SOCKET)`;
      try {
        await call(socket, "Version", { version: "" }, 5000);
        return false;
      } catch (err) {
        return `the peer-pods adaptor at ${socket} does not answer: ${(err as Error).message}`;
      }
    },
    start: (o) => startRemote(o, socket, timeoutMs),
  };
}

async function startRemote(
  o: SandboxStartOptions,
  socket: string,
  timeoutMs: number,
): Promise<Sandbox> {
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const owner = join(o.stateDir, OWNER_FILE);
  writeFileSync(owner, o.id, { mode: 0o600 });
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) };
  // As Kata's remote hypervisor: the init-data goes decoded, as TOML text.
  delete annotations[PEERPOD_ANNOTATIONS.initData];
  delete annotations["io.katacontainers.config.runtime.cc_init_data"];
  if (o.initData) annotations[PEERPOD_ANNOTATIONS.initData] = new TextDecoder().decode(o.initData);
  annotations[PEERPOD_ANNOTATIONS.owner] = owner;
  if (o.insecureRegistries?.length)
    annotations[PEERPOD_ANNOTATIONS.insecureRegistries] = o.insecureRegistries.join(",");
  else delete annotations[PEERPOD_ANNOTATIONS.insecureRegistries];
  const log = o.onLog ?? (() => {});
  let agentSocketPath: string;
  try {
    const res = await call(
      socket,
      "CreateVM",
      { id: o.id, annotations, networkNamespacePath: "" },
      timeoutMs,
    );
    agentSocketPath = HypervisorMessages.CreateVMResponse.decode(res).agentSocketPath;
  } catch (err) {
    rmSync(owner, { force: true });
    throw new HostError(
      "ERR_SANDBOX_START",
      `the peer-pods adaptor refused CreateVM: ${(err as Error).message}`,
      { cause: err },
    );
  }
  writeFileSync(
    join(o.stateDir, REMOTE_FILE),
    JSON.stringify({ socket, id: o.id, agentSocketPath }),
    { mode: 0o600 },
  );
  log(`peer pod ${o.id}: VM created by the adaptor at ${socket}; starting it`);
  const stopVm = () => call(socket, "StopVM", { id: o.id }, 120_000).then(() => undefined);
  const onAbort = () => void stopVm().catch(() => {});
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const t0 = performance.now();
  try {
    await call(socket, "StartVM", { id: o.id }, timeoutMs);
  } catch (err) {
    await stopVm().catch(() => {});
    rmSync(owner, { force: true });
    throw new HostError(
      "ERR_SANDBOX_START",
      `the peer pod VM did not start: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
  }
  if (o.signal?.aborted) {
    await stopVm().catch(() => {});
    rmSync(owner, { force: true });
    throw new HostError("ERR_SANDBOX_START", "the sandbox start was cancelled");
  }
  log(
    `peer pod ${o.id}: agent reachable through the adaptor in ${Math.round(performance.now() - t0)} ms`,
  );
  let stopped = false;
  let resolveExited: () => void = () => {};
  const exited = new Promise<void>((r) => {
    resolveExited = r;
  });
  // The adaptor removes the agent socket when the VM is deleted or found dead.
  const watch = setInterval(() => {
    if (!existsSync(agentSocketPath)) {
      clearInterval(watch);
      resolveExited();
    }
  }, 1000);
  watch.unref();
  return {
    id: o.id,
    kind: "remote",
    agentAddress: `unix://${agentSocketPath}`,
    // The VM is a plain VM with the sample TEE (libvirt) or a process: no confidentiality.
    devOnly: true,
    pid: 0,
    exited,
    async stop() {
      if (stopped) return exited;
      stopped = true;
      clearInterval(watch);
      try {
        await stopVm();
      } finally {
        rmSync(owner, { force: true });
        resolveExited();
      }
    },
  };
}

/**
 * Stops a remote sandbox from its state folder (`coco rm`): StopVM on the adaptor that made it.
 * The owner file is removed whatever the adaptor answers, so an adaptor that is down deletes the
 * VM when it comes back (garbage collection).
 */
export async function stopRemoteSandbox(stateDir: string): Promise<void> {
  let rec: { socket: string; id: string };
  try {
    rec = JSON.parse(readFileSync(join(stateDir, REMOTE_FILE), "utf8"));
  } catch {
    rmSync(join(stateDir, OWNER_FILE), { force: true });
    return;
  }
  try {
    await call(rec.socket, "StopVM", { id: rec.id }, 120_000);
  } finally {
    rmSync(join(stateDir, OWNER_FILE), { force: true });
  }
}

/** True while the adaptor serves the remote sandbox's agent socket. */
export function remoteSandboxAlive(stateDir: string): boolean {
  try {
    const rec = JSON.parse(readFileSync(join(stateDir, REMOTE_FILE), "utf8")) as {
      agentSocketPath: string;
    };
    return existsSync(rec.agentSocketPath) && existsSync(join(stateDir, OWNER_FILE));
  } catch {
    return false;
  }
}
