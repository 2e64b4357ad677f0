import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseDcapQuote } from "../../../../tee/tdx/quote.js";
import { parseSgxEvidence, verifySgxQuote } from "./verify.js";

const Q = "fixtures/evidence/sgx/occlum_quote.dat";
const skip = sharedSkip(Q);
const clock = () => new Date("2025-01-01T00:00:00Z");
const raw = (): Uint8Array => new Uint8Array(readFileSync(sharedPath(Q)));

test("the real Occlum SGX quote verifies and yields upstream's claims", { skip }, () => {
  const q = parseSgxEvidence({ quote: Buffer.from(raw()).toString("base64") });
  const report = new Uint8Array(64);
  report.set(Buffer.from("test"));
  const c = verifySgxQuote(q, {
    clock,
    expectedReportData: Buffer.from("test"),
    expectedInitDataHash: new Uint8Array(32),
  });
  const header = c.header as Record<string, string>;
  const body = c.body as Record<string, string>;
  assert.deepEqual(
    [header.version, header.att_key_type, header.att_key_data_0, header.qe_svn, header.pce_svn],
    ["0300", "0200", "00000000", "0800", "0d00"],
  );
  assert.equal(body.mr_enclave, "8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68");
  assert.equal(body.mr_signer, "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e");
  assert.equal(body["attributes.flags"], "0700000000000000");
  assert.equal(body["attributes.xfrm"], "e700000000000000");
  assert.equal(body.cpu_svn, "06060c0cffff00000000000000000000");
  assert.equal(c.report_data, Buffer.from(report).toString("hex"));
  assert.equal(c.init_data, "0".repeat(128));
  assert.equal(c.platform_instance_id, "7a3a6941065cd5060bd93d3db2cfc0c8");
  assert.equal(Object.keys(body).length, 17);
});

test("SGX binding failures and a TDX quote given as SGX evidence are refused with codes", {
  skip,
}, () => {
  const q = parseDcapQuote(raw());
  assert.throws(() => verifySgxQuote(q, { clock, expectedReportData: Buffer.from("nope") }), {
    code: "ERR_REPORT_DATA_MISMATCH",
  });
  assert.throws(
    () => verifySgxQuote(q, { clock, expectedInitDataHash: new Uint8Array(64).fill(9) }),
    {
      code: "ERR_INIT_DATA_MISMATCH",
    },
  );
  const tdx = readFileSync(sharedPath("fixtures/evidence/tdx/tdx_quote_4.dat")).toString("base64");
  assert.throws(() => parseSgxEvidence({ quote: tdx }), { code: "ERR_EVIDENCE_VERSION" });
});

test("tampering sweep over the SGX quote's signed header and body", { skip }, () => {
  const r = raw();
  const q = parseDcapQuote(r);
  for (let i = 0; i < q.certDataOffset + 4 + 128 + 384 + 64; i++) {
    const t = r.slice();
    t[i] = (t[i] ?? 0) ^ 0x80;
    assert.throws(
      () => verifySgxQuote(parseDcapQuote(t), { clock }),
      (e: unknown) => /^ERR_/.test((e as { code: string }).code),
      `byte ${i}`,
    );
  }
});
