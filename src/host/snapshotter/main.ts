#!/usr/bin/env node
/**
 * `coco-snapshotter`: containerd's proxy snapshotter for coco-ts runtime handlers (guest pull).
 * Usage: coco-snapshotter [--socket PATH] [--root DIR]
 * containerd finds it through `[proxy_plugins.coco]` (written by `coco install containerd`).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startSnapshotterServer } from "./grpc-server.js";
import { createSnapshotter } from "./service.js";
import { SnapshotStore } from "./store.js";

const DEFAULT_SOCKET = "/run/coco-snapshotter/snapshotter.sock";
const DEFAULT_ROOT = "/var/lib/coco-snapshotter";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: "string", default: DEFAULT_SOCKET },
      root: { type: "string", default: DEFAULT_ROOT },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      `usage: coco-snapshotter [--socket PATH] [--root DIR]\n  --socket  gRPC unix socket containerd dials (default ${DEFAULT_SOCKET})\n  --root    state folder (default ${DEFAULT_ROOT})\n`,
    );
    return;
  }
  const root = values.root as string;
  const socket = values.socket as string;
  const empty = join(root, "empty");
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(empty, { recursive: true, mode: 0o555 });
  mkdirSync(join(socket, ".."), { recursive: true, mode: 0o700 });
  const store = new SnapshotStore(join(root, "snapshots.json"));
  const log = (line: string) => process.stderr.write(`coco-snapshotter: ${line}\n`);
  const server = await startSnapshotterServer(createSnapshotter(store, empty), socket, log);
  log(`serving on ${socket} (state ${root})`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err: unknown) => {
  const code = (err as { code?: unknown }).code;
  process.stderr.write(
    `coco-snapshotter: ${typeof code === "string" ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
