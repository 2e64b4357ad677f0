import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { type KdsStandIn, startKdsStandIn } from "../../../../../test/helpers/kds.js";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseHclReport } from "../../../../tee/az-snp-vtpm/hcl.js";
import { snpReportToJson } from "../../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import { createKdsVcekFetcher, createSnpVerifier, kdsVcekUrl, snpVendorFromDir } from "./index.js";

const skip =
  sharedSkip("fixtures/evidence/az-snp-vtpm/evidence-v1.json") ||
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem");
const clock = () => new Date("2025-06-01T00:00:00Z");
const readIf = (p: string): Uint8Array | undefined =>
  existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
let hits: string[] = [];
let base = "";
let standIn: KdsStandIn | undefined;
before(async () => {
  if (skip) return;
  const vcek = Buffer.from(
    JSON.parse(readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"))
      .vcek,
    "base64url",
  );
  standIn = await startKdsStandIn(vcek);
  base = standIn.url;
  hits = standIn.hits;
});
after(() => standIn?.close());

const get = async (url: string): Promise<Uint8Array> => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
};

test("a verifier configured with a KDS fetches the VCEK once, then verifies from its cache", {
  skip,
}, async () => {
  const ev1 = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"),
  );
  const report = parseSnpReport(
    parseHclReport(new Uint8Array(Buffer.from(ev1.hcl_report, "base64url"))).hwReport,
  );
  const url = kdsVcekUrl("https://kdsintf.amd.com/", report, "Milan");
  assert.match(
    url,
    /^https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Milan\/[0-9a-f]{128}\?blSPL=\d+&teeSPL=\d+&snpSPL=\d+&ucodeSPL=\d+$/,
  );
  const vendor = snpVendorFromDir(sharedPath("fixtures/roots/amd"), readIf, clock);
  const v = createSnpVerifier({ vendor, kdsFetch: createKdsVcekFetcher(base, get), clock });
  const evidence = { attestation_report: snpReportToJson(report), cert_chain: null };
  for (let i = 0; i < 2; i++) {
    const [r] = await v.evaluate({ tee: "snp", evidence, expectedReportData: report.reportData });
    assert.equal(r?.claims.chip_id, Buffer.from(report.chipId).toString("hex"));
  }
  assert.equal(hits.length, 1);
  // Without a KDS the same evidence is refused: nothing is fetched unless configured.
  await assert.rejects(
    createSnpVerifier({ vendor, clock }).evaluate({
      tee: "snp",
      evidence,
      expectedReportData: report.reportData,
    }),
    {
      code: "ERR_VERIFIER_CHAIN",
    },
  );
  // A KDS that has no certificate, and a masked chip ID, are chain errors, not crashes.
  const missing = createSnpVerifier({
    vendor,
    kdsFetch: createKdsVcekFetcher(`${base}/nothing`, get),
    clock,
  });
  await assert.rejects(
    missing.evaluate({ tee: "snp", evidence, expectedReportData: report.reportData }),
    { code: "ERR_VERIFIER_CHAIN" },
  );
  const masked = {
    ...evidence,
    attestation_report: { ...evidence.attestation_report, chip_id: new Array(64).fill(0) },
  };
  await assert.rejects(
    missing.evaluate({ tee: "snp", evidence: masked, expectedReportData: report.reportData }),
    { code: "ERR_VERIFIER_CHAIN" },
  );
});
