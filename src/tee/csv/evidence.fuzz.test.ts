/**
 * Mutation fuzzing of Hygon CSV evidence: the JSON, the report page and the certificate layouts,
 * seeded with the real capture and the shipped HRK. Verification (SM2) is slow in JavaScript,
 * so the bulk runs parse only and a smaller run goes through the report signature check.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeStats, fuzz, mutate, mutateJson } from "../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import {
  assertHygonRoot,
  hygonRootBytes,
  verifyCsvEvidence,
} from "../../trustee/as/verifier/csv/index.js";
import { EvidenceError } from "../common/errors.js";
import {
  CSV_CA_CERT_SIZE,
  encodeCsvCertJson,
  parseCsvCaCert,
  parseCsvCert,
  parseCsvEvidence,
  parseCsvHskCek,
  parseCsvReport,
  TEE_INFO,
  TEE_INFO_V1,
  TEE_INFO_V2,
} from "./index.js";

const P = "fixtures/evidence/csv/csv_evidence.json";

describe("Hygon CSV evidence fuzzing", { skip: sharedSkip(P) }, () => {
  const seed = () => JSON.parse(readFileSync(sharedPath(P), "utf8"));

  test("mutated evidence JSON parses or throws a coded EvidenceError", async (t) => {
    const ev = seed();
    const stats = await fuzz({
      name: "csv-evidence-json",
      seed: 0xc5f0,
      iterations: 2000,
      errorClass: EvidenceError,
      gen: (rng) => mutateJson(rng, ev),
      target: (j) => parseCsvEvidence(j),
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0 && stats.ok > 0);
  });

  test("mutated report pages verify under the PEK or throw a coded EvidenceError", async (t) => {
    const ev = seed();
    const page = new Uint8Array(ev.attestation_report.data);
    const pek = parseCsvEvidence(ev).pek;
    const stats = await fuzz({
      name: "csv-report-page",
      seed: 0xc5f1,
      iterations: 400,
      errorClass: EvidenceError,
      gen: (rng) => {
        // Half the inputs flip inside TEE info (what the verifier reads), half anywhere.
        const b = mutate(rng, page, {
          boundaries: [
            TEE_INFO.POLICY.offset,
            TEE_INFO_V1.SIG.offset,
            TEE_INFO_V1.SIZE,
            TEE_INFO_V2.SIZE,
          ],
        });
        const ext = rng.int(4) === 0;
        return { b, ext };
      },
      target: ({ b, ext }) => {
        const magic = ext ? new TextEncoder().encode("ATTESTATION_EXT\0") : new Uint8Array(16);
        const report = parseCsvReport(magic, ext ? 1 : 0, b);
        return verifyCsvEvidence(
          { report, pek, serialNumber: "KPA64911240507" },
          { allowPekOnly: true, expectedReportData: new Uint8Array(64) },
        );
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 1);
  });

  test("mutated certificates and HSK/CEK documents parse or throw a coded EvidenceError", async (t) => {
    const pek = encodeCsvCertJson(seed().cert_chain.pek, "pek");
    const hrk = hygonRootBytes();
    const both = new Uint8Array([...hrk, ...pek]);
    const stats = await fuzz({
      name: "csv-certificates",
      seed: 0xc5f2,
      iterations: 1500,
      errorClass: EvidenceError,
      gen: (rng) => {
        const which = rng.int(3);
        const src = which === 0 ? hrk : which === 1 ? pek : both;
        return {
          which,
          b: mutate(rng, src, {
            boundaries: [0x40, 0xd4, 0x240, CSV_CA_CERT_SIZE, 164, 1044, 1564],
            lengthOffsets: which === 1 ? [164] : [0xd4],
          }),
        };
      },
      target: ({ which, b }) => {
        if (which === 0) return assertHygonRoot(parseCsvCaCert(b), "fuzzed HRK");
        if (which === 1) return parseCsvCert(b);
        return parseCsvHskCek(b);
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 1);
  });
});
