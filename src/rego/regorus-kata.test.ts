import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createEngine } from "./index.js";

/**
 * Optional oracle: microsoft/regorus's Kata fixtures (tests/kata/data/*: 12 generated agent
 * policies, 442 recorded requests, expected results and print traces). They are not vendored
 * (no upstream files in this repository, no network in tests): point REGORUS_KATA_DIR at a
 * checkout's `tests/kata/data` to run them. Prints are compared after the path prefix, which
 * the fixtures record as `tests/kata/data/<name>/policy.rego`.
 */
const dir = process.env.REGORUS_KATA_DIR;
const skip =
  dir && existsSync(dir) ? false : "set REGORUS_KATA_DIR to regorus's tests/kata/data to run";

test("regorus Kata fixtures: every request's result and print trace match", { skip }, () => {
  let requests = 0;
  for (const name of readdirSync(dir!).sort()) {
    const d = join(dir!, name);
    if (!existsSync(join(d, "policy.rego"))) continue;
    const e = createEngine();
    e.setRegoV0(true);
    e.setGatherPrints(true);
    e.setStrictBuiltinErrors(false);
    e.addPolicy(
      `tests/kata/data/${name}/policy.rego`,
      readFileSync(join(d, "policy.rego"), "utf8"),
    );
    const outFile = ["outputs.json", "output.json"]
      .map((f) => join(d, f))
      .find((f) => existsSync(f));
    const outputs = outFile ? JSON.parse(readFileSync(outFile, "utf8")) : undefined;
    const prints = JSON.parse(readFileSync(join(d, "prints.json"), "utf8")) as string[][];
    let i = 0;
    for (const raw of readFileSync(join(d, "inputs.txt"), "utf8").split("\n")) {
      const line = raw.trim();
      if (!line) continue;
      const [ep, input] = JSON.parse(line.replace('"ep":', "").slice(0, -1)) as [string, unknown];
      e.setInputJson(JSON.stringify(input));
      const r = e.evalRule(`data.agent_policy.${ep}`);
      if (outputs) assert.deepEqual(r, outputs[i], `${name} #${i} ${ep}`);
      assert.deepEqual(e.takePrints(), prints[i] ?? [], `${name} #${i} ${ep} prints`);
      i++;
      requests++;
    }
  }
  assert.ok(requests > 400, `ran ${requests} requests`);
});
