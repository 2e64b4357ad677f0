import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type KdsStandIn, startKdsStandIn } from "../../test/helpers/kds.js";
import { sharedPath, sharedSkip } from "../../test/helpers/paths.js";
import { parseHclReport } from "../tee/az-snp-vtpm/hcl.js";
import { snpReportToJson } from "../tee/snp/evidence.js";
import { parseSnpReport, type SnpReport } from "../tee/snp/report.js";
import type { Verifier } from "./as/verifier/types.js";
import { kdsGet } from "./trustee.js";
import { createHardwareVerifiers, createVerifiersFromConfig } from "./verifiers.js";

// Every key of upstream's verifier_config we map, and every refusal, in one place. The SNP cases
// use the real Milan report inside the Azure HCL fixture and its real VCEK; the KDS is a
// loopback HTTP server serving that VCEK under KDS's URL layout.
const skip =
  sharedSkip("fixtures/evidence/az-snp-vtpm/evidence-v1.json") ||
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem") ||
  sharedSkip("fixtures/evidence/tdx/tdx_quote_4.dat");
const clock = () => new Date("2025-06-01T00:00:00Z");
const tmp = mkdtempSync(join(tmpdir(), "coco-verifiers-"));
let kds = "";
let hits: string[] = [];
let vcek = new Uint8Array();
let report: SnpReport;
let amd = "";
let standIn: KdsStandIn | undefined;

before(async () => {
  if (skip) return;
  amd = sharedPath("fixtures/roots/amd");
  const ev = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/az-snp-vtpm/evidence-v1.json"), "utf8"),
  );
  vcek = new Uint8Array(Buffer.from(ev.vcek, "base64url"));
  report = parseSnpReport(
    parseHclReport(new Uint8Array(Buffer.from(ev.hcl_report, "base64url"))).hwReport,
  );
  standIn = await startKdsStandIn(vcek, { "/big": new Uint8Array(70 * 1024) });
  kds = standIn.url;
  hits = standIn.hits;
});
after(async () => {
  await standIn?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const tees = (vs: Verifier[]): string[] => vs.map((v) => v.tee).sort();
const snpOf = (vs: Verifier[]): Verifier => {
  const v = vs.find((x) => x.tee === "snp");
  assert.ok(v, "snp verifier enabled");
  return v;
};
const snpEvaluate = (v: Verifier) =>
  v.evaluate({
    tee: "snp",
    evidence: { attestation_report: snpReportToJson(report), cert_chain: null },
    expectedReportData: report.reportData,
  });

/** An offline VCEK store holding the fixture's VCEK under upstream's fallback name. */
function vcekStore(name: string): string {
  const dir = join(tmp, name);
  const hw = join(dir, "vcek", Buffer.from(report.chipId).toString("hex"));
  mkdirSync(hw, { recursive: true });
  writeFileSync(join(hw, "vcek.der"), vcek);
  return dir;
}

test("no verifier_config: sample, the Intel and AMD TEEs (shipped roots), NVIDIA, TPM and Hygon CSV; a warning that TCB is not appraised", {
  skip,
}, () => {
  const logs: string[] = [];
  const vs = createVerifiersFromConfig({}, { log: (l) => logs.push(l) });
  assert.deepEqual(tees(vs), [
    "az-snp-vtpm",
    "az-tdx-vtpm",
    "csv",
    "nvidia",
    "sample",
    "sampledevice",
    "sgx",
    "snp",
    "tdx",
    "tpm",
  ]);
  assert.equal(logs.length, 1);
  assert.match(logs[0] ?? "", /tdx, az-tdx-vtpm, sgx .*TCB status is not appraised/);
});

test("snp_verifier: OfflineStore sources are tried in order; [] fetches nothing", {
  skip,
}, async () => {
  const empty = join(tmp, "empty-store");
  mkdirSync(empty);
  const vs = createVerifiersFromConfig(
    {
      snp_verifier: {
        vendor_certs_dir: amd,
        vcek_sources: [
          { type: "OfflineStore", path: empty },
          { type: "OfflineStore", path: vcekStore("store") },
        ],
      },
    },
    { clock },
  );
  assert.deepEqual(tees(vs), [
    "az-snp-vtpm",
    "az-tdx-vtpm",
    "csv",
    "nvidia",
    "sample",
    "sampledevice",
    "sgx",
    "snp",
    "tdx",
    "tpm",
  ]);
  const [r] = await snpEvaluate(snpOf(vs));
  assert.equal(r?.claims.chip_id, Buffer.from(report.chipId).toString("hex"));
  const none = createVerifiersFromConfig(
    { snp_verifier: { vendor_certs_dir: amd, vcek_sources: [] } },
    { clock, httpGet: () => assert.fail("nothing may be fetched") },
  );
  await assert.rejects(snpEvaluate(snpOf(none)), { code: "ERR_VERIFIER_CHAIN" });
});

test("snp_verifier: a KDS source fetches a VCEK the stores lack, once; absent vcek_sources fetch nothing", {
  skip,
}, async () => {
  hits.length = 0;
  const vs = createVerifiersFromConfig(
    {
      snp_verifier: {
        vendor_certs_dir: amd,
        vcek_sources: [
          { type: "OfflineStore", path: join(tmp, "missing") },
          { type: "KDS", base_url: kds },
        ],
      },
    },
    { clock, httpGet: kdsGet },
  );
  await snpEvaluate(snpOf(vs));
  await snpEvaluate(snpOf(vs));
  assert.equal(hits.length, 1);
  assert.match(hits[0] ?? "", /^\/vcek\/v1\/Milan\/[0-9a-f]{128}\?blSPL=/);
  // Without vcek_sources nothing is fetched (upstream would ask AMD's KDS): offline by default.
  const dflt = createVerifiersFromConfig(
    { snp_verifier: { vendor_certs_dir: amd } },
    { clock, httpGet: () => assert.fail("nothing may be fetched without a KDS source") },
  );
  await assert.rejects(snpEvaluate(snpOf(dflt)), { code: "ERR_VERIFIER_CHAIN" });
});

test("kdsGet: a non-200 answer and a body over 64 KiB are errors", { skip }, async () => {
  await assert.rejects(kdsGet(`${kds}/nothing`), /HTTP 404/);
  await assert.rejects(kdsGet(`${kds}/big`), /more than 64 KiB/);
  assert.equal((await kdsGet(`${kds}/vcek/v1/Milan/x`)).length, vcek.length);
});

/** Writes the DCAP file set for `tee` (contents that do not verify) into `dir`. */
function dcapDir(name: string, files: string[]): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), f.endsWith(".der") ? "\x30\x00" : "{}");
  return dir;
}
const TDX_FILES = [
  "tcb-info-tdx.json",
  "tcb-info-issuer-chain.pem",
  "qe-identity-tdx.json",
  "qe-identity-issuer-chain.pem",
  "root-ca-crl.der",
];

test("dcap_verifier: tcb_update_type accepted; collateral_dir appraises the TEEs it has files for", {
  skip,
}, async () => {
  const quote = readFileSync(sharedPath("fixtures/evidence/tdx/tdx_quote_4.dat"));
  const input = {
    tee: "tdx" as const,
    evidence: { quote: quote.toString("base64"), cc_eventlog: null },
    expectedReportData: quote.subarray(48 + 520, 48 + 584),
  };
  const logs: string[] = [];
  const plain = createVerifiersFromConfig(
    { dcap_verifier: { tcb_update_type: "standard" } },
    { log: (l) => logs.push(l), clock },
  );
  const tdxPlain = plain.find((v) => v.tee === "tdx");
  assert.ok(tdxPlain);
  await tdxPlain.evaluate(input);
  logs.length = 0;
  const withDir = createVerifiersFromConfig(
    { dcap_verifier: { collateral_dir: dcapDir("dcap", TDX_FILES) } },
    { log: (l) => logs.push(l), clock },
  );
  // Only sgx is left unappraised; tdx now checks the (unverifiable) collateral and refuses.
  assert.match(logs.join("\n"), /WARNING: sgx check quote signatures/);
  const tdx = withDir.find((v) => v.tee === "tdx");
  assert.ok(tdx);
  await assert.rejects(tdx.evaluate(input), { code: "ERR_VERIFIER_COLLATERAL" });
});

test("verifier_config refusals name the key", { skip }, () => {
  const partial = dcapDir("partial", ["tcb-info-tdx.json"]);
  const emptyDir = join(tmp, "no-bundles");
  mkdirSync(emptyDir, { recursive: true });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ nvidia_verifier: { type: "Remote" } }, /"Remote" \(NVIDIA NRAS\) is not implemented/],
    [{ nvidia_verifier: { reference_measurements: join(tmp, "none.json") } }, /does not exist/],
    [
      { tpm_verifier: { trusted_ak_keys_dir: "x" } },
      /unknown key .*tpm_verifier\.trusted_ak_keys_dir/,
    ],
    [{ snp_verifier: 3 }, /snp_verifier must be a table/],
    [{ snp_verifier: { vendor_certs_dir: 7 } }, /vendor_certs_dir must be a string/],
    [{ snp_verifier: { vendor_certs_dir: emptyDir } }, /no AMD certificate bundle found/],
    [{ snp_verifier: { vendor_certs_dir: amd, extra: 1 } }, /unknown key .*snp_verifier\.extra/],
    [{ snp_verifier: { vendor_certs_dir: amd, vcek_sources: {} } }, /must be an array/],
    [
      { snp_verifier: { vendor_certs_dir: amd, vcek_sources: [{ type: "Cache" }] } },
      /vcek_sources\[0\]\.type must be "OfflineStore" or "KDS"/,
    ],
    [
      { snp_verifier: { vendor_certs_dir: amd, vcek_sources: [{ type: "KDS", base_url: 5 }] } },
      /vcek_sources\[0\]\.base_url must be a string/,
    ],
    [
      {
        snp_verifier: {
          vendor_certs_dir: amd,
          vcek_sources: [{ type: "KDS", base_url: "file:///etc" }],
        },
      },
      /base_url must be an http\(s\) URL/,
    ],
    [
      { snp_verifier: { vendor_certs_dir: amd, vcek_sources: [{ type: "KDS" }, { type: "KDS" }] } },
      /vcek_sources\[1\]: only one KDS source/,
    ],
    [
      {
        snp_verifier: { vendor_certs_dir: amd, vcek_sources: [{ type: "OfflineStore", dir: "x" }] },
      },
      /unknown key .*vcek_sources\[0\]\.dir/,
    ],
    [
      { dcap_verifier: { collateral_service: "file:///opt/pcs.json" } },
      /collateral_service must be an http\(s\) URL/,
    ],
    [{ dcap_verifier: { use_secure_cert: false } }, /use_secure_cert/],
    [
      { dcap_verifier: { tcb_update_type: "late" } },
      /tcb_update_type must be "early" or "standard"/,
    ],
    [
      { dcap_verifier: { collateral_dir: emptyDir } },
      /no tcb-info-tdx\.json or tcb-info-sgx\.json/,
    ],
    [{ dcap_verifier: { collateral_dir: partial } }, /tcb-info-issuer-chain\.pem is missing/],
    [{ dcap_verifier: { colateral_dir: "x" } }, /unknown key .*dcap_verifier\.colateral_dir/],
  ];
  for (const [cfg, re] of cases) {
    assert.throws(
      () => createVerifiersFromConfig(cfg, { httpGet: kdsGet }),
      (e: unknown) => {
        assert.equal((e as { code?: string }).code, "ERR_TRUSTEE_CONFIG", JSON.stringify(cfg));
        assert.match((e as Error).message, re);
        return true;
      },
    );
  }
  // A KDS source with no HTTP client given is refused rather than silently skipped.
  assert.throws(
    () =>
      createVerifiersFromConfig({
        snp_verifier: { vendor_certs_dir: amd, vcek_sources: [{ type: "KDS" }] },
      }),
    /no HTTP client was given/,
  );
});

// One table over every hardware verifier (hono-style): malformed evidence of every shape is an
// ERR_VERIFIER_EVIDENCE (or _UNSUPPORTED) VerifierError, never an uncoded exception.
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
  const verifiers = createHardwareVerifiers({ collateralDir: amd });
  assert.equal(verifiers.length, 8);
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

test("cca_verifier: local stores enable cca; a missing store or the remote type is refused", {
  skip: sharedSkip("fixtures/evidence/cca/tastore.json"),
}, () => {
  const d = sharedPath("fixtures/evidence/cca");
  const vs = createVerifiersFromConfig({
    cca_verifier: { type: "local", ta_store: `${d}/tastore.json`, rv_store: `${d}/rvstore.json` },
  });
  assert.ok(tees(vs).includes("cca"));
  for (const [cfg, re] of [
    [{ cca_verifier: { type: "remote" } }, /"remote" .*not implemented/],
    [{ cca_verifier: {} }, /ta_store is required/],
    [{ cca_verifier: { ta_store: join(tmp, "absent.json") } }, /does not exist/],
    [{ cca_verifier: { ta_store: `${d}/tastore.json`, rv_store: 1 } }, /rv_store must be a string/],
  ] as const) {
    assert.throws(() => createVerifiersFromConfig(cfg as Record<string, unknown>), re);
  }
});

test("csv_verifier: HSK/CEK store, Hygon KDS through the given client, PEK-only off unless set", {
  skip: sharedSkip("fixtures/evidence/csv/csv_evidence.json"),
}, async () => {
  const evidence = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/csv/csv_evidence.json"), "utf8"),
  );
  const csvOf = (vs: Verifier[]) => vs.find((v) => v.tee === "csv") as Verifier;
  const input = { tee: "csv" as const, evidence, expectedReportData: new Uint8Array(0) };
  // Default: no HSK/CEK anywhere for the capture's chip: refused, nothing fetched.
  await assert.rejects(csvOf(createVerifiersFromConfig({})).evaluate(input), /chain unverifiable/);
  // A KDS is asked for the chip's HSK/CEK; its 404 is the answer.
  const urls: string[] = [];
  const withKds = createVerifiersFromConfig(
    { csv_verifier: { kds_url: "https://kds.example", hsk_cek_dir: join(tmp, "none") } },
    {
      httpGet: async (u) => {
        urls.push(u);
        throw new Error("HTTP 404");
      },
    },
  );
  await assert.rejects(csvOf(withKds).evaluate(input), { code: "ERR_VERIFIER_COLLATERAL" });
  assert.deepEqual(urls, ["https://kds.example/hsk_cek?snumber=KPA64911240507"]);
  // PEK-only trust: a warning at start, and the claims say so.
  const logs: string[] = [];
  const pekOnly = createVerifiersFromConfig(
    { csv_verifier: { allow_pek_only: true } },
    { log: (l) => logs.push(l) },
  );
  const [r] = await csvOf(pekOnly).evaluate(input);
  assert.equal(r?.claims.pek_only, true);
  assert.ok(logs.some((l) => /allow_pek_only = true/.test(l)));
  for (const [cfg, re] of [
    [{ csv_verifier: { allow_pek_only: "yes" } }, /allow_pek_only must be a boolean/],
    [{ csv_verifier: { kds_url: "ftp://x" } }, /kds_url must be an http\(s\) URL/],
    [{ csv_verifier: { kds_url: "https://cert.hygon.cn" } }, /no HTTP client/],
    [{ csv_verifier: { hrk: "x" } }, /unknown key/],
  ] as const) {
    assert.throws(() => createVerifiersFromConfig(cfg as Record<string, unknown>), re);
  }
});
