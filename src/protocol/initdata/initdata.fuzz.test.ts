/**
 * Mutation fuzzing of the init-data TOML parser (version, algorithm, data table). Property: a
 * value or an `InitDataError` with a code — TOML syntax errors from the library included.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import { InitDataError, parseInitData } from "./initdata.js";

const doc = `version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://127.0.0.1:8080"
'''
"policy.rego" = "package agent_policy"
"cdh.toml" = """
socket = 'unix:///run/cdh.sock'
"""
`;

const FRAGMENTS = [
  "[data]\n",
  "[[data]]\n",
  'algorithm = "md5"\n',
  "version = 1\n",
  '"x" = 1\n',
  "a.b.c = 1\n",
  "[data.sub]\nk = 'v'\n",
  "\u0000",
  "'''",
  '"""',
  "\\u00",
  "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
  "x = {a = {b = {c = {}}}}\n",
  "1979-05-27T07:32:00Z",
];

describe("init-data fuzzing", () => {
  test("mutated init-data TOML parses or throws a coded InitDataError", async (t) => {
    const seed = new Uint8Array(Buffer.from(doc));
    const donors = FRAGMENTS.map((f) => new Uint8Array(Buffer.from(f)));
    const stats = await fuzz({
      name: "initdata",
      seed: 0x1d,
      iterations: 4000,
      errorClass: InitDataError,
      gen: (rng) => mutate(rng, seed, { donors }),
      target: (b) => parseInitData(b),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
