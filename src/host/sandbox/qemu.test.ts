// run-tests: timeout 15 min (two VM boots; a TCG boot may take up to its 400 s start limit on a busy host)
import { createQemuSandboxBackend } from "./qemu.js";
import { sandboxConformance } from "./sandbox.suite.js";

/**
 * The conformance suite boots real VMs. With KVM a boot takes seconds; with TCG only (as on
 * hosts whose /dev/kvm cannot run a vCPU) each boot takes about a minute; they run in `npm test`
 * (and so in CI) unless COCO_SKIP_VM_TESTS=1.
 */
sandboxConformance("qemu", () => {
  const backend = createQemuSandboxBackend();
  return {
    kind: backend.kind,
    start: (o) => backend.start(o),
    unavailable: async () =>
      process.env.COCO_SKIP_VM_TESTS === "1" ? "COCO_SKIP_VM_TESTS=1" : backend.unavailable(),
  };
});
