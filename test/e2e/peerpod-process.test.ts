// Peer pods end to end with the process provider (each pod "VM" a local process sandbox).
import { join } from "node:path";
import { createProcessProvider } from "../../src/host/peerpod/index.js";
import { peerPodEndToEnd } from "./peerpod-e2e.js";

peerPodEndToEnd({
  provider: "process",
  skip: async () => (process.getuid?.() === 0 ? false : "needs root (unshare, runc)"),
  adaptorArgs: async () => [],
  makeProvider: (dir) => createProcessProvider({ dir: join(dir, "peerpod", "instances") }),
  podTimeoutMs: 120_000,
});
