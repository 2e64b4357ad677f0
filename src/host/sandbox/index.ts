import { HostError } from "../errors.js";
import { createProcessSandboxBackend } from "./process.js";
import { createQemuSandboxBackend } from "./qemu.js";
import type { SandboxBackend } from "./sandbox.js";

export { createProcessSandboxBackend, type ProcessSandboxOptions } from "./process.js";
export { createQemuSandboxBackend } from "./qemu.js";
export type { Sandbox, SandboxBackend, SandboxKind, SandboxStartOptions } from "./sandbox.js";

/** Runtime classes coco knows and the sandbox each one means (upstream names accepted). */
export const RUNTIME_CLASSES: Readonly<Record<string, "process" | "qemu">> = {
  "coco-dev": "process",
  "kata-qemu-coco-dev": "process",
  qemu: "qemu",
  "kata-qemu": "qemu",
  "kata-qemu-tdx": "qemu",
  "kata-qemu-snp": "qemu",
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
  throw new HostError(
    "ERR_SANDBOX_RUNTIME_CLASS",
    `unknown runtime class ${JSON.stringify(runtimeClass)}; known: ${Object.keys(RUNTIME_CLASSES).join(", ")}`,
  );
}
