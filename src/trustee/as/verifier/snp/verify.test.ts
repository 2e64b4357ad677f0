import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import type { Clock } from "../../../../tee/common/certs.js";
import { parseCertificate } from "../../../../tee/common/certs.js";
import { parseSnpEvidence, snpReportToJson } from "../../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import {
  loadVendorCertificates,
  type ProcessorGeneration,
  type VendorCertificates,
} from "./vendor.js";
import { verifySnpEvidence, verifySnpReportSignature, verifySnpReportTcb } from "./verify.js";

const F = "fixtures/evidence/snp/";
const ROOTS = "fixtures/roots/amd/";
const skip =
  sharedSkip(`${F}test-report.bin`) || sharedSkip(`${ROOTS}milan-ask-ark-asvk-bundle.pem`);
const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(sharedPath(rel)));
/** Inside every fixture certificate's validity (the VLEK expired 2025-12-10). */
const june2025: Clock = () => new Date("2025-06-01T00:00:00Z");

function vendor(clock: Clock): Map<ProcessorGeneration, VendorCertificates> {
  const m = new Map<ProcessorGeneration, VendorCertificates>();
  for (const g of ["Milan", "Genoa", "Turin"] as const) {
    m.set(
      g,
      loadVendorCertificates(
        readFileSync(sharedPath(`${ROOTS}${g.toLowerCase()}-ask-ark-asvk-bundle.pem`), "utf8"),
        g,
        clock,
      ),
    );
  }
  return m;
}

function evidenceOf(raw: Uint8Array, chain: { cert_type: string; data: number[] }[] | null) {
  return parseSnpEvidence(
    JSON.parse(
      JSON.stringify({
        attestation_report: snpReportToJson(parseSnpReport(raw)),
        cert_chain: chain,
      }),
    ),
  );
}

test("the three pinned AMD bundles load and chain to their ARKs", { skip }, () => {
  const v = vendor(june2025);
  assert.equal(v.size, 3);
});

test("a bundle whose ARK is not the pinned one is refused", { skip }, () => {
  const genoa = readFileSync(sharedPath(`${ROOTS}genoa-ask-ark-asvk-bundle.pem`), "utf8");
  // Genoa certificates presented as Milan's: names do not match, so the bundle lacks ARK-Milan.
  assert.throws(() => loadVendorCertificates(genoa, "Milan", june2025), {
    code: "ERR_CERT_MISSING",
  });
});

test("the real v2 report verifies with its VCEK (signature + TCB), full path with assumed Milan", {
  skip,
}, () => {
  const raw = read(`${F}test-report.bin`);
  const vcek = read(`${F}test-vcek.der`);
  const report = parseSnpReport(raw);
  const cert = parseCertificate(vcek, "VCEK");
  verifySnpReportSignature(report, cert);
  verifySnpReportTcb(report, cert, "Milan");
  const claims = verifySnpEvidence(evidenceOf(raw, null), {
    vendor: vendor(june2025),
    vcekSource: () => vcek,
    minVersion: 2,
    assumeGeneration: "Milan",
    expectedReportData: report.reportData.subarray(0, 32),
    clock: june2025,
  });
  assert.equal(claims.reported_tcb_microcode, 115);
  assert.equal(claims.policy_abi_major, 0);
  assert.equal(claims.policy_abi_minor, 0x1f);
  assert.equal(claims.policy_smt_allowed, true);
  assert.equal(claims.policy_debug_allowed, false);
  assert.equal(claims.measurement.length, 96);
  assert.equal(claims.report_data.length, 128);
  assert.equal(claims.init_data.length, 64);
  assert.equal(claims.chip_id.length, 128);
});

test("upstream's corruptions: byte 42 breaks the signature, byte 384 breaks the TCB check", {
  skip,
}, () => {
  const vcek = parseCertificate(read(`${F}test-vcek.der`), "VCEK");
  for (const rel of ["test-report.bin", "test-vlek-report.bin"]) {
    const key = rel.includes("vlek") ? parseCertificate(read(`${F}test-vlek.der`), "VLEK") : vcek;
    const a = read(`${F}${rel}`).slice();
    a[42] = ((a[42] ?? 0) + 1) & 0xff;
    assert.throws(() => verifySnpReportSignature(parseSnpReport(a), key), {
      code: "ERR_SIGNATURE",
    });
    const b = read(`${F}${rel}`).slice();
    b[384] = ((b[384] ?? 0) + 1) & 0xff;
    assert.throws(() => verifySnpReportTcb(parseSnpReport(b), key, "Milan"), {
      code: "ERR_TCB_MISMATCH",
    });
  }
});

test("v2 reports are refused by default (upstream accepts 3..5) and need a generation", {
  skip,
}, () => {
  const raw = read(`${F}test-report.bin`);
  const opts = {
    vendor: vendor(june2025),
    vcekSource: () => read(`${F}test-vcek.der`),
    clock: june2025,
  };
  assert.throws(() => verifySnpEvidence(evidenceOf(raw, null), opts), {
    code: "ERR_EVIDENCE_VERSION",
  });
  assert.throws(() => verifySnpEvidence(evidenceOf(raw, null), { ...opts, minVersion: 2 }), {
    code: "ERR_PROCESSOR_UNKNOWN",
  });
});

test("binding failures: report data and host data each have their own code", { skip }, () => {
  const raw = read(`${F}test-report.bin`);
  const base = {
    vendor: vendor(june2025),
    vcekSource: () => read(`${F}test-vcek.der`),
    minVersion: 2,
    assumeGeneration: "Milan" as const,
    clock: june2025,
  };
  assert.throws(
    () =>
      verifySnpEvidence(evidenceOf(raw, null), {
        ...base,
        expectedReportData: new Uint8Array(48).fill(1),
      }),
    {
      code: "ERR_REPORT_DATA_MISMATCH",
    },
  );
  assert.throws(
    () =>
      verifySnpEvidence(evidenceOf(raw, null), {
        ...base,
        expectedInitDataHash: new Uint8Array(32).fill(1),
      }),
    {
      code: "ERR_INIT_DATA_MISMATCH",
    },
  );
  // HOST_DATA of this report is zero: a zero digest (sha384 truncated to 32) matches.
  verifySnpEvidence(evidenceOf(raw, null), { ...base, expectedInitDataHash: new Uint8Array(48) });
});

test("the VLEK report chains to the ASVK but is refused for VMPL 1", { skip }, () => {
  const raw = read(`${F}test-vlek-report.bin`);
  const chain = [{ cert_type: "VLEK", data: Array.from(read(`${F}test-vlek.der`)) }];
  assert.throws(
    () => verifySnpEvidence(evidenceOf(raw, chain), { vendor: vendor(june2025), clock: june2025 }),
    {
      code: "ERR_VMPL",
    },
  );
});

test("an expired VLEK is refused with the system clock (it expired 2025-12-10)", { skip }, () => {
  const raw = read(`${F}test-vlek-report.bin`);
  const chain = [{ cert_type: "VLEK", data: Array.from(read(`${F}test-vlek.der`)) }];
  const after: Clock = () => new Date("2026-01-01T00:00:00Z");
  assert.throws(
    () => verifySnpEvidence(evidenceOf(raw, chain), { vendor: vendor(june2025), clock: after }),
    {
      code: "ERR_CERT_EXPIRED",
    },
  );
});

test("a VCEK presented under the wrong chain (ASVK instead of ASK) is refused", { skip }, () => {
  const raw = read(`${F}test-report.bin`);
  const v = vendor(june2025);
  const milan = v.get("Milan");
  assert.ok(milan?.asvk);
  v.set("Milan", { ...milan, ask: milan.asvk });
  assert.throws(
    () =>
      verifySnpEvidence(evidenceOf(raw, null), {
        vendor: v,
        vcekSource: () => read(`${F}test-vcek.der`),
        minVersion: 2,
        assumeGeneration: "Milan",
        clock: june2025,
      }),
    { code: "ERR_CERT_CHAIN" },
  );
});

test("an ARK in cert_chain that is not the pinned one is refused", { skip }, () => {
  const raw = read(`${F}test-vlek-report.bin`);
  const genoaPem = readFileSync(sharedPath(`${ROOTS}genoa-ask-ark-asvk-bundle.pem`), "utf8");
  const genoaArk = vendor(june2025).get("Genoa")?.ark;
  assert.ok(genoaArk && genoaPem);
  const chain = [
    { cert_type: "ARK", data: Array.from(genoaArk.raw) },
    { cert_type: "VLEK", data: Array.from(read(`${F}test-vlek.der`)) },
  ];
  assert.throws(
    () => verifySnpEvidence(evidenceOf(raw, chain), { vendor: vendor(june2025), clock: june2025 }),
    {
      code: "ERR_CERT_ROOT",
    },
  );
});

test("tampering sweep: any flipped byte of the signed region fails verification", { skip }, () => {
  const raw = read(`${F}test-report.bin`);
  const vcek = read(`${F}test-vcek.der`);
  const opts = {
    vendor: vendor(june2025),
    vcekSource: () => vcek,
    minVersion: 2,
    assumeGeneration: "Milan" as const,
    clock: june2025,
  };
  const codes = new Map<string, number>();
  for (let i = 0; i < 0x2a0 + 144; i++) {
    const t = raw.slice();
    t[i] = (t[i] ?? 0) ^ 0x01;
    let code = "accepted";
    try {
      verifySnpEvidence({ report: parseSnpReport(t), certChain: null }, opts);
    } catch (e) {
      code = (e as { code: string }).code;
    }
    assert.notEqual(code, "accepted", `flipping byte ${i} was accepted`);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  assert.ok((codes.get("ERR_SIGNATURE") ?? 0) > 600);
});
