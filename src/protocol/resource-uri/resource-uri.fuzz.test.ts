/**
 * Mutation fuzzing of resource URIs (`kbs://<host>/<repo>/<type>/<tag>`) and KBS resource paths.
 * Property: a value or a `ResourceUriError`; a parsed URI never yields a path segment of `..`,
 * `.` or empty, and formats back to a URI that parses to the same value.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate } from "../../../test/helpers/fuzz.js";
import {
  formatResourceUri,
  kbsPathOf,
  parseResourceUri,
  ResourceUriError,
  resourceUriFromPath,
} from "./resource-uri.js";

const SEEDS = [
  "kbs:///default/key/1",
  "kbs://example.com:8080/repo/type/tag",
  "kbs:///a/b/c?x=1",
  "default/key/1",
];
const DONORS = [
  "..",
  "%2e%2e",
  "/",
  "//",
  "\u0000",
  "?",
  "#",
  "%",
  "%00",
  "\\",
  "é",
  " ",
  ":",
  "@",
];

describe("resource URI fuzzing", () => {
  test("mutated URIs parse or throw a coded ResourceUriError; parsed ones are safe paths", async (t) => {
    const seeds = SEEDS.map((s) => new Uint8Array(Buffer.from(s)));
    const donors = DONORS.map((s) => new Uint8Array(Buffer.from(s)));
    const stats = await fuzz({
      name: "resource-uri",
      seed: 0x7e1,
      iterations: 6000,
      errorClass: ResourceUriError,
      gen: (rng) => ({
        path: rng.chance(0.3),
        s: Buffer.from(mutate(rng, rng.pick(seeds), { donors })).toString("utf8"),
      }),
      target: ({ path, s }) => {
        const u = path ? resourceUriFromPath(s) : parseResourceUri(s);
        for (const seg of u.segments) {
          assert.ok(
            seg !== ".." && seg !== "." && seg !== "" && !seg.includes("/"),
            `unsafe segment in ${kbsPathOf(u)}`,
          );
        }
        assert.deepEqual(parseResourceUri(formatResourceUri(u)), u);
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0 && stats.coded.size > 0);
  });
});
