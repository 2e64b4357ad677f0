/**
 * The program of `containerd-shim-coco-v2` (main.ts is its entry): `start` hands containerd the
 * address of the pod's shim (starting it for a new pod), `delete` cleans up after a shim
 * containerd lost, and without an action the process is that long-running shim (started by
 * `start` with `-socket`). Bundled into dist/bundle/containerd-shim-coco-v2.mjs.
 */
import { parseShimFlags } from "./bootstrap.js";

async function dispatch(argv: string[]): Promise<number> {
  const flags = parseShimFlags(argv);
  if (flags.version) {
    const { SHIM_VERSION } = await import("./version.js");
    process.stdout.write(`${SHIM_VERSION}\n`);
    return 0;
  }
  if (flags.info) return (await import("./commands.js")).info();
  if (flags.action === "start") return (await import("./commands.js")).start(flags);
  if (flags.action === "delete") return (await import("./commands.js")).del(flags);
  if (flags.action === "" && flags.socket !== "") return (await import("./server.js")).serve(flags);
  process.stderr.write(
    `containerd-shim-coco-v2: unknown action ${JSON.stringify(flags.action)} (start, delete, -v, -info)\n`,
  );
  return 2;
}

/** Runs the shim with containerd's arguments; sets the exit code (the server keeps running). */
export async function main(argv: string[]): Promise<void> {
  try {
    const code = await dispatch(argv);
    // The server keeps running on its own; start, delete and -v end here.
    if (code >= 0) process.exitCode = code;
  } catch (e) {
    const err = e as Error & { code?: string };
    process.stderr.write(
      `containerd-shim-coco-v2: ${err.code ? `${err.code}: ` : ""}${err.message}\n`,
    );
    process.exitCode = 1;
  }
}
