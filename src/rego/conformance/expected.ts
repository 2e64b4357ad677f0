import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CaseResult } from "./runner.js";

/** Where the committed expectations live (source tree, not dist). */
export function expectedPath(repo: string): string {
  return join(repo, "src", "rego", "conformance", "expected.json");
}

/** Case ids that passed strictly when the expectations were last updated. */
export function loadExpected(repo: string): Set<string> {
  const p = expectedPath(repo);
  if (!existsSync(p)) return new Set();
  const doc = JSON.parse(readFileSync(p, "utf8")) as { strictPassing?: string[] };
  return new Set(doc.strictPassing ?? []);
}

/** Ids expected to pass that no longer do (only among the cases that ran when `partial`). */
export function compareWithExpected(
  results: readonly CaseResult[],
  expected: ReadonlySet<string>,
  partial: boolean,
): string[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  const out: string[] = [];
  for (const id of expected) {
    const r = byId.get(id);
    if (!r) {
      if (!partial) out.push(`${id}: missing from the run`);
      continue;
    }
    if (!r.strict) out.push(`${id} (${r.note}): ${r.reason}`);
  }
  return out;
}
