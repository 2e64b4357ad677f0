/** The real `opa` binary as the demos' cross-check peer. */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** What `opa eval --format json` prints (only the parts the demos read). */
export interface OpaEvalOutput {
  result?: { expressions: { value: unknown }[]; bindings: Record<string, unknown> }[];
}

/**
 * Writes `policy`, `data` and `input` into `dir` (p.rego, d.json, i.json) and runs
 * `opa eval --format json -d p.rego -d d.json -i i.json <query>` on them.
 */
export function opaEval(
  opa: string,
  dir: string,
  files: { policy: string; data: unknown; input: unknown },
  query: string,
): OpaEvalOutput {
  const p = join(dir, "p.rego");
  const d = join(dir, "d.json");
  const i = join(dir, "i.json");
  writeFileSync(p, files.policy);
  writeFileSync(d, JSON.stringify(files.data));
  writeFileSync(i, JSON.stringify(files.input));
  return JSON.parse(
    execFileSync(opa, ["eval", "--format", "json", "-d", p, "-d", d, "-i", i, query], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }),
  ) as OpaEvalOutput;
}
