/** `coco ps`: list the pods this host runs. */
import type { Command } from "commander";
import { DEFAULT_STATE_ROOT, listPods } from "../host/runtime/state.js";
import { recordedSandboxAlive } from "../host/sandbox/index.js";

/** Registers `coco ps`. */
export function registerPs(program: Command): void {
  program
    .command("ps")
    .description("list pods started with coco run --keep/--detach")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) => {
      const pods = listPods(DEFAULT_STATE_ROOT).map((p) => ({
        ...p,
        status: recordedSandboxAlive(p) ? p.status : "gone",
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(pods, null, 2)}\n`);
        return;
      }
      const rows = [["NAME", "STATUS", "SANDBOX", "CONTAINERS", "STARTED"]];
      for (const p of pods) {
        rows.push([
          p.name,
          p.status,
          `${p.kind}${p.devOnly ? " (dev only)" : ""}`,
          p.containers
            .map((c) => (c.restarts ? `${c.name}(${c.restarts} restarts)` : c.name))
            .join(","),
          p.startedAt,
        ]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows)
        process.stdout.write(
          `${r
            .map((c, i) => c.padEnd(widths[i]!))
            .join("  ")
            .trimEnd()}\n`,
        );
    });
}
