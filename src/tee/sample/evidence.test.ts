import assert from "node:assert/strict";
import { test } from "node:test";
import { createSampleEvidence, parseSampleEvidence } from "./evidence.js";

test("creates and parses the upstream sample evidence shape", () => {
  const rd = new Uint8Array(48).fill(7);
  const ev = createSampleEvidence(rd);
  assert.deepEqual(Object.keys(ev), ["svn", "report_data"]);
  assert.equal(ev.svn, "1");
  const p = parseSampleEvidence(JSON.parse(JSON.stringify(ev)));
  assert.deepEqual(p.reportData, rd);
});

test("garbage, truncated and oversized sample evidence is ERR_SAMPLE_EVIDENCE", () => {
  const good = createSampleEvidence(new Uint8Array(48));
  const cases: unknown[] = [
    null,
    "x",
    [],
    {},
    { svn: 1, report_data: good.report_data },
    { svn: "1" },
    { svn: "1", report_data: good.report_data.slice(0, 10) },
    { svn: "1", report_data: "!!!!" },
    { svn: "1", report_data: Buffer.alloc(65).toString("base64") },
    { svn: "1", report_data: "A".repeat(100000) },
  ];
  for (const c of cases) {
    assert.throws(() => parseSampleEvidence(c), { code: "ERR_SAMPLE_EVIDENCE" });
  }
  assert.throws(() => createSampleEvidence(new Uint8Array(65)), { code: "ERR_SAMPLE_EVIDENCE" });
});
