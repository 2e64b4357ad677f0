import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createEngine, RegoError, renderQueryResults, renderRegoError } from "../rego/index.js";

/** `coco rego eval`: evaluates a query like `opa eval --format json`. */
export function registerRego(program: Command): void {
  const rego = program.command("rego").description("Rego policy engine (OPA-compatible).");
  rego
    .command("eval")
    .description("Evaluate a Rego query and print OPA's JSON result shape.")
    .argument("<query>", "the query, e.g. data.policy.allow")
    .option("--v0", "parse policies as Rego v0", false)
    .option("--strict", "strict builtin errors (abort instead of undefined)", false)
    .option(
      "-d, --data <file>",
      "a .rego policy or .json data file (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("-i, --input <file>", "JSON input document")
    .action(
      (query: string, opts: { v0: boolean; strict: boolean; data: string[]; input?: string }) => {
        const sources = new Map<string, string>([["query", query]]);
        try {
          const e = createEngine();
          e.setRegoV0(opts.v0);
          e.setStrictBuiltinErrors(opts.strict);
          e.setGatherPrints(true);
          for (const f of opts.data) {
            const text = readFileSync(f, "utf8");
            if (f.endsWith(".rego")) {
              sources.set(f, text);
              e.addPolicy(f, text);
            } else {
              e.addDataJson(text);
            }
          }
          if (opts.input) e.setInputJson(readFileSync(opts.input, "utf8"));
          let raw: ReturnType<typeof e.evalQueryRaw>;
          try {
            raw = e.evalQueryRaw(query);
          } finally {
            // print() output goes to stderr without the file:line prefix, as `opa eval` does.
            for (const line of e.takePrints()) {
              process.stderr.write(`${line.replace(/^[^\n]*?:\d+: /, "")}\n`);
            }
          }
          process.stdout.write(`${renderQueryResults(raw)}\n`);
        } catch (err) {
          if (err instanceof RegoError) {
            process.stderr.write(`${renderRegoError(err, sources)}\n`);
            process.exitCode = 1;
            return;
          }
          throw err;
        }
      },
    );
}
