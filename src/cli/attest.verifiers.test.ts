import assert from "node:assert/strict";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../test/helpers/paths.js";
import { createHardwareVerifiers, createHardwareVerifiersFromConfig } from "./attest.js";

// One table over every hardware verifier (hono-style): malformed evidence of every shape is an
// ERR_VERIFIER_EVIDENCE (or _UNSUPPORTED) VerifierError, never an uncoded exception.
const skip = sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem");
const GARBAGE: unknown[] = [
  null,
  42,
  "quote",
  [],
  {},
  { quote: "" },
  { quote: "////" },
  { quote: Buffer.alloc(700, 1).toString("base64") },
  { attestation_report: { version: 3 } },
  { attestation_report: "x", cert_chain: [] },
  { version: 2, tpm_quote: {}, hcl_report: "", vcek: "" },
  {
    version: 1,
    tpm_quote: { signature: "zz", message: "00", pcrs: [] },
    hcl_report: "AA",
    td_quote: "AA",
  },
];

test("every hardware verifier refuses malformed evidence with a coded VerifierError", {
  skip,
}, async () => {
  const verifiers = createHardwareVerifiers({ collateralDir: sharedPath("fixtures/roots/amd") });
  assert.equal(verifiers.length, 5);
  for (const v of verifiers) {
    for (const evidence of GARBAGE) {
      await assert.rejects(
        v.evaluate({ tee: v.tee, evidence, expectedReportData: new Uint8Array(48) }),
        (e: unknown) => {
          const code = (e as { code?: string }).code ?? "";
          assert.match(
            code,
            /^ERR_VERIFIER_(EVIDENCE|UNSUPPORTED)$/,
            `${v.tee} ${JSON.stringify(evidence)?.slice(0, 60)}: ${code} ${(e as Error).message}`,
          );
          return true;
        },
      );
    }
  }
});

test("upstream's verifier_config maps to the hardware verifiers; KDS only when configured", {
  skip,
}, () => {
  const dir = sharedPath("fixtures/roots/amd");
  const vs = createHardwareVerifiersFromConfig({
    snp: { vcek_sources: [{ type: "OfflineStore", path: dir }] },
  });
  assert.deepEqual(vs.map((v) => v.tee).sort(), [
    "az-snp-vtpm",
    "az-tdx-vtpm",
    "sgx",
    "snp",
    "tdx",
  ]);
  assert.deepEqual(
    createHardwareVerifiersFromConfig({})
      .map((v) => v.tee)
      .sort(),
    ["az-tdx-vtpm", "sgx", "tdx"],
  );
  // KDS is used only when configured; with it alone the AMD bundles still need a directory.
  assert.equal(
    createHardwareVerifiersFromConfig({ snp: { vcek_sources: [{ type: "KDS" }] } }).length,
    3,
  );
  const withKds = {
    amd_roots: dir,
    vcek_sources: [{ type: "KDS", base_url: "http://127.0.0.1:9" }],
  };
  assert.equal(createHardwareVerifiersFromConfig({ snp: withKds }).length, 5);
  assert.throws(
    () =>
      createHardwareVerifiersFromConfig({ snp: { vcek_sources: [{ type: "KDS", base_url: 5 }] } }),
    {
      code: "ERR_EVIDENCE_MALFORMED",
    },
  );
  assert.throws(() => createHardwareVerifiersFromConfig({ snp: 3 }), {
    code: "ERR_EVIDENCE_MALFORMED",
  });
  assert.throws(
    () => createHardwareVerifiersFromConfig({ tdx: { collateral_dir: "/nonexistent" } }),
    { code: "ERR_COLLATERAL_MISSING" },
  );
});
