import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareWithExpected, expectedPath, loadExpected } from "./expected.js";
import { runSuite, summarizeResults } from "./runner.js";

/**
 * `npm run conformance:rego [-- [--update] [--verbose] [folder...]]`: runs OPA's v1 suite from
 * ../shared/conformance/opa-v1 in place, prints per-folder and total pass rates (strict and
 * lenient), and fails on any regression against the committed expectations.
 */
async function main(argv: string[]): Promise<number> {
  const update = argv.includes("--update");
  const verbose = argv.includes("--verbose");
  const folders = argv.filter((a) => !a.startsWith("--"));
  const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "..", "..");
  const suite = process.env.COCO_SHARED_DIR
    ? join(process.env.COCO_SHARED_DIR, "conformance", "opa-v1")
    : join(repo, "..", "shared", "conformance", "opa-v1");
  const t0 = Date.now();
  const results = runSuite(suite, folders.length ? (f) => folders.includes(f) : undefined);
  const ms = Date.now() - t0;
  const byFolder = summarizeResults(results);
  let total = 0;
  let strict = 0;
  let lenient = 0;
  for (const [folder, s] of [...byFolder].sort()) {
    total += s.total;
    strict += s.strict;
    lenient += s.lenient;
    const mark = s.strict === s.total ? "ok  " : "FAIL";
    console.log(
      `${mark} ${folder.padEnd(32)} ${s.strict}/${s.total} strict, ${s.lenient}/${s.total} lenient`,
    );
  }
  if (verbose) {
    for (const r of results) if (!r.strict) console.log(`  - ${r.id} ${r.note}: ${r.reason}`);
  }
  const pct = (n: number) => ((100 * n) / Math.max(total, 1)).toFixed(1);
  console.log(
    `TOTAL ${total} cases: ${strict} strict (${pct(strict)}%), ${lenient} lenient (${pct(lenient)}%) in ${ms} ms`,
  );
  if (update) {
    if (folders.length) {
      console.error("--update needs the whole suite (no folder filter)");
      return 2;
    }
    const passing = results.filter((r) => r.strict).map((r) => r.id);
    writeFileSync(expectedPath(repo), `${JSON.stringify({ strictPassing: passing }, null, 1)}\n`);
    console.log(`wrote ${passing.length} passing case ids to ${expectedPath(repo)}`);
    return 0;
  }
  const regressions = compareWithExpected(results, loadExpected(repo), folders.length > 0);
  if (regressions.length) {
    console.error(`REGRESSIONS (${regressions.length}):`);
    for (const r of regressions) console.error(`  ${r}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
