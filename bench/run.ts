/**
 * `npm run bench -- NAME [ARGS…] [--node PATH]…`: runs bench/NAME.ts (its exported `run()`).
 * With no NAME, lists them. Each `--node PATH` runs the same benchmark once more, in a child
 * process on that Node.js (after one on this one), and ends with a table of our medians on
 * each runtime: the same code, the same peers, back to back in one run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { enableCompileCache, unsupportedNode } from "../src/node-runtime.js";
import type { Stats } from "./harness.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(here)
  .filter(
    (f) =>
      f.endsWith(".js") &&
      !["run.js", "harness.js", "opa.js"].includes(f) &&
      !f.endsWith(".test.js"),
  )
  .map((f) => f.slice(0, -3))
  .sort();

/** Splits `--node PATH` pairs out of the benchmark's own arguments. */
function splitNodes(argv: string[]): { nodes: string[]; rest: string[] } {
  const nodes: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--node" && argv[i + 1] !== undefined) nodes.push(argv[++i]!);
    else rest.push(argv[i]!);
  }
  return { nodes, rest };
}

interface Line {
  node: string;
  ours: Stats;
  peer: Stats;
}

/** Runs the benchmark on each runtime in turn and prints our medians side by side. */
function compare(name: string, rest: string[], nodes: string[]): number {
  const dir = mkdtempSync(join(tmpdir(), "coco-bench-runtimes-"));
  try {
    const runtimes = [process.execPath, ...nodes];
    const results: Line[][] = [];
    for (const [i, node] of runtimes.entries()) {
      const jsonl = join(dir, `${i}.jsonl`);
      console.log(`\n## runtime ${i + 1}/${runtimes.length}: ${node}`);
      const r = spawnSync(node, [fileURLToPath(import.meta.url), name, ...rest], {
        stdio: "inherit",
        // COCO_BENCH_RUNTIME lets this runner start on an older Node.js for the comparison
        // only; product entry points the benchmark starts still refuse it.
        env: { ...process.env, COCO_BENCH_JSONL: jsonl, COCO_BENCH_RUNTIME: "1" },
      });
      let lines: Line[] = [];
      try {
        lines = readFileSync(jsonl, "utf8")
          .trim()
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Line);
      } catch {
        // No results: the run failed before its first report.
      }
      if (r.status !== 0) console.log(`## ${node}: the benchmark exited with ${r.status}`);
      results.push(lines);
    }
    const versions = results.map((lines, i) => lines[0]?.node ?? `(failed) ${runtimes[i]}`);
    console.log(
      `\n# ${name}: our median per runtime in ms, [the peer's median in the same run], ratio peer/ours`,
    );
    console.log(["case".padEnd(40), ...versions.map((v) => v.padStart(30))].join(" "));
    const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
    for (const first of results[0] ?? []) {
      const cells = results.map((lines) => {
        const l = lines.find((x) => x.ours.name === first.ours.name);
        return l
          ? `${ms(l.ours.medianMs)} [${ms(l.peer.medianMs)}] ${(l.peer.medianMs / l.ours.medianMs).toFixed(2)}x`.padStart(
              30,
            )
          : "—".padStart(30);
      });
      console.log([first.ours.name.padEnd(40), ...cells].join(" "));
    }
    return results.every((l) => l.length > 0) ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (name === undefined || !available.includes(name)) {
    console.error(
      `${name === undefined ? "usage" : `unknown benchmark '${name}'`}: npm run bench -- NAME [ARGS…] [--node PATH]…  (one of: ${available.join(", ") || "none yet"})`,
    );
    process.exit(name === undefined ? 0 : 2);
  }
  const { nodes, rest } = splitNodes(process.argv.slice(3));
  if (nodes.length > 0) {
    process.exitCode = compare(name, rest, nodes);
    return;
  }
  const why = process.env.COCO_BENCH_RUNTIME === "1" ? undefined : unsupportedNode();
  if (why !== undefined) {
    console.error(`bench: ERR_NODE_VERSION: ${why}`);
    process.exit(1);
  }
  enableCompileCache();
  const mod = (await import(`./${name}.js`)) as { run: (args: string[]) => Promise<void> };
  await mod.run(rest);
}

await main();
