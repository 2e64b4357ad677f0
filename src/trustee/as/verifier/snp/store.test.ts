import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { snpReportToJson } from "../../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import { createSnpVerifier } from "./index.js";
import { createOfflineVcekSource, snpVendorFromDir, tcbPrefix } from "./store.js";

const read = (p: string): Uint8Array | undefined =>
  existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
const skip =
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem") ||
  sharedSkip("fixtures/evidence/snp/test-report.bin");
const tmp = mkdtempSync(join(tmpdir(), "coco-snp-store-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const clock = () => new Date("2025-06-01T00:00:00Z");

test("loads the AMD roots directory in place and finds a VCEK in upstream's offline-store layout", {
  skip,
}, () => {
  const vendor = snpVendorFromDir(sharedPath("fixtures/roots/amd"), read, clock);
  assert.deepEqual([...vendor.keys()].sort(), ["Genoa", "Milan", "Turin"]);
  const report = parseSnpReport(
    new Uint8Array(readFileSync(sharedPath("fixtures/evidence/snp/test-report.bin"))),
  );
  assert.equal(tcbPrefix(report), "bl03_tee00_snp08_ucode115");
  const hw = join(tmp, "vcek", Buffer.from(report.chipId).toString("hex"));
  mkdirSync(hw, { recursive: true });
  const source = createOfflineVcekSource(tmp, read);
  assert.equal(source(report, "Milan"), undefined);
  writeFileSync(
    join(hw, "vcek.der"),
    readFileSync(sharedPath("fixtures/evidence/snp/test-vcek.der")),
  );
  assert.ok(source(report, "Milan"));
});

test("the AS verifier maps evidence failures to VerifierError codes, keeping the precise code", {
  skip,
}, async () => {
  const vendor = snpVendorFromDir(sharedPath("fixtures/roots/amd"), read, clock);
  const v = createSnpVerifier({ vendor, clock });
  const raw = new Uint8Array(
    readFileSync(sharedPath("fixtures/evidence/snp/test-vlek-report.bin")),
  );
  const evidence = {
    attestation_report: snpReportToJson(parseSnpReport(raw)),
    cert_chain: [
      {
        cert_type: "VLEK",
        data: Array.from(readFileSync(sharedPath("fixtures/evidence/snp/test-vlek.der"))),
      },
    ],
  };
  await assert.rejects(
    v.evaluate({ tee: "snp", evidence, expectedReportData: new Uint8Array(48) }),
    (e: unknown) => {
      assert.equal((e as { code: string }).code, "ERR_VERIFIER_TCB");
      assert.match((e as Error).message, /\[ERR_VMPL\]/);
      return true;
    },
  );
  await assert.rejects(
    v.evaluate({ tee: "snp", evidence: { nope: 1 }, expectedReportData: new Uint8Array(48) }),
    {
      code: "ERR_VERIFIER_EVIDENCE",
    },
  );
});

test("an empty roots directory is refused", () => {
  assert.throws(() => snpVendorFromDir(tmp, read, clock), { code: "ERR_COLLATERAL_MISSING" });
});
