/**
 * The short-lived shim commands containerd runs: `start` (hand over the pod shim's address,
 * starting the shim for a new pod) and `delete` (clean up after a shim containerd lost), and
 * `-info`.
 */
import { spawn } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DIST_ROOT } from "../../dist-root.js";
import { DeleteResponseSchema } from "../../protocol/proto/containerd/runtime/task/v2/shim_pb.js";
import { RuntimeInfoSchema } from "../../protocol/proto/containerd/types/introspection_pb.js";
// Straight to the module (not the ttrpc index, which loads every service codec): start and
// delete run once per pod and container, and their start-up is on kubelet's path.
import { socketPathOf } from "../../protocol/ttrpc/address.js";
import { HostError } from "../errors.js";
import { stopRemoteSandbox } from "../sandbox/remote.js";
import { readStartParams, type ShimFlags, shimSocketAddress, startReply } from "./bootstrap.js";
import { podKeyOf, podStateDir, readBundleSpec, shimStateRoot } from "./paths.js";
import { KILLED_EXIT } from "./process-state.js";
import { RUNTIME_NAME, SHIM_VERSION } from "./version.js";

const SELF = join(DIST_ROOT, "src", "host", "shim", "main.js");
/** Largest stdin a start accepts (containerd's own limit). */
const MAX_STDIN = 10 << 20;

async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > MAX_STDIN) throw new HostError("ERR_SHIM_ARGS", `stdin exceeds ${MAX_STDIN} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function canConnect(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPathOf(address));
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Opens containerd's shim log FIFO (`<bundle>/log`) for the server's output, else a file. */
function openLog(bundle: string, fallback: string): number {
  try {
    return openSync(join(bundle, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return openSync(fallback, "a", 0o600);
  }
}

/** `start`: prints the address of the shim serving this task's pod. */
export async function start(flags: ShimFlags): Promise<number> {
  const params = readStartParams(flags, await readStdin(), process.env);
  const bundle = process.cwd();
  const spec = readBundleSpec(bundle);
  const key = podKeyOf(params.id, spec);
  const address = shimSocketAddress(params.socketDir, params.grpcAddress, params.namespace, key);
  if (!(await canConnect(address))) {
    if (key !== params.id)
      throw new HostError(
        "ERR_SHIM_NOT_FOUND",
        `no shim serves pod sandbox ${key}: its sandbox task must be created first`,
      );
    await startServer(flags, params, bundle, address);
  }
  process.stdout.write(startReply(params, address));
  return 0;
}

async function startServer(
  flags: ShimFlags,
  params: ReturnType<typeof readStartParams>,
  bundle: string,
  address: string,
): Promise<void> {
  const stateDir = podStateDir(shimStateRoot(), params.namespace, params.id);
  const { mkdirSync } = await import("node:fs");
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logFd = openLog(bundle, join(stateDir, "shim.log"));
  const args = [
    SELF,
    "-namespace",
    params.namespace,
    "-id",
    params.id,
    "-address",
    params.grpcAddress,
    "-publish-binary",
    flags.publishBinary,
    "-socket",
    socketPathOf(address),
    ...(flags.debug ? ["-debug"] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: bundle,
    detached: true,
    stdio: ["ignore", logFd, logFd, "pipe"],
    env: {
      ...process.env,
      TTRPC_ADDRESS: params.ttrpcAddress,
      GRPC_ADDRESS: params.grpcAddress,
      NAMESPACE: params.namespace,
    },
  });
  closeSync(logFd);
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const outcome = await new Promise<string>((resolve) => {
    let text = "";
    const timer = setTimeout(() => resolve("timeout"), 30_000);
    ready.on("data", (d: Buffer) => {
      text += d.toString();
    });
    ready.on("end", () => {
      clearTimeout(timer);
      resolve(text);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(text || `exited with status ${code}`);
    });
  });
  (ready as unknown as { destroy(): void }).destroy();
  child.unref();
  if (!outcome.startsWith("ready")) {
    const log = join(stateDir, "shim.log");
    const tail = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
    throw new HostError(
      "ERR_SHIM_STATE",
      `the pod shim did not start: ${outcome.trim()}${tail ? `\n${tail}` : ""}`,
    );
  }
}

function readPid(path: string): number {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 1 ? n : 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `delete`: containerd lost the shim (killed, crashed) and cleans up. For the pod's own task
 * (the sandbox, or a standalone container) the sandbox is stopped, a lingering shim killed and
 * the pod's state, socket and folders removed; an app container has nothing on the host.
 * Prints the task's DeleteResponse (exit 137: it was killed).
 */
export async function del(flags: ShimFlags): Promise<number> {
  if (flags.namespace === "" || flags.id === "")
    throw new HostError("ERR_SHIM_ARGS", "shim delete needs -namespace and -id");
  const bundle = flags.bundle || process.cwd();
  let spec: ReturnType<typeof readBundleSpec>;
  try {
    spec = readBundleSpec(bundle);
  } catch {
    spec = undefined;
  }
  const key = podKeyOf(flags.id, spec);
  const dir = podStateDir(shimStateRoot(), flags.namespace, key);
  let pid = 0;
  if (key === flags.id && existsSync(dir)) {
    // containerd gives `delete` 5 s (io.containerd.timeout.shim.cleanup): record what to kill,
    // remove the pod's files first, then kill without waiting for a graceful stop.
    pid = readPid(join(dir, "sandbox.pid"));
    const shimPid = readPid(join(dir, "shim.pid"));
    let socket = "";
    try {
      socket = readFileSync(join(dir, "socket"), "utf8").trim();
    } catch {
      // no socket recorded
    }
    if (socket) rmSync(socket, { force: true });
    // A peer pod has no host process: ask its adaptor for StopVM, within the cleanup budget.
    // Whatever it answers, the owner file goes with the folder, so the adaptor's garbage
    // collection deletes the VM if StopVM did not.
    await Promise.race([
      stopRemoteSandbox(join(dir, "sandbox")).catch(() => {}),
      new Promise((r) => setTimeout(r, 3000).unref()),
    ]);
    rmSync(dir, { recursive: true, force: true });
    for (const target of [shimPid, pid]) {
      if (!target || target === process.pid || !alive(target)) continue;
      // The sandbox was started detached, in its own process group: end all of it.
      for (const p of [-target, target]) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          // gone, or not a group
        }
      }
    }
  }
  process.stdout.write(
    toBinary(
      DeleteResponseSchema,
      create(DeleteResponseSchema, {
        pid,
        exitStatus: KILLED_EXIT,
        exitedAt: timestampFromDate(new Date()),
      }),
    ),
  );
  return 0;
}

/** `-info`: the RuntimeInfo containerd's introspection asks for (options echoed back). */
export async function info(): Promise<number> {
  const stdin = await readStdin();
  let options: ReturnType<typeof create<typeof AnySchema>> | undefined;
  if (stdin.length > 0) {
    try {
      options = fromBinary(AnySchema, stdin);
    } catch {
      options = undefined;
    }
  }
  process.stdout.write(
    toBinary(
      RuntimeInfoSchema,
      create(RuntimeInfoSchema, {
        name: RUNTIME_NAME,
        version: { version: SHIM_VERSION },
        ...(options ? { options } : {}),
      }),
    ),
  );
  return 0;
}
