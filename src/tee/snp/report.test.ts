import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { toHex } from "../common/bytes.js";
import { parseSnpEvidence, snpReportFromJson, snpReportToJson } from "./evidence.js";
import { decodeTcb, parseSnpReport, SNP_REPORT_SIZE } from "./report.js";

const REPORT = "fixtures/evidence/snp/test-report.bin";
const VLEK_REPORT = "fixtures/evidence/snp/test-vlek-report.bin";
const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(sharedPath(rel)));

test("parses the real v2 Milan report's fields", { skip: sharedSkip(REPORT) }, () => {
  const r = parseSnpReport(read(REPORT));
  assert.equal(r.version, 2);
  assert.equal(r.policy, 0x3001fn);
  assert.equal(r.vmpl, 0);
  assert.equal(r.cpuidFamId, null);
  assert.deepEqual(
    [r.reportedTcb.bootloader, r.reportedTcb.tee, r.reportedTcb.snp, r.reportedTcb.microcode],
    [3, 0, 8, 115],
  );
  assert.ok(toHex(r.chipId).startsWith("c38427a3"));
  assert.ok(toHex(r.reportData).startsWith("ec6c52d7"));
});

test("parses the real v3 VLEK report (Milan CPUID, VMPL 1)", {
  skip: sharedSkip(VLEK_REPORT),
}, () => {
  const r = parseSnpReport(read(VLEK_REPORT));
  assert.equal(r.version, 3);
  assert.equal(r.cpuidFamId, 0x19);
  assert.equal(r.cpuidModId, 0x01);
  assert.equal(r.vmpl, 1);
  assert.equal((r.keyInfo >> 2) & 7, 1);
});

test("JSON form round-trips to the identical 1184 bytes", { skip: sharedSkip(REPORT) }, () => {
  for (const rel of [REPORT, VLEK_REPORT]) {
    const raw = read(rel);
    const json = JSON.parse(JSON.stringify(snpReportToJson(parseSnpReport(raw))));
    assert.deepEqual(snpReportFromJson(json), raw);
    const ev = parseSnpEvidence({ attestation_report: json, cert_chain: null });
    assert.deepEqual(ev.report.raw, raw);
  }
});

test("rejects truncated, oversized and garbage reports with coded errors and offsets", () => {
  const raw = sharedSkip(REPORT) ? new Uint8Array(SNP_REPORT_SIZE) : read(REPORT);
  for (const len of [0, 1, 4, 100, SNP_REPORT_SIZE - 1]) {
    assert.throws(() => parseSnpReport(raw.subarray(0, len)), { code: "ERR_EVIDENCE_TRUNCATED" });
  }
  const big = new Uint8Array(SNP_REPORT_SIZE + 1);
  big.set(raw);
  assert.throws(() => parseSnpReport(big), { code: "ERR_EVIDENCE_OVERSIZE" });
  const garbage = new Uint8Array(SNP_REPORT_SIZE).fill(0xa5);
  assert.throws(() => parseSnpReport(garbage), { code: "ERR_EVIDENCE_VERSION" });
});

test("refuses non-zero bytes in the unsigned signature padding, naming the offset", {
  skip: sharedSkip(REPORT),
}, () => {
  const raw = read(REPORT).slice();
  raw[0x400] = 1;
  assert.throws(
    () => parseSnpReport(raw),
    (e: unknown) => {
      assert.equal((e as { code: string }).code, "ERR_EVIDENCE_MALFORMED");
      assert.equal((e as { offset: number }).offset, 0x400);
      return true;
    },
  );
});

test("rejects malformed evidence JSON with coded errors", () => {
  for (const bad of [
    null,
    1,
    "x",
    [],
    {},
    { attestation_report: {} },
    { attestation_report: { version: -1 } },
  ]) {
    assert.throws(() => parseSnpEvidence(bad), { code: "ERR_EVIDENCE_MALFORMED" });
  }
});

test("TCB_VERSION decodes per generation: Milan/Genoa vs Turin (FMC first)", () => {
  const raw = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(
    (({ fmc, bootloader, tee, snp, microcode }) => ({ fmc, bootloader, tee, snp, microcode }))(
      decodeTcb(raw, false),
    ),
    { fmc: null, bootloader: 1, tee: 2, snp: 7, microcode: 8 },
  );
  assert.deepEqual(
    (({ fmc, bootloader, tee, snp, microcode }) => ({ fmc, bootloader, tee, snp, microcode }))(
      decodeTcb(raw, true),
    ),
    { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 8 },
  );
});
