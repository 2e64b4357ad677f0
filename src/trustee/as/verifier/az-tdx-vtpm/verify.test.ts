import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseAzTdxEvidence } from "./verify.js";

// No Azure TDX capture is in ../shared/fixtures; these tests check the parser's refusals using
// the real Azure SNP evidence (an SNP HCL report is not a TD one) and the real TDX quote.
const skip = sharedSkip("fixtures/evidence/az-snp-vtpm/evidence-v2.json");

test("an SNP HCL report is refused as az-tdx-vtpm evidence", { skip }, () => {
  const ev = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v2.json"), "utf8"),
  );
  const tdQuote = readFileSync(sharedPath("fixtures/evidence/tdx/tdx_quote_4.dat")).toString(
    "base64url",
  );
  assert.throws(() => parseAzTdxEvidence({ ...ev, td_quote: tdQuote }), {
    code: "ERR_EVIDENCE_MALFORMED",
  });
  assert.throws(() => parseAzTdxEvidence({ ...ev, version: 3 }), { code: "ERR_EVIDENCE_VERSION" });
  assert.throws(() => parseAzTdxEvidence("x"), { code: "ERR_EVIDENCE_MALFORMED" });
});
