import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { createRvps } from "../../../rvps/rvps.js";
import { createMemoryStore } from "../../../storage/memory.js";
import { createHardwareVerifiers } from "../../../verifiers.js";
import { createRegoPolicyEngine } from "../../policy/rego-engine.js";
import { createAttestationPolicyStore } from "../../policy/store.js";
import { createAttestationService } from "../../service.js";
import { createEarBroker } from "../../token/ear-broker.js";

/** The claims of a compact JWS (the signature is the broker's business, tested there). */
function decodeJwt(token: string): unknown {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

// The hardware verifiers inside the Trustee helper's Attestation Service: real TDX and Azure
// evidence → claims → upstream's default CPU policy → a signed EAR token.
const skip = sharedSkip("fixtures/evidence/tdx/tdx_quote_4.dat");

test("real TDX and Azure SNP evidence through the Attestation Service yields EAR tokens", {
  skip,
}, async () => {
  const store = createMemoryStore();
  const at = new Date("2025-06-01T00:00:00Z");
  const as = createAttestationService({
    verifiers: createHardwareVerifiers({
      collateralDir: sharedPath("fixtures/roots/amd"),
      clock: () => at,
    }),
    policies: createAttestationPolicyStore(store, createRegoPolicyEngine()),
    broker: createEarBroker(),
    rvps: createRvps(store),
    now: () => at,
  });
  const quote = readFileSync(sharedPath("fixtures/evidence/tdx/tdx_quote_4.dat"));
  const reportData = quote.subarray(48 + 520, 48 + 584);
  const tdx = await as.evaluate([
    {
      tee: "tdx",
      evidence: { quote: quote.toString("base64"), cc_eventlog: null },
      runtimeData: { raw: reportData },
      hashAlgorithm: "sha384",
    },
  ]);
  const cpu0 = (decodeJwt(tdx.token) as { submods: Record<string, Record<string, unknown>> })
    .submods.cpu0;
  assert.ok(cpu0);
  const annotated = cpu0["ear.veraison.annotated-evidence"] as Record<string, unknown>;
  assert.equal(annotated.report_data, reportData.toString("hex"));
  assert.equal(
    (annotated.tdx as { quote: { body: { mr_td: string } } }).quote.body.mr_td.slice(0, 8),
    "705ee938",
  );
  assert.equal(typeof cpu0["ear.status"], "string");

  const az = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"),
  );
  const azRes = await as.evaluate([
    {
      tee: "az-snp-vtpm",
      evidence: az,
      runtimeData: { raw: Buffer.from("challenge") },
      hashAlgorithm: "sha384",
    },
  ]);
  const azCpu = (decodeJwt(azRes.token) as { submods: Record<string, Record<string, unknown>> })
    .submods.cpu0;
  const azEv = azCpu?.["ear.veraison.annotated-evidence"] as Record<
    string,
    Record<string, unknown>
  >;
  const tpm = (azEv["az-snp-vtpm"]?.tpm ?? {}) as Record<string, string>;
  assert.equal(tpm.pcr00?.slice(0, 8), "e15c4479");

  await assert.rejects(
    as.evaluate([
      {
        tee: "tdx",
        evidence: { quote: quote.toString("base64") },
        runtimeData: { raw: new Uint8Array(64) },
        hashAlgorithm: "sha384",
      },
    ]),
    { code: "ERR_VERIFIER_REPORT_DATA" },
  );
  // No runtime data at all: upstream skips the REPORT_DATA check (ReportData::NotProvided).
  await as.evaluate([
    { tee: "tdx", evidence: { quote: quote.toString("base64") }, hashAlgorithm: "sha384" },
  ]);
});
