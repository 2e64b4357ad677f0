import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type KdsStandIn, startKdsStandIn } from "../../../test/helpers/kds.js";
import { sharedPath, sharedSkip } from "../../../test/helpers/paths.js";
import { parseHclReport } from "../../tee/az-snp-vtpm/hcl.js";
import { snpReportToJson } from "../../tee/snp/evidence.js";
import { parseSnpReport, type SnpReport } from "../../tee/snp/report.js";
import { createFileStore } from "../storage/file.js";
import { createMemoryStore } from "../storage/memory.js";
import { collateralGet } from "../trustee.js";
import { createVerifiersFromConfig } from "../verifiers.js";
import {
  type CollateralFetch,
  createCollateralCache,
  exportCollateralBundle,
  importCollateralBundle,
} from "./index.js";

// A loopback KDS serving real AMD bytes from the fixtures: the VCEK that signed the Milan report
// in Azure evidence v1, and AMD's Milan ARK/ASK chain.
const skip =
  sharedSkip("fixtures/evidence/az-snp-vtpm/evidence-v1.json") ||
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem");
const tmp = mkdtempSync(join(tmpdir(), "coco-collateral-"));
let kds: KdsStandIn | undefined;
let vcek = new Uint8Array();
let report: SnpReport;
let vcekUrl = "";
let chainUrl = "";

before(async () => {
  if (skip) return;
  const ev = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"),
  );
  vcek = new Uint8Array(Buffer.from(ev.vcek, "base64url"));
  report = parseSnpReport(
    parseHclReport(new Uint8Array(Buffer.from(ev.hcl_report, "base64url"))).hwReport,
  );
  const chain = new Uint8Array(
    readFileSync(sharedPath("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem")),
  );
  // (The stand-in answers every /vcek/v1/Milan/ path with the VCEK, so the chain sits under /vlek.)
  kds = await startKdsStandIn(vcek, { "/vlek/v1/Milan/cert_chain": chain });
  vcekUrl = `${kds.url}/vcek/v1/Milan/${Buffer.from(report.chipId).toString("hex")}?blSPL=1`;
  chainUrl = `${kds.url}/vlek/v1/Milan/cert_chain`;
});
after(async () => {
  await kds?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const failing: CollateralFetch = async (url) => {
  throw new Error(`no network (${url})`);
};

test("fetched once, then served from the cache; expiry comes from the certificate", {
  skip,
}, async () => {
  const cache = createCollateralCache({
    store: createMemoryStore(),
    fetch: collateralGet,
    minIntervalMs: () => 0,
  });
  const a = await cache.get(vcekUrl);
  const b = await cache.get(vcekUrl);
  assert.deepEqual(a.body, vcek);
  assert.equal(b, a);
  assert.equal(cache.fetches, 1);
  // The VCEK is valid until 2032: that is when the entry stops being fresh.
  assert.equal(new Date(a.expiresAt).getUTCFullYear(), 2032);
  const chain = await cache.get(chainUrl);
  assert.ok(chain.expiresAt > Date.parse("2045-01-01"));
});

test("concurrent requests for one URL share one fetch", { skip }, async () => {
  const cache = createCollateralCache({
    store: createMemoryStore(),
    fetch: collateralGet,
    minIntervalMs: () => 0,
  });
  const before = kds?.hits.length ?? 0;
  const all = await Promise.all(Array.from({ length: 8 }, () => cache.get(vcekUrl)));
  assert.equal(cache.fetches, 1);
  assert.equal((kds?.hits.length ?? 0) - before, 1);
  for (const e of all) assert.deepEqual(e.body, vcek);
});

test("requests to one host are spaced by its minimum interval (AMD KDS: 10 s)", {
  skip,
}, async () => {
  let t = 1_000_000;
  const waits: number[] = [];
  const cache = createCollateralCache({
    store: createMemoryStore(),
    fetch: collateralGet,
    now: () => t,
    sleep: async (ms) => {
      waits.push(ms);
      t += ms;
    },
    minIntervalMs: () => 10_000,
  });
  await Promise.all([cache.get(vcekUrl), cache.get(chainUrl), cache.get(`${vcekUrl}&x`)]);
  assert.equal(cache.fetches, 3);
  assert.deepEqual(waits, [10_000, 10_000]);
});

test("a restart with no network serves what was persisted", { skip }, async () => {
  const dir = join(tmp, "persist");
  const store = await createFileStore(dir);
  const first = createCollateralCache({ store, fetch: collateralGet, minIntervalMs: () => 0 });
  await first.get(vcekUrl);
  await store.close();
  const again = await createFileStore(dir);
  const offline = createCollateralCache({ store: again, fetch: failing });
  assert.deepEqual((await offline.get(vcekUrl)).body, vcek);
  assert.equal(offline.fetches, 0);
  await assert.rejects(offline.get(`${vcekUrl}&other`), { code: "ERR_COLLATERAL_MISSING" });
  await again.close();
});

test("an expired entry is refetched, and served stale (logged) when the network fails", {
  skip,
}, async () => {
  const store = createMemoryStore();
  let t = Date.parse("2033-01-01T00:00:00Z"); // after the VCEK's notAfter
  const logs: string[] = [];
  const warm = createCollateralCache({
    store,
    fetch: collateralGet,
    now: () => Date.parse("2025-01-01T00:00:00Z"),
    minIntervalMs: () => 0,
  });
  await warm.get(vcekUrl);
  const live = createCollateralCache({
    store,
    fetch: collateralGet,
    now: () => t,
    minIntervalMs: () => 0,
  });
  await live.get(vcekUrl);
  assert.equal(live.fetches, 1);
  t += 1;
  const cut = createCollateralCache({
    store,
    fetch: failing,
    now: () => t,
    log: (l) => logs.push(l),
  });
  assert.deepEqual((await cut.get(vcekUrl)).body, vcek);
  assert.match(logs[0] ?? "", /could not be refreshed .*using the copy that expired/);
});

test("an offline bundle exported on a connected Trustee makes an air-gapped one verify", {
  skip,
}, async () => {
  const connected = createCollateralCache({
    store: createMemoryStore(),
    fetch: collateralGet,
    minIntervalMs: () => 0,
  });
  await connected.get(vcekUrl);
  await connected.get(chainUrl);
  const bundle = await exportCollateralBundle(connected);
  const gapped = createCollateralCache({ store: createMemoryStore(), fetch: failing });
  const imported = await importCollateralBundle(gapped, bundle);
  assert.equal(imported.length, 2);
  assert.deepEqual((await gapped.get(vcekUrl)).body, vcek);
  assert.equal(gapped.fetches, 0);
  // Hostile bundles: nothing is stored unless every entry is valid.
  const doc = JSON.parse(Buffer.from(bundle).toString("utf8"));
  const empty = createCollateralCache({ store: createMemoryStore(), fetch: failing });
  for (const bad of [
    { ...doc, format: "other" },
    { ...doc, entries: [...doc.entries, { ...doc.entries[0], url: "file:///etc/passwd" }] },
    { ...doc, entries: [{ ...doc.entries[0], body: 7 }] },
  ]) {
    await assert.rejects(importCollateralBundle(empty, Buffer.from(JSON.stringify(bad))), {
      code: "ERR_COLLATERAL_INVALID",
    });
  }
  await assert.rejects(importCollateralBundle(empty, Buffer.from("not json")), {
    code: "ERR_COLLATERAL_INVALID",
  });
  assert.equal((await empty.entries()).length, 0);
});

test("Trustee's SNP verifier fetches a VCEK through the cache once, and verifies after a restart offline", {
  skip,
}, async () => {
  const dir = join(tmp, "trustee-store");
  const evidence = { attestation_report: snpReportToJson(report), cert_chain: null };
  const config = { snp_verifier: { vcek_sources: [{ type: "KDS", base_url: kds?.url }] } };
  const clock = () => new Date("2025-06-01T00:00:00Z");
  const run = async (fetch: CollateralFetch) => {
    const store = await createFileStore(dir);
    const cache = createCollateralCache({ store, fetch, minIntervalMs: () => 0 });
    const snp = createVerifiersFromConfig(config, {
      httpGet: cache.getBody,
      httpGetWithHeaders: cache.get,
      clock,
    }).find((v) => v.tee === "snp");
    assert.ok(snp);
    const [r] = await snp.evaluate({ tee: "snp", evidence, expectedReportData: report.reportData });
    await store.close();
    return { claims: r?.claims, fetches: cache.fetches };
  };
  const online = await run(collateralGet);
  assert.equal(online.fetches, 1);
  const offline = await run(failing);
  assert.equal(offline.fetches, 0);
  assert.deepEqual(offline.claims, online.claims);
});
