import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
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
const hits: string[] = [];
let base = "";
let vcek = Buffer.alloc(0);
const server = createServer((req, res) => {
  hits.push(req.url ?? "");
  if ((req.url ?? "").startsWith("/vcek/v1/Milan/")) res.end(vcek);
  else {
    res.statusCode = 404;
    res.end();
  }
});
before(async () => {
  if (skip) return;
  vcek = Buffer.from(
    JSON.parse(readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"))
      .vcek,
    "base64url",
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});
after(() => server.close());

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
