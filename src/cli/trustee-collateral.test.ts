import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createCsvTestPki, opensslSm2Skip } from "../../test/helpers/csv-test-pki.js";
import { type KdsStandIn, startKdsStandIn } from "../../test/helpers/kds.js";
import { repoRoot, sharedPath, sharedSkip } from "../../test/helpers/paths.js";
import { parseHclReport } from "../tee/az-snp-vtpm/hcl.js";
import { parseCsvCaCert } from "../tee/csv/index.js";
import { snpReportToJson } from "../tee/snp/evidence.js";
import { parseSnpReport } from "../tee/snp/report.js";
import { fetchHskCek, verifyCek, verifyHsk } from "../trustee/as/verifier/csv/index.js";
import { createCollateralCache } from "../trustee/collateral/index.js";
import { createFileStore } from "../trustee/storage/file.js";

const skip =
  sharedSkip("fixtures/evidence/az-snp-vtpm/evidence-v1.json") ||
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem");
const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const tmp = mkdtempSync(join(tmpdir(), "coco-trustee-collateral-"));
let kds: KdsStandIn | undefined;

function coco(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { encoding: "utf8", timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  if (skip) return;
  const ev = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"),
  );
  const vcek = new Uint8Array(Buffer.from(ev.vcek, "base64url"));
  const report = parseSnpReport(
    parseHclReport(new Uint8Array(Buffer.from(ev.hcl_report, "base64url"))).hwReport,
  );
  writeFileSync(
    join(tmp, "snp.json"),
    JSON.stringify({ attestation_report: snpReportToJson(report), cert_chain: null }),
  );
  // The stand-in answers every /vcek/v1/Milan/ path (cert_chain included) with the VCEK bytes;
  // the cache stores what it is given, the verifiers judge it on use.
  kds = await startKdsStandIn(vcek);
});
after(async () => {
  await kds?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("collateral fetch (connected) → export → import (air-gapped) serves the VCEK with no network", {
  skip,
}, async () => {
  const connected = join(tmp, "connected");
  const gapped = join(tmp, "gapped");
  const bundle = join(tmp, "bundle.json");
  const f = await coco(
    "trustee",
    "--dir",
    connected,
    "collateral",
    "fetch",
    "--tee",
    "snp",
    "--evidence",
    join(tmp, "snp.json"),
    "--kds-url",
    kds?.url ?? "",
  );
  assert.equal(f.status, 0, f.stderr);
  const vcekLine = f.stdout.split("\n").find((l) => /\/vcek\/v1\/Milan\/[0-9a-f]{128}\?/.test(l));
  assert.ok(vcekLine, f.stdout);
  const e = await coco("trustee", "--dir", connected, "collateral", "export", "--out", bundle);
  assert.equal(e.status, 0, e.stderr);
  await kds?.close();
  kds = undefined;
  const i = await coco("trustee", "--dir", gapped, "collateral", "import", "--bundle", bundle);
  assert.equal(i.status, 0, i.stderr);
  const url = (vcekLine as string).split(" ")[0] as string;
  const store = await createFileStore(join(gapped, "storage"));
  try {
    const cache = createCollateralCache({
      store,
      fetch: async () => {
        throw new Error("no network");
      },
    });
    const got = await cache.get(url);
    assert.equal(cache.fetches, 0);
    assert.ok(got.body.length > 1000);
  } finally {
    await store.close();
  }
  const bad = await coco(
    "trustee",
    "--dir",
    gapped,
    "collateral",
    "import",
    "--bundle",
    join(tmp, "snp.json"),
  );
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ERR_COLLATERAL_INVALID/);
});

test("csv: collateral fetch caches the chip's HSK ‖ CEK from Hygon's KDS; the bundle carries it to an air-gapped Trustee", {
  skip: sharedSkip("fixtures/evidence/csv/csv_evidence.json") || opensslSm2Skip(),
}, async () => {
  // A TEST PKI (not Hygon's keys): the point is the fetch/export/import path, and that the
  // bytes that come out the other side still chain to the root they were made under.
  const pki = createCsvTestPki();
  const standIn = await startKdsStandIn(new Uint8Array(0), {
    "/hsk_cek?snumber=KPA64911240507": Buffer.concat([pki.hsk, pki.cek]),
  });
  try {
    const connected = join(tmp, "csv-connected");
    const gapped = join(tmp, "csv-gapped");
    const bundle = join(tmp, "csv-bundle.json");
    const evidence = sharedPath("fixtures/evidence/csv/csv_evidence.json");
    const f = await coco(
      "trustee",
      "--dir",
      connected,
      "collateral",
      "fetch",
      "--tee",
      "csv",
      "--evidence",
      evidence,
      "--hygon-kds-url",
      standIn.url,
    );
    assert.equal(f.status, 0, f.stderr);
    assert.match(f.stdout, /\/hsk_cek\?snumber=KPA64911240507 \(fresh until /);
    assert.equal(
      (await coco("trustee", "--dir", connected, "collateral", "export", "--out", bundle)).status,
      0,
    );
    assert.equal(
      (await coco("trustee", "--dir", gapped, "collateral", "import", "--bundle", bundle)).status,
      0,
    );
    const store = await createFileStore(join(gapped, "storage"));
    try {
      const cache = createCollateralCache({ store });
      const got = await fetchHskCek(standIn.url, "KPA64911240507", cache.getBody);
      assert.equal(cache.fetches, 0);
      const root = parseCsvCaCert(pki.hrk);
      verifyHsk(root, got.hsk);
      verifyCek(got.hsk, got.cek);
    } finally {
      await store.close();
    }
  } finally {
    await standIn.close();
    pki.close();
  }
});
