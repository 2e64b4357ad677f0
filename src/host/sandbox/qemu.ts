import { HostError } from "../errors.js";
import type { SandboxBackend } from "./sandbox.js";

/**
 * The `qemu` sandbox (a real VM: kernel + initrd carrying Node and the guest components, the agent
 * over vsock) is NOT BUILT yet. It fails loudly so nobody mistakes it for a working isolation
 * boundary; the Sandbox interface and conformance suite are ready for it.
 */
export function createQemuSandboxBackend(): SandboxBackend {
  return {
    kind: "qemu",
    async unavailable() {
      return "the qemu sandbox is not built yet (ERR_SANDBOX_NOT_BUILT)";
    },
    async start() {
      throw new HostError(
        "ERR_SANDBOX_NOT_BUILT",
        "the qemu sandbox is not built yet: use --runtime-class coco-dev (process sandbox, development only)",
      );
    },
  };
}
