import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { createSampleEvidence } from "../../../../tee/sample/index.js";
import { createSampleVerifier } from "./verifier.js";

const RD = new Uint8Array(48).fill(5);
const digestOf = (alg: string, text: string) =>
  new Uint8Array(createHash(alg).update(text).digest());
const TOML = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n';
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

describe("sample verifier init-data binding", () => {
  const v = createSampleVerifier();

  test("a launch field equal to the init-data digest passes and the digest is the claim", async () => {
    const d = digestOf("sha256", TOML);
    const [r] = await v.evaluate({
      tee: "sample",
      evidence: createSampleEvidence(RD, "1", d),
      expectedReportData: RD,
      expectedInitDataDigest: d,
    });
    assert.equal(r?.claims.init_data, b64(d));
    assert.equal(r?.teeClass, "cpu");
  });

  test("a launch field that differs from the init-data digest is ERR_VERIFIER_INIT_DATA", async () => {
    await assert.rejects(
      v.evaluate({
        tee: "sample",
        evidence: createSampleEvidence(RD, "1", digestOf("sha256", TOML)),
        expectedReportData: RD,
        expectedInitDataDigest: digestOf("sha256", `${TOML}# altered\n`),
      }),
      { code: "ERR_VERIFIER_INIT_DATA" },
    );
  });

  test("a launch field with no init-data sent is refused (the host may not hide init-data)", async () => {
    await assert.rejects(
      v.evaluate({
        tee: "sample",
        evidence: createSampleEvidence(RD, "1", digestOf("sha256", TOML)),
        expectedReportData: RD,
      }),
      { code: "ERR_VERIFIER_INIT_DATA" },
    );
  });

  test("upstream's evidence without the field: the digest is only echoed, as upstream", async () => {
    const d = digestOf("sha384", TOML);
    const upstream = { svn: "1", report_data: b64(RD) };
    const [r] = await v.evaluate({
      tee: "sample",
      evidence: upstream,
      expectedReportData: RD,
      expectedInitDataDigest: d,
    });
    assert.deepEqual(r?.claims, {
      svn: "1",
      report_data: b64(RD),
      launch_digest: "abcde",
      platform_version: { major: 1, minor: 4 },
      debug: false,
      init_data: b64(d),
    });
    const [none] = await v.evaluate({ tee: "sample", evidence: upstream, expectedReportData: RD });
    assert.equal(none?.claims.init_data, undefined);
  });

  test("the digest is fitted to the field as hardware fields are (truncate, zero-pad)", async () => {
    const d512 = digestOf("sha512", TOML);
    const ok = (field: Uint8Array, expected: Uint8Array) =>
      v.evaluate({
        tee: "sample",
        evidence: createSampleEvidence(RD, "1", field),
        expectedReportData: RD,
        expectedInitDataDigest: expected,
      });
    await ok(d512.slice(0, 32), d512);
    const d256 = digestOf("sha256", TOML);
    const padded = new Uint8Array(48);
    padded.set(d256);
    await ok(padded, d256);
    padded[47] = 1;
    await assert.rejects(ok(padded, d256), { code: "ERR_VERIFIER_INIT_DATA" });
  });

  test("report data is still checked first; a malformed init_data is ERR_VERIFIER_EVIDENCE", async () => {
    const d = digestOf("sha256", TOML);
    await assert.rejects(
      v.evaluate({
        tee: "sample",
        evidence: createSampleEvidence(new Uint8Array(48), "1", d),
        expectedReportData: RD,
        expectedInitDataDigest: d,
      }),
      { code: "ERR_VERIFIER_REPORT_DATA" },
    );
    await assert.rejects(
      v.evaluate({
        tee: "sample",
        evidence: { svn: "1", report_data: b64(RD), init_data: "AAAA" },
        expectedReportData: RD,
        expectedInitDataDigest: d,
      }),
      { code: "ERR_VERIFIER_EVIDENCE" },
    );
  });
});
