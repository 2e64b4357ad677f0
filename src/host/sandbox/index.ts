import { HostError } from "../errors.js";
import { createProcessSandboxBackend, stopProcessSandbox } from "./process.js";
import { createQemuSandboxBackend } from "./qemu.js";
import { createRemoteSandboxBackend, remoteSandboxAlive, stopRemoteSandbox } from "./remote.js";
import type { SandboxBackend, SandboxKind } from "./sandbox.js";

export { createProcessSandboxBackend, type ProcessSandboxOptions } from "./process.js";
export { createQemuSandboxBackend } from "./qemu.js";
export {
  createRemoteSandboxBackend,
  peerpodSocket,
  type RemoteSandboxOptions,
  remoteSandboxAlive,
  stopRemoteSandbox,
} from "./remote.js";
export type { Sandbox, SandboxBackend, SandboxKind, SandboxStartOptions } from "./sandbox.js";

/** Runtime classes coco knows and the sandbox each one means (upstream names accepted). */
export const RUNTIME_CLASSES: Readonly<Record<string, SandboxKind>> = {
  "coco-dev": "process",
  "kata-qemu-coco-dev": "process",
  qemu: "qemu",
  "kata-qemu": "qemu",
  "kata-qemu-tdx": "qemu",
  "kata-qemu-snp": "qemu",
  "coco-remote": "remote",
  "kata-remote": "remote",
};

/** The backend for a runtime class name; unknown names are a coded error. */
export function backendFor(runtimeClass: string): SandboxBackend {
  const kind = RUNTIME_CLASSES[runtimeClass || "coco-dev"];
  if (kind === "process") return createProcessSandboxBackend();
  if (kind === "qemu") {
    // kata-qemu-tdx / kata-qemu-snp ask for a confidential VM: refused loudly, never a plain VM.
    const tee = /-(tdx|snp)$/.exec(runtimeClass)?.[1] as "tdx" | "snp" | undefined;
    return createQemuSandboxBackend(tee ? { tee } : {});
  }
  if (kind === "remote") return createRemoteSandboxBackend();
  throw new HostError(
    "ERR_SANDBOX_RUNTIME_CLASS",
    `unknown runtime class ${JSON.stringify(runtimeClass)}; known: ${Object.keys(RUNTIME_CLASSES).join(", ")}`,
  );
}

/** What a pod record keeps about its sandbox (enough to stop it from another process). */
export interface RecordedSandbox {
  kind: string;
  pid: number;
  stateDir: string;
}

/** True while a recorded sandbox runs: its top process, or for a peer pod its agent socket. */
export function recordedSandboxAlive(rec: RecordedSandbox): boolean {
  if (rec.kind === "remote") return remoteSandboxAlive(rec.stateDir);
  if (rec.pid <= 0) return false;
  try {
    process.kill(rec.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a recorded sandbox (`coco rm`): by its pid, or for a peer pod through its adaptor. */
export async function stopRecordedSandbox(rec: RecordedSandbox): Promise<void> {
  if (rec.kind === "remote") return stopRemoteSandbox(rec.stateDir);
  if (rec.pid > 0) await stopProcessSandbox(rec.pid);
}
