/**
 * The `opa` peer shared by the Rego benches: where its binary is, and `opa bench` timing.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Stats, summarize } from "./harness.js";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");

/** The opa binary scripts/setup installs. */
export const opa = join(repo, ".tools", "bin", "opa");

/**
 * `opa bench --format json --count 1 <files...>` run `batches` times; its ms per decision
 * (T/N) per run, summarized as `opa bench <name>` with `us_per_decision` in `extra`.
 */
export function opaBench(name: string, files: string[], batches: number): Stats {
  const args = ["bench", "--format", "json", "--count", "1", ...files];
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const out = JSON.parse(execFileSync(opa, args, { encoding: "utf8" })) as {
      N: number;
      T: number;
    };
    per.push(out.T / out.N / 1e6);
  }
  const st = summarize(`opa bench ${name}`, per);
  st.extra = { us_per_decision: +(st.medianMs * 1000).toFixed(2) };
  return st;
}
