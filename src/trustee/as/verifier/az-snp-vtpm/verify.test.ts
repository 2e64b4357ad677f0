import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseHclReport, parseHclVarData } from "../../../../tee/az-snp-vtpm/hcl.js";
import { parseCertificate, parsePemBundle } from "../../../../tee/common/certs.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import { snpVendorFromDir } from "../snp/store.js";
import { verifySnpReportSignature, verifySnpReportTcb } from "../snp/verify.js";
import { parseAzSnpEvidence, verifyAzSnpEvidence } from "./verify.js";
import {
  parseTpmQuote,
  verifyInitDataPcr,
  verifyTpmNonce,
  verifyTpmPcrs,
  verifyTpmSignature,
} from "./vtpm.js";

const D = "fixtures/evidence/az-snp-vtpm/";
const skip =
  sharedSkip(`${D}evidence-v2.json`) ||
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem");
const clock = () => new Date("2025-06-01T00:00:00Z");
const readIf = (p: string): Uint8Array | undefined =>
  existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
const json = (f: string): unknown => JSON.parse(readFileSync(sharedPath(`${D}${f}`), "utf8"));
const vendor = () => snpVendorFromDir(sharedPath("fixtures/roots/amd"), readIf, clock);
const V2_REPORT_DATA = Buffer.from(
  "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef",
  "hex",
);

test("HCL report: var-data hash is bound in the SNP report, AK parses, SNP report verifies with vcek.pem", {
  skip,
}, () => {
  const hcl = parseHclReport(new Uint8Array(readFileSync(sharedPath(`${D}hcl-report.bin`))));
  assert.equal(hcl.reportType, "snp");
  const report = parseSnpReport(hcl.hwReport);
  assert.ok(Buffer.from(hcl.varDataSha256).toString("hex").startsWith("b3fbad65"));
  assert.deepEqual(report.reportData.subarray(0, 32), hcl.varDataSha256);
  assert.equal(parseHclVarData(hcl.varData).akJwk.kty, "RSA");
  const [vcek] = parsePemBundle(readFileSync(sharedPath(`${D}vcek.pem`), "utf8"), "vcek.pem");
  assert.ok(vcek);
  verifySnpReportSignature(report, vcek);
  verifySnpReportTcb(report, vcek, "Milan");
});

test("vTPM quote v1: signed by the HCL AK, nonce 'challenge', PCR digest matches", { skip }, () => {
  const hcl = parseHclReport(new Uint8Array(readFileSync(sharedPath(`${D}hcl-report.bin`))));
  const q = parseTpmQuote(json("tpm-quote-v1.json"));
  verifyTpmSignature(q, hcl);
  verifyTpmNonce(q, Buffer.from("challenge"));
  verifyTpmPcrs(q);
  assert.throws(() => verifyTpmNonce(q, Buffer.from("challengf")), { code: "ERR_TPM_NONCE" });
  const sig = q.signature.slice();
  sig[10] = (sig[10] ?? 0) ^ 1;
  assert.throws(() => verifyTpmSignature({ ...q, signature: sig }, hcl), {
    code: "ERR_TPM_QUOTE_SIGNATURE",
  });
  const pcrs = q.pcrs.map((p) => p.slice());
  const p3 = pcrs[3] as Uint8Array;
  p3[0] = (p3[0] ?? 0) ^ 1;
  assert.throws(() => verifyTpmPcrs({ ...q, pcrs }), { code: "ERR_TPM_PCR_DIGEST" });
  assert.throws(() => verifyInitDataPcr(q, new Uint8Array(32)), { code: "ERR_INIT_DATA_MISMATCH" });
  assert.throws(() => verifyInitDataPcr(q, new Uint8Array(48)), { code: "ERR_INIT_DATA_LENGTH" });
});

test("evidence v1 verifies with report data 'challenge' and yields upstream's claims", {
  skip,
}, () => {
  const claims = verifyAzSnpEvidence(parseAzSnpEvidence(json("evidence-v1.json")), {
    vendor: vendor(),
    expectedReportData: Buffer.from("challenge"),
    clock,
  });
  assert.equal(claims.report_data, "6368616c6c656e6765");
  const tpm = claims.tpm as Record<string, string>;
  assert.ok(tpm.pcr00?.startsWith("e15c4479") && tpm.pcr00.endsWith("dced"));
  assert.equal(Object.keys(tpm).length, 24);
  assert.equal(claims.init_data, tpm.pcr08);
  assert.equal(typeof claims.policy_debug_allowed, "string");
  assert.equal(claims.chip_id, undefined);
});

test("evidence v2 verifies with its 48-byte report data; user-data binding is enforced", {
  skip,
}, () => {
  const ev = parseAzSnpEvidence(json("evidence-v2.json"));
  const claims = verifyAzSnpEvidence(ev, {
    vendor: vendor(),
    expectedReportData: V2_REPORT_DATA,
    clock,
  });
  assert.equal(
    (claims.tpm as Record<string, string>).pcr00,
    "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7",
  );
  assert.throws(
    () =>
      verifyAzSnpEvidence(ev, {
        vendor: vendor(),
        expectedReportData: Buffer.from("123abc", "hex"),
        clock,
      }),
    {
      code: "ERR_TPM_NONCE",
    },
  );
});

test("corrupting the HCL report or the VCEK gives a specific error", { skip }, () => {
  const base = json("evidence-v2.json") as Record<string, unknown>;
  const hcl = Buffer.from(base.hcl_report as string, "base64url");
  const cases: [number, string][] = [
    [0x20 + 0x90, "ERR_SIGNATURE"], // MEASUREMENT inside the signed SNP report
    [0x20 + 0x50 + 40, "ERR_SIGNATURE"], // REPORT_DATA beyond the var-data hash
    [0x20 + 0x50, "ERR_HCL_VAR_DATA"], // REPORT_DATA[0]: var-data hash binding
    [0x4c0 + 20 + 30, "ERR_TPM_QUOTE_SIGNATURE"], // var data (the AK JWK text)
  ];
  for (const [off, code] of cases) {
    const t = Buffer.from(hcl);
    t[off] = (t[off] ?? 0) ^ 0x01;
    const ev = { ...base, hcl_report: t.toString("base64url") };
    assert.throws(
      () =>
        verifyAzSnpEvidence(parseAzSnpEvidence(ev), {
          vendor: vendor(),
          expectedReportData: V2_REPORT_DATA,
          clock,
        }),
      (e: unknown) => {
        assert.match(
          (e as { code: string }).code,
          new RegExp(`^(${code}|ERR_HCL_VAR_DATA|ERR_TPM_AK)$`),
          `offset ${off}`,
        );
        return true;
      },
    );
  }
  const genoa = parseCertificate(
    readFileSync(sharedPath("fixtures/roots/amd/genoa-ask-ark-asvk-bundle.pem"), "utf8").match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/,
    )?.[0] ?? "",
    "Genoa ASK",
  );
  const foreign = { ...base, vcek: Buffer.from(genoa.raw).toString("base64url") };
  assert.throws(
    () =>
      verifyAzSnpEvidence(parseAzSnpEvidence(foreign), {
        vendor: vendor(),
        expectedReportData: V2_REPORT_DATA,
        clock,
      }),
    {
      code: "ERR_CERT_CHAIN",
    },
  );
  assert.throws(() => parseAzSnpEvidence({ ...base, version: 0 }), {
    code: "ERR_EVIDENCE_VERSION",
  });
  assert.throws(
    () => parseAzSnpEvidence({ ...base, hcl_report: "AAAA" }),
    (e: unknown) => /^ERR_EVIDENCE_/.test((e as { code: string }).code),
  );
});

test("tampering sweep over a real Azure HCL report: only unsigned header, IGVM size/version and padding bytes pass", {
  skip,
}, () => {
  const base = json("evidence-v2.json") as Record<string, unknown>;
  const hcl = Buffer.from(base.hcl_report as string, "base64url");
  const v = vendor();
  const accepted: number[] = [];
  for (let i = 0; i < hcl.length; i++) {
    const t = Buffer.from(hcl);
    t[i] = (t[i] ?? 0) ^ 0x01;
    try {
      verifyAzSnpEvidence(parseAzSnpEvidence({ ...base, hcl_report: t.toString("base64url") }), {
        vendor: v,
        expectedReportData: V2_REPORT_DATA,
        clock,
      });
      accepted.push(i);
    } catch (e) {
      assert.match((e as { code: string }).code, /^ERR_/);
    }
  }
  // Bound by nothing: the HCL header after "HCLA" (version, size, request type, status,
  // reserved), the IGVM data-size and version words, and the NV padding after the variable data.
  const unsigned = (i: number): boolean =>
    (i >= 4 && i < 32) || (i >= 1216 && i < 1224) || i >= 1216 + 20 + 1110;
  assert.deepEqual(
    accepted.filter((i) => !unsigned(i)),
    [],
  );
  assert.equal(accepted.length, 28 + 8 + (hcl.length - 2346));
});
