import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { repoRoot, sharedPath, sharedSkip } from "../../test/helpers/paths.js";
import { parseHclReport } from "../tee/az-snp-vtpm/hcl.js";
import { parsePemBundle } from "../tee/common/certs.js";
import { snpReportToJson } from "../tee/snp/evidence.js";
import { parseSnpReport } from "../tee/snp/report.js";
import { collateralFetchSnp, createHardwareVerifiers } from "./attest.js";

const skip =
  sharedSkip("fixtures/evidence/tdx/tdx_quote_4.dat") ||
  sharedSkip("fixtures/roots/amd/milan-ask-ark-asvk-bundle.pem");
const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const tmp = mkdtempSync(join(tmpdir(), "coco-attest-cli-"));
const ev = (f: string): string => sharedPath(`fixtures/evidence/${f}`);
const ROOTS = sharedPath("fixtures/roots/amd");

function coco(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `coco attest verify --tee <tee> --evidence <evidence> <extra>`. */
const verify = (tee: string, evidence: string, ...extra: string[]) =>
  coco("attest", "verify", "--tee", tee, "--evidence", evidence, ...extra);

/** Async variant: the loopback KDS below lives in this process, so its event loop must run. */
function cocoAsync(
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { encoding: "utf8", timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

// A stand-in for AMD's KDS serving real AMD certificates from the fixtures over loopback HTTP.
let server: Server;
let kds = "";
let vcekHits = 0;
before(async () => {
  if (skip) return;
  const milan = parsePemBundle(
    readFileSync(join(ROOTS, "milan-ask-ark-asvk-bundle.pem"), "utf8"),
    "milan",
  );
  const pem = (i: number): string => milan[i]?.toString() ?? "";
  // The VCEK that signed the SNP report inside Azure evidence v1 (carried in that evidence).
  const azVcek = Buffer.from(
    JSON.parse(readFileSync(ev("az-snp-vtpm/evidence-v1.json"), "utf8")).vcek,
    "base64url",
  );
  server = createServer((req, res) => {
    const url = req.url ?? "";
    if (url === "/vcek/v1/Milan/cert_chain") res.end(pem(0) + pem(1));
    else if (url === "/vlek/v1/Milan/cert_chain") res.end(pem(2) + pem(1));
    else if (url.startsWith("/vcek/v1/Milan/")) {
      vcekHits++;
      res.end(azVcek);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  kds = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
});
after(() => {
  server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("coco attest verify --tee tdx prints upstream's claims for a raw v4 quote", { skip }, () => {
  const r = verify("tdx", ev("tdx/tdx_quote_4.dat"), "--now", "2025-01-01T00:00:00Z");
  assert.equal(r.status, 0, r.stderr);
  const claims = JSON.parse(r.stdout);
  assert.equal(claims.quote.header.version, "0400");
  assert.equal(claims.platform_instance_id, "82548d228d94d5e204a95b354dc61a02");
});

test("a failed check exits non-zero with its code and a sentence", { skip }, () => {
  const r = verify(
    "tdx",
    ev("tdx/tdx_quote_4.dat"),
    "--eventlog",
    ev("tdx/CCEL_data"),
    "--now",
    "2025-01-01T00:00:00Z",
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ERR_EVENTLOG_REPLAY: event log replay of MR index/);
  const rd = verify(
    "sgx",
    ev("sgx/occlum_quote.dat"),
    "--report-data",
    "00",
    "--now",
    "2025-01-01T00:00:00Z",
  );
  assert.notEqual(rd.status, 0);
  assert.match(rd.stderr, /ERR_REPORT_DATA_MISMATCH/);
  // AMD's roots ship with the product, but a raw VLEK-signed report carries no VLEK.
  const snp = verify("snp", ev("snp/test-vlek-report.bin"));
  assert.match(
    snp.stderr,
    /ERR_CERT_MISSING: the report is VLEK-signed but the evidence has no cert_chain/,
  );
  const col = verify("tdx", ev("tdx/tdx_quote_4.dat"), "--collateral", tmp);
  assert.match(col.stderr, /ERR_COLLATERAL_MISSING|ERR_NOT_IMPLEMENTED/);
});

test("az-snp-vtpm evidence v1 verifies offline against the AMD roots directory", { skip }, () => {
  const r = verify(
    "az-snp-vtpm",
    ev("az-snp-vtpm/evidence-v1.json"),
    "--report-data",
    Buffer.from("challenge").toString("hex"),
    "--collateral",
    ROOTS,
    "--now",
    "2025-06-01T00:00:00Z",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).report_data, "6368616c6c656e6765");
});

test("collateral fetch fills a directory from a KDS that snp verify then uses offline", {
  skip,
}, async () => {
  // The SNP report inside Azure's HCL report (v3, Milan, chip ID present) as raw evidence.
  const ev1 = JSON.parse(readFileSync(ev("az-snp-vtpm/evidence-v1.json"), "utf8"));
  const report = parseHclReport(new Uint8Array(Buffer.from(ev1.hcl_report, "base64url"))).hwReport;
  const reportFile = join(tmp, "report.bin");
  writeFileSync(reportFile, report);
  const dir = join(tmp, "collateral");
  const written = await collateralFetchSnp(
    report,
    dir,
    kds,
    async (url) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    () => new Date("2025-06-01T00:00:00Z"),
  );
  assert.equal(written.length, 2);
  assert.equal(vcekHits, 1);
  const r = verify("snp", reportFile, "--collateral", dir, "--now", "2025-06-01T00:00:00Z");
  assert.equal(r.status, 0, r.stderr);
  const claims = JSON.parse(r.stdout);
  assert.equal(claims.chip_id, Buffer.from(parseSnpReport(report).chipId).toString("hex"));
  // The same directory through the CLI's own fetch command.
  const out = join(tmp, "collateral2");
  const f = await cocoAsync(
    "attest",
    "collateral",
    "fetch",
    "--tee",
    "snp",
    "--evidence",
    reportFile,
    "--out",
    out,
    "--kds-url",
    kds,
  );
  assert.equal(f.status, 0, f.stderr);
  assert.equal(f.stdout.trim().split("\n").length, 2);
  // VLEK evidence with its chain: verified against the fetched bundle, refused for VMPL 1.
  const vlek = parseSnpReport(new Uint8Array(readFileSync(ev("snp/test-vlek-report.bin"))));
  const vlekFile = join(tmp, "vlek.json");
  writeFileSync(
    vlekFile,
    JSON.stringify({
      attestation_report: snpReportToJson(vlek),
      cert_chain: [{ cert_type: "VLEK", data: Array.from(readFileSync(ev("snp/test-vlek.der"))) }],
    }),
  );
  const v = verify("snp", vlekFile, "--collateral", dir, "--now", "2025-06-01T00:00:00Z");
  assert.match(v.stderr, /ERR_VMPL/);
  // DCAP collateral from a server that has none: a coded failure, nothing written.
  const tdx = await cocoAsync(
    "attest",
    "collateral",
    "fetch",
    "--tee",
    "tdx",
    "--evidence",
    ev("tdx/tdx_quote_4.dat"),
    "--out",
    join(tmp, "dcap"),
    "--pcs-url",
    kds,
    "--root-crl-url",
    `${kds}/root.crl`,
  );
  assert.match(tdx.stderr, /ERR_COLLATERAL_MISSING/);
  assert.equal(existsSync(join(tmp, "dcap")), false);
});

test("createHardwareVerifiers wires the hardware TEEs and the NVIDIA GPU for the Attestation Service", {
  skip,
}, async () => {
  const vs = createHardwareVerifiers({
    collateralDir: ROOTS,
    clock: () => new Date("2025-06-01T00:00:00Z"),
  });
  assert.deepEqual(vs.map((v) => v.tee).sort(), [
    "az-snp-vtpm",
    "az-tdx-vtpm",
    "csv",
    "nvidia",
    "sgx",
    "snp",
    "tdx",
    "tpm",
  ]);
  const tdx = vs.find((v) => v.tee === "tdx");
  assert.ok(tdx);
  const rd = Buffer.from(
    "7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429",
    "hex",
  );
  const quote = readFileSync(ev("tdx/tdx_quote_4.dat")).toString("base64");
  const [res] = await tdx.evaluate({
    tee: "tdx",
    evidence: { quote, cc_eventlog: null },
    expectedReportData: rd,
  });
  assert.equal(res?.teeClass, "cpu");
  assert.equal(res?.claims.report_data, rd.toString("hex"));
  await assert.rejects(
    tdx.evaluate({
      tee: "tdx",
      evidence: { quote, cc_eventlog: null },
      expectedReportData: new Uint8Array(48),
    }),
    {
      code: "ERR_VERIFIER_REPORT_DATA",
    },
  );
  assert.deepEqual(
    createHardwareVerifiers()
      .map((v) => v.tee)
      .sort(),
    ["az-snp-vtpm", "az-tdx-vtpm", "csv", "nvidia", "sgx", "snp", "tdx", "tpm"],
  );
});

test("coco attest eventlog prints upstream's JSON and the replayed RTMRs", { skip }, () => {
  const r = coco(
    "attest",
    "eventlog",
    "--file",
    sharedPath("fixtures/evidence/eventlog/CCEL_data_ovmf"),
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const want = JSON.parse(
    readFileSync(sharedPath("fixtures/evidence/eventlog/CCEL_data_ovmf_out.json"), "utf8"),
  );
  assert.deepEqual(out.uefi_event_logs, want.uefi_event_logs);
  assert.ok(out.replayed_rtmrs[0].startsWith("8566f998"));
  const bad = coco("attest", "eventlog", "--file", ev("tdx/tdx_quote_4.dat"));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ERR_EVIDENCE_/);
});

test("coco attest verify --tee cca verifies the real token (raw CBOR and upstream's JSON)", {
  skip: sharedSkip("fixtures/evidence/cca/cca-example-token.cbor"),
}, () => {
  const dir = ev("cca");
  const raw = verify("cca", ev("cca/cca-example-token.cbor"), "--collateral", dir);
  assert.equal(raw.status, 0, raw.stderr);
  const claims = JSON.parse(raw.stdout);
  assert.equal(claims.realm["cca-realm-hash-algo-id"], "sha-512");
  const json = join(tmp, "cca.json");
  writeFileSync(
    json,
    JSON.stringify({ token: Array.from(readFileSync(ev("cca/cca-example-token.cbor"))) }),
  );
  const viaJson = verify("cca", json, "--collateral", dir, "--report-data", claims.report_data);
  assert.equal(viaJson.status, 0, viaJson.stderr);
  assert.deepEqual(JSON.parse(viaJson.stdout), claims);
  const noStore = verify("cca", json);
  assert.match(noStore.stderr, /ERR_COLLATERAL_MISSING/);
});

test("coco attest verify --tee nvidia and --tee tpm verify the real captures", {
  skip:
    sharedSkip("fixtures/evidence/nvidia/hopperAttestationReport.txt") ||
    sharedSkip("fixtures/evidence/tpm/tpm_evidence.json"),
}, () => {
  const gpu = join(tmp, "gpu.json");
  writeFileSync(
    gpu,
    JSON.stringify({
      device_evidence_list: [
        {
          arch: "HOPPER",
          uuid: "1111-2222-33333-444444-555555",
          evidence: readFileSync(ev("nvidia/hopperAttestationReport.txt"), "utf8"),
          certificate: readFileSync(ev("nvidia/hopper_cert_chain_case1.txt")).toString("base64"),
        },
      ],
    }),
  );
  const nonce = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
  const r = verify("nvidia", gpu, "--report-data", nonce);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout).devices[0],
    JSON.parse(readFileSync(ev("nvidia/hopperAttestationReport-claims.txt"), "utf8")),
  );
  const wrong = verify("nvidia", gpu, "--report-data", `${nonce.slice(0, -2)}00`);
  assert.match(wrong.stderr, /ERR_REPORT_DATA_MISMATCH/);
  const t = verify("tpm", ev("tpm/tpm_evidence.json"));
  assert.equal(t.status, 0, t.stderr);
  assert.equal(JSON.parse(t.stdout).pcr23.length, 64);
});

test("coco attest verify --tee snp needs no flag when the evidence carries its VCEK (shipped AMD roots)", {
  skip,
}, () => {
  const az = JSON.parse(readFileSync(ev("az-snp-vtpm/evidence-v1.json"), "utf8"));
  const report = parseSnpReport(
    parseHclReport(new Uint8Array(Buffer.from(az.hcl_report, "base64url"))).hwReport,
  );
  const file = join(tmp, "snp-with-vcek.json");
  writeFileSync(
    file,
    JSON.stringify({
      attestation_report: snpReportToJson(report),
      cert_chain: [{ cert_type: "VCEK", data: Array.from(Buffer.from(az.vcek, "base64url")) }],
    }),
  );
  const r = verify("snp", file, "--now", "2025-06-01T00:00:00Z");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).chip_id, Buffer.from(report.chipId).toString("hex"));
});

test("--tee se is refused with ERR_NOT_IMPLEMENTED saying why", () => {
  const r = verify("se", join(tmp, "absent.json"));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ERR_NOT_IMPLEMENTED: .* is not built/);
});

test("--tee csv: the capture is refused as chain unverifiable, and verifies with --allow-pek-only", {
  skip: sharedSkip("fixtures/evidence/csv/csv_evidence.json"),
}, () => {
  const file = ev("csv/csv_evidence.json");
  const refused = verify("csv", file);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /ERR_CERT_MISSING: chain unverifiable/);
  const ok = verify("csv", file, "--allow-pek-only", "--report-data", "00".repeat(64));
  assert.equal(ok.status, 0, ok.stderr);
  const claims = JSON.parse(ok.stdout);
  assert.equal(claims.pek_only, true);
  assert.equal(claims.measure, "ae2a2cf1f41a485fa37bf9ae92f678783c59fbc79de7b5d237743d58f5538034");
  const wrong = verify("csv", file, "--allow-pek-only", "--report-data", "01");
  assert.match(wrong.stderr, /ERR_REPORT_DATA_MISMATCH/);
  const init = verify("csv", file, "--allow-pek-only", "--init-data-digest", "00".repeat(32));
  assert.match(
    init.stderr,
    /ERR_EVIDENCE_UNSUPPORTED: a CSV report has no field that binds init-data/,
  );
});
