/**
 * Hostile evidence through the Attestation Service verifiers (tdx, sgx, snp, az-snp-vtpm,
 * sample): the real fixture evidence from ../shared/fixtures/evidence/, mutated as JSON (types
 * swapped, keys dropped, odd values) and as bytes inside its base64 fields. Property: each
 * `evaluate()` resolves or rejects with a `VerifierError` carrying a code — never another
 * exception type, never over the hang bound.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  describeStats,
  fuzz,
  mutate,
  mutateJson,
  type Rng,
} from "../../../../test/helpers/fuzz.js";
import { sharedPath, sharedSkip } from "../../../../test/helpers/paths.js";
import { createSampleEvidence } from "../../../tee/sample/index.js";
import { snpReportToJson } from "../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../tee/snp/report.js";
import { createAzSnpVtpmVerifier } from "./az-snp-vtpm/index.js";
import { createAzTdxVtpmVerifier } from "./az-tdx-vtpm/index.js";
import { createSampleVerifier } from "./sample/index.js";
import { createSgxVerifier } from "./sgx/index.js";
import {
  createSnpVerifier,
  loadVendorCertificates,
  type ProcessorGeneration,
  type VendorCertificates,
} from "./snp/index.js";
import { createTdxVerifier } from "./tdx/index.js";
import { type Verifier, VerifierError } from "./types.js";

const F = "fixtures/evidence/";
const NEEDED = [
  `${F}tdx/tdx_quote_4.dat`,
  `${F}tdx/CCEL_data`,
  `${F}sgx/occlum_quote.dat`,
  `${F}snp/test-vlek-report.bin`,
  `${F}snp/test-vlek.der`,
  `${F}az-snp-vtpm/evidence-v1.json`,
  `${F}az-snp-vtpm/evidence-v2.json`,
  "fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem",
];
const skip = NEEDED.map(sharedSkip).find((s) => s !== false) ?? false;
const read = (rel: string) => readFileSync(sharedPath(rel));
const now = new Date("2025-06-01T00:00:00Z");

function vendor(): Map<ProcessorGeneration, VendorCertificates> {
  const m = new Map<ProcessorGeneration, VendorCertificates>();
  for (const g of ["Milan", "Genoa", "Turin"] as const) {
    const pem = read(`fixtures/roots/amd/${g.toLowerCase()}-ask-ark-asvk-bundle.pem`).toString(
      "utf8",
    );
    m.set(
      g,
      loadVendorCertificates(pem, g, () => now),
    );
  }
  return m;
}

/** Mutates the bytes behind a base64 (or hex) string field, keeping the encoding valid. */
function mutateEncoded(rng: Rng, s: string, enc: "base64" | "base64url" | "hex"): string {
  return Buffer.from(mutate(rng, new Uint8Array(Buffer.from(s, enc)))).toString(enc);
}

/** Either a JSON-level mutation or a byte mutation of one encoded field. */
function mutateEvidence(
  rng: Rng,
  ev: Record<string, unknown>,
  fields: Record<string, "base64" | "base64url" | "hex">,
): unknown {
  if (rng.chance(0.4)) return mutateJson(rng, ev);
  const out = structuredClone(ev);
  const names = Object.keys(fields);
  const path = rng.pick(names).split(".");
  let o = out as Record<string, unknown>;
  for (const p of path.slice(0, -1)) o = o[p] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  o[last] = mutateEncoded(rng, String(o[last]), fields[path.join(".")]!);
  return out;
}

interface Case {
  verifier: Verifier;
  evidence: Record<string, unknown>;
  fields: Record<string, "base64" | "base64url" | "hex">;
  reportData: Uint8Array;
  iterations: number;
}

describe("verifier regressions found by fuzzing", { skip }, () => {
  // Found: a quote whose PCK chain root carried a malformed EC public key (node's
  // X509Certificate accepts it; OpenSSL decodes the key lazily) threw ERR_OSSL_EVP_DECODE_ERROR,
  // uncoded, from the pinned-root key comparison. The root's DER is patched in place (same
  // length, so the PEM and the quote keep their lengths).
  test("tdx: a PCK chain root with an undecodable public key is ERR_VERIFIER_CHAIN", async () => {
    const quote = Buffer.from(read(`${F}tdx/tdx_quote_4.dat`));
    const text = quote.toString("latin1");
    const begin = text.lastIndexOf("-----BEGIN CERTIFICATE-----") + 27;
    const end = text.indexOf("-----END CERTIFICATE-----", begin);
    const der = Buffer.from(text.slice(begin, end).replace(/\s+/g, ""), "base64");
    const at = der.indexOf(Buffer.from("03420004", "hex"));
    assert.ok(at > 0);
    der[at + 3] = 0x07; // EC point format byte: not uncompressed/compressed/hybrid
    const pem = text.slice(begin, end);
    // Re-wrap exactly as the original (same line length and line ends).
    const lines = pem.split("\n");
    const flat = der.toString("base64");
    let rebuilt = "";
    let k = 0;
    for (const l of lines) {
      rebuilt += flat.slice(k, k + l.length);
      k += l.length;
      rebuilt += "\n";
    }
    rebuilt = rebuilt.slice(0, -1);
    assert.equal(rebuilt.length, pem.length);
    quote.write(rebuilt, begin, "latin1");
    await assert.rejects(
      createTdxVerifier({ clock: () => now }).evaluate({
        tee: "tdx",
        evidence: { quote: quote.toString("base64") },
        expectedReportData: new Uint8Array(0),
        now,
      }),
      (e: unknown) =>
        e instanceof VerifierError &&
        e.code === "ERR_VERIFIER_CHAIN" &&
        (e.cause as { code?: string }).code === "ERR_CERT_PARSE",
    );
  });
});

describe("verifier fuzzing", { skip }, () => {
  // The v3 VLEK report is signed at VMPL 1 (the verifier refuses it with ERR_VERIFIER_TCB
  // after parsing, chain and signature), so mutations reach every step before that.
  const cases = (): Record<string, Case> => {
    const v = vendor();
    const snpRaw = new Uint8Array(read(`${F}snp/test-vlek-report.bin`));
    const snp = parseSnpReport(snpRaw);
    const az = JSON.parse(read(`${F}az-snp-vtpm/evidence-v1.json`).toString("utf8")) as Record<
      string,
      unknown
    >;
    const azHex: Record<string, "hex"> = {
      "tpm_quote.message": "hex",
      "tpm_quote.signature": "hex",
    };
    return {
      tdx: {
        verifier: createTdxVerifier({ clock: () => now }),
        evidence: {
          quote: read(`${F}tdx/tdx_quote_4.dat`).toString("base64"),
          cc_eventlog: read(`${F}tdx/CCEL_data`).toString("base64"),
        },
        fields: { quote: "base64", cc_eventlog: "base64" },
        reportData: new Uint8Array(0),
        iterations: 600,
      },
      sgx: {
        verifier: createSgxVerifier({ clock: () => now }),
        evidence: { quote: read(`${F}sgx/occlum_quote.dat`).toString("base64") },
        fields: { quote: "base64" },
        reportData: new Uint8Array(0),
        iterations: 1500,
      },
      snp: {
        verifier: createSnpVerifier({
          vendor: v,
          vcekSource: () => new Uint8Array(read(`${F}snp/test-vcek.der`)),
          clock: () => now,
        }),
        evidence: {
          attestation_report: snpReportToJson(snp),
          cert_chain: [
            { cert_type: "VLEK", data: read(`${F}snp/test-vlek.der`).toString("base64") },
          ],
        },
        fields: { "cert_chain.0.data": "base64" },
        reportData: snp.reportData,
        iterations: 1500,
      },
      "az-snp-vtpm": {
        verifier: createAzSnpVtpmVerifier({ vendor: v, clock: () => now }),
        evidence: az,
        fields: { hcl_report: "base64url", vcek: "base64url", ...azHex },
        // The fixture quote's nonce is the bytes "challenge".
        reportData: new Uint8Array(Buffer.from("challenge")),
        iterations: 1500,
      },
      // No Azure TDX capture exists: the Azure SNP v2 evidence with a real TD quote attached
      // (refused as an SNP HCL report unless mutated) exercises the parser's refusals.
      "az-tdx-vtpm": {
        verifier: createAzTdxVtpmVerifier({ clock: () => now }),
        evidence: {
          ...(JSON.parse(read(`${F}az-snp-vtpm/evidence-v2.json`).toString("utf8")) as Record<
            string,
            unknown
          >),
          td_quote: read(`${F}tdx/tdx_quote_4.dat`).toString("base64url"),
        },
        fields: { hcl_report: "base64url", td_quote: "base64url" },
        reportData: new Uint8Array(32),
        iterations: 800,
      },
      sample: {
        verifier: createSampleVerifier(),
        evidence: createSampleEvidence(
          new Uint8Array(32),
          "1",
          new Uint8Array(32),
        ) as unknown as Record<string, unknown>,
        fields: {},
        reportData: new Uint8Array(32),
        iterations: 1500,
      },
    };
  };

  let seed = 0xf00;
  for (const name of ["tdx", "sgx", "snp", "az-snp-vtpm", "az-tdx-vtpm", "sample"]) {
    const s = seed++;
    test(`${name}: mutated evidence gives claims or a coded VerifierError`, async (t) => {
      const c = cases()[name]!;
      const stats = await fuzz({
        name: `verifier-${name}`,
        seed: s,
        iterations: c.iterations,
        errorClass: VerifierError,
        gen: (rng) =>
          Object.keys(c.fields).length > 0
            ? mutateEvidence(rng, c.evidence, c.fields)
            : mutateJson(rng, c.evidence),
        target: (ev) =>
          c.verifier.evaluate({
            tee: c.verifier.tee,
            evidence: ev,
            expectedReportData: c.reportData,
            now,
          }),
      });
      t.diagnostic(describeStats(stats));
      assert.ok(stats.coded.size > 0);
    });
  }
});
