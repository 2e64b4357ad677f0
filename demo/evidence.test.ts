import assert from "node:assert/strict";
import { test } from "node:test";
import { sharedSkip } from "../test/helpers/paths.js";
import { demoEvidence } from "./evidence.js";

test("the evidence demo verifies five real captures and refuses four tampered ones", {
  skip: sharedSkip("fixtures/evidence/tdx/tdx_quote_4.dat"),
}, async () => {
  const lines: string[] = [];
  const r = await demoEvidence((l) => lines.push(l));
  assert.equal(r.verified.length, 5, lines.join("\n"));
  assert.deepEqual(
    r.refused.map((x) => x.code),
    [
      "ERR_VERIFIER_SIGNATURE",
      "ERR_VERIFIER_REPORT_DATA",
      "ERR_VERIFIER_REPORT_DATA",
      "ERR_VERIFIER_TCB",
    ],
  );
});
