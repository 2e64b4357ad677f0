import assert from "node:assert/strict";
import { test } from "node:test";
import { repoRoot, sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { compareWithExpected, loadExpected } from "./expected.js";
import { runSuite } from "./runner.js";

test("OPA v1 conformance suite: no case that passed before fails now", {
  skip: sharedSkip("conformance/opa-v1"),
}, () => {
  const results = runSuite(sharedPath("conformance/opa-v1"));
  assert.equal(results.length, 2067, "the suite holds 2,067 cases");
  const expected = loadExpected(repoRoot);
  assert.ok(expected.size > 0, "expectations file lists passing cases");
  const regressions = compareWithExpected(results, expected, false);
  assert.deepEqual(regressions, []);
});
