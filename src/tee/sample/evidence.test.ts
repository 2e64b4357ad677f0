import assert from "node:assert/strict";
import { test } from "node:test";
import { createSampleEvidence, parseSampleEvidence } from "./evidence.js";
import { encodeSampleLaunchField, parseSampleLaunchField } from "./launch-field.js";

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

test("the launch field rides as an optional init_data key and parses back", () => {
  for (const n of [32, 48, 64]) {
    const field = new Uint8Array(n).fill(9);
    const ev = createSampleEvidence(new Uint8Array(32), "1", field);
    assert.deepEqual(Object.keys(ev), ["svn", "report_data", "init_data"]);
    const p = parseSampleEvidence(JSON.parse(JSON.stringify(ev)));
    assert.deepEqual(p.initData, field);
  }
  // Upstream's evidence has no init_data: nothing is invented.
  assert.equal(parseSampleEvidence(createSampleEvidence(new Uint8Array(32))).initData, undefined);
});

test("a malformed init_data field is ERR_SAMPLE_EVIDENCE, not ignored", () => {
  const good = createSampleEvidence(new Uint8Array(48));
  const b64 = (n: number) => Buffer.alloc(n, 1).toString("base64");
  const cases: unknown[] = [
    null,
    5,
    "",
    "!!!!",
    b64(31),
    b64(33),
    b64(47),
    b64(65),
    b64(16),
    "A".repeat(100000),
    [b64(32)],
  ];
  for (const init_data of cases) {
    assert.throws(() => parseSampleEvidence({ ...good, init_data }), {
      code: "ERR_SAMPLE_EVIDENCE",
    });
  }
  assert.throws(() => createSampleEvidence(new Uint8Array(32), "1", new Uint8Array(20)), {
    code: "ERR_SAMPLE_EVIDENCE",
  });
});

test("the launch field environment value round-trips and refuses garbage", () => {
  const d = new Uint8Array(48).fill(3);
  assert.deepEqual(parseSampleLaunchField(encodeSampleLaunchField(d)), d);
  assert.equal(parseSampleLaunchField(undefined), undefined);
  assert.equal(parseSampleLaunchField(""), undefined);
  for (const v of [
    "x",
    "AAAA",
    Buffer.alloc(40).toString("base64"),
    "A".repeat(5000),
    `${Buffer.alloc(32).toString("base64")}\n`,
  ]) {
    assert.throws(() => parseSampleLaunchField(v), { code: "ERR_SAMPLE_EVIDENCE" });
  }
  assert.throws(() => encodeSampleLaunchField(new Uint8Array(20)), { code: "ERR_SAMPLE_EVIDENCE" });
});
