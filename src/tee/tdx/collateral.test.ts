import assert from "node:assert/strict";
import { test } from "node:test";
import { COLLATERAL_MAX_SIZE, parseEnclaveIdentity, parseTcbInfo } from "./collateral.js";

const level = {
  tcb: { sgxtcbcomponents: Array.from({ length: 16 }, () => ({ svn: 1 })), pcesvn: 1 },
  tcbDate: "2024-01-01T00:00:00Z",
  tcbStatus: "UpToDate",
};
const info = {
  id: "TDX",
  version: 3,
  issueDate: "x",
  nextUpdate: "y",
  fmspc: "00",
  pceId: "0000",
  tcbEvaluationDataNumber: 1,
  tcbLevels: [level],
};
const sig = "ab".repeat(64);

test("cuts out exactly the signed inner object text, whitespace and escapes included", () => {
  const inner = JSON.stringify(info, null, 1).replace('"x"', '"x \\" } {"');
  const doc = `{ "tcbInfo" : ${inner} , "signature":"${sig}"}`;
  const c = parseTcbInfo(doc);
  assert.equal(Buffer.from(c.signedText).toString(), inner);
  assert.equal(c.signature.length, 64);
});

test("malformed, truncated, oversized and ambiguous collateral is refused", () => {
  const doc = `{"tcbInfo":${JSON.stringify(info)},"signature":"${sig}"}`;
  for (let n = 0; n < doc.length; n += 5) {
    assert.throws(() => parseTcbInfo(doc.slice(0, n)), { code: "ERR_COLLATERAL_INVALID" });
  }
  assert.throws(() => parseTcbInfo(`{"tcbInfo":{},"signature":"${sig}"}`), {
    code: "ERR_COLLATERAL_INVALID",
  });
  assert.throws(() => parseTcbInfo(doc.replace(sig, "zz")), { code: "ERR_COLLATERAL_INVALID" });
  assert.throws(() => parseTcbInfo(" ".repeat(COLLATERAL_MAX_SIZE + 1)), {
    code: "ERR_COLLATERAL_INVALID",
  });
  // Two tcbInfo keys: JSON.parse keeps the last, the text cut would take the first.
  const dup = `{"tcbInfo":{"fmspc":"evil"},"tcbInfo":${JSON.stringify(info)},"signature":"${sig}"}`;
  assert.throws(() => parseTcbInfo(dup), { code: "ERR_COLLATERAL_INVALID" });
  assert.throws(
    () => parseEnclaveIdentity(`{"enclaveIdentity":{"id":"QE"},"signature":"${sig}"}`),
    { code: "ERR_COLLATERAL_INVALID" },
  );
});
