/**
 * The long-running pod shim: serves the task service on its socket until containerd calls
 * Shutdown with no task left. Started by `start` with `-socket`; its output goes to containerd's
 * shim log FIFO. It records its pid, the sandbox's pid and its socket in its state folder, so a
 * `delete` after a crash can clean up.
 */
import { chmodSync, closeSync, mkdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { TtrpcServer } from "../../protocol/ttrpc/index.js";
import type { ShimFlags } from "./bootstrap.js";
import { createEventPublisher } from "./events.js";
import { podStateDir, shimStateRoot } from "./paths.js";
import { PodShim } from "./pod-shim.js";
import { releasePendingOpens } from "./stdio.js";
import { registerTaskService } from "./task-service.js";

/** Runs the shim server; resolves -1 (the process lives on until Shutdown). */
export async function serve(flags: ShimFlags): Promise<number> {
  const ns = flags.namespace;
  const id = flags.id;
  const dir = podStateDir(shimStateRoot(), ns, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "shim.pid"), `${process.pid}`);
  writeFileSync(join(dir, "socket"), flags.socket);
  const log = (line: string) => {
    process.stderr.write(`${new Date().toISOString()} coco-shim ${id.slice(0, 12)}: ${line}\n`);
  };
  process.on("uncaughtException", (err) => log(`uncaught: ${err.stack ?? err.message}`));
  process.on("unhandledRejection", (err) => log(`unhandled rejection: ${String(err)}`));
  const events = createEventPublisher({
    ttrpcAddress: process.env.TTRPC_ADDRESS ?? "",
    namespace: ns,
    log,
  });
  const pod = new PodShim({
    namespace: ns,
    events,
    log,
    stateDir: dir,
    debug: flags.debug,
    insecureRegistries: (process.env.COCO_SHIM_INSECURE_REGISTRIES ?? "")
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== ""),
    containerImage: async (cid) =>
      (await import("./containers-client.js")).containerImage(flags.address, ns, cid),
    onSandboxStarted: (pid) => writeFileSync(join(dir, "sandbox.pid"), `${pid}`),
  });
  const server = new TtrpcServer({ onConnectionError: (err) => log(`connection: ${err.message}`) });
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    log("shutting down");
    await pod.stopSandbox().catch((err: Error) => log(`stopping the sandbox: ${err.message}`));
    // The socket and the state go first: containerd may kill this process once it answered.
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    await Promise.race([events.flush(), new Promise((r) => setTimeout(r, 3000))]);
    events.close();
    // A FIFO open still waiting for a peer holds a thread-pool thread, which exit would join.
    releasePendingOpens();
    process.exit(0);
  };
  registerTaskService(server, {
    pod,
    shutdown: () => void shutdown(),
    log: flags.debug ? log : () => {},
  });
  await server.listen(`unix://${flags.socket}`);
  chmodSync(flags.socket, 0o600);
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => {});
  log(`serving pod ${id} on ${flags.socket}`);
  try {
    writeSync(3, "ready\n");
    closeSync(3);
  } catch {
    // started by hand without a readiness pipe
  }
  return -1;
}
