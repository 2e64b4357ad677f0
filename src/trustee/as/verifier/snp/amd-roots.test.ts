import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseHclReport } from "../../../../tee/az-snp-vtpm/hcl.js";
import { parseSnpEvidence, snpReportToJson } from "../../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import { shippedAmdBundle, shippedAmdVendor } from "./amd-roots.js";
import { certSha256 } from "./vendor.js";
import { verifySnpEvidence } from "./verify.js";

// AMD's published SHA-256 fingerprints of the KDS cert_chain certificates, written out here
// independently of the source file that ships them.
const PUBLISHED = {
  Milan: {
    ark: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    ask: "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
    asvk: "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
  },
  Genoa: {
    ark: "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    ask: "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
    asvk: "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
  },
  Turin: {
    ark: "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
    ask: "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
    asvk: "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
  },
} as const;

const clock = () => new Date("2025-06-01T00:00:00Z");

test("the shipped AMD ARK/ASK/ASVK are the published certificates for Milan, Genoa and Turin", () => {
  const v = shippedAmdVendor(clock);
  for (const gen of ["Milan", "Genoa", "Turin"] as const) {
    const c = v.get(gen);
    assert.ok(c, gen);
    assert.equal(certSha256(c.ark), PUBLISHED[gen].ark, `${gen} ARK`);
    assert.equal(certSha256(c.ask), PUBLISHED[gen].ask, `${gen} ASK`);
    assert.equal(c.asvk && certSha256(c.asvk), PUBLISHED[gen].asvk, `${gen} ASVK`);
  }
});

test("the shipped bundles are byte-identical to AMD's set in ../shared", {
  skip: sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem"),
}, () => {
  const blocks = (t: string) =>
    (t.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) =>
      b.replace(/\s+/g, ""),
    );
  for (const gen of ["Milan", "Genoa", "Turin"] as const) {
    const shared = readFileSync(
      sharedPath(`fixtures/roots/amd/${gen.toLowerCase()}-ask-ark-asvk-bundle.pem`),
      "utf8",
    );
    assert.deepEqual(blocks(shippedAmdBundle(gen)).sort(), blocks(shared).sort(), gen);
  }
});

test("SNP evidence carrying its VCEK verifies against the shipped roots with nothing configured", {
  skip: sharedSkip("fixtures/evidence/az-snp-vtpm/evidence-v1.json"),
}, () => {
  const ev = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"),
  );
  const report = parseSnpReport(
    parseHclReport(new Uint8Array(Buffer.from(ev.hcl_report, "base64url"))).hwReport,
  );
  const evidence = parseSnpEvidence(
    JSON.parse(
      JSON.stringify({
        attestation_report: snpReportToJson(report),
        cert_chain: [{ cert_type: "VCEK", data: Array.from(Buffer.from(ev.vcek, "base64url")) }],
      }),
    ),
  );
  const claims = verifySnpEvidence(evidence, { vendor: shippedAmdVendor(clock), clock });
  assert.equal(claims.chip_id, Buffer.from(report.chipId).toString("hex"));
});
