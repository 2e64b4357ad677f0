import assert from "node:assert/strict";
import { createHash, createPublicKey, createVerify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "../../../../../test/helpers/ports.js";
import type { RunningProcess } from "../../../../../test/helpers/process.js";
import { startSwtpm, swtpmSkip } from "../../../../../test/helpers/swtpm.js";
import { makeTestTls } from "../../../../../test/helpers/tls.js";
import { parseHclReport } from "../../../../tee/az-snp-vtpm/hcl.js";
import { detectAttester } from "../detect.js";
import { nvDefine, nvRead, nvWrite, provisionAk, readRsaPublic } from "../tpm/commands.js";
import { rsaSpkiDer } from "../tpm/tpm.js";
import { connectSwtpm, type TpmTransport } from "../tpm/transport.js";
import { AZ_VTPM, azHclType, createAzVtpmAttester } from "./az-vtpm.js";

const dir = mkdtempSync(join(tmpdir(), "az-vtpm-"));
let swtpm: RunningProcess | undefined;
let t: TpmTransport;
let imds: Server | undefined;
let imdsBase = "";
let vcekPem = "";

/** An HCL report in the paravisor's layout: header ‖ 1184-byte hw report ‖ IGVM data ‖ var data. */
function hclReport(type: number): Buffer {
  const varData = Buffer.from(
    JSON.stringify({ keys: [{ kid: "HCLAkPub", kty: "RSA" }], "user-data": "00".repeat(64) }),
  );
  const header = Buffer.alloc(32);
  header.write("HCLA", 0, "latin1");
  header.writeUInt32LE(1, 4);
  const igvm = Buffer.alloc(20);
  igvm.writeUInt32LE(20 + varData.length, 0);
  igvm.writeUInt32LE(1, 4);
  igvm.writeUInt32LE(type, 8);
  igvm.writeUInt32LE(1, 12);
  igvm.writeUInt32LE(varData.length, 16);
  return Buffer.concat([header, Buffer.alloc(1184), igvm, varData]);
}

before(async () => {
  if (swtpmSkip()) return;
  const tpm = await startSwtpm(dir);
  swtpm = tpm.process;
  const port = tpm.port;
  t = await connectSwtpm("127.0.0.1", port);
  // What Azure's paravisor provisions: the HCL report index and the vTPM AK.
  const hcl = hclReport(2);
  await nvDefine(t, AZ_VTPM.HCL_REPORT_INDEX, hcl.length);
  await nvWrite(t, AZ_VTPM.HCL_REPORT_INDEX, hcl);
  await provisionAk(t, AZ_VTPM.AK_HANDLE);
  vcekPem = (await makeTestTls()).certPem;
  // Azure IMDS is not reachable here; this answers its documented THIM shape for the shape test.
  imds = createServer((req, res) => {
    if (req.url === "/metadata/THIM/amd/certification" && req.headers.metadata === "true") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ vcekCert: vcekPem, certificateChain: "" }));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => imds?.listen(0, "127.0.0.1", () => r()));
  imdsBase = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
});

after(async () => {
  await t?.close();
  await swtpm?.stop();
  imds?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Azure vTPM attester on swtpm with paravisor-style NV indices", {
  skip: swtpmSkip(),
}, () => {
  test("detects az-snp-vtpm from the HCL report type, before snp and tpm", async () => {
    assert.equal(await azHclType(t), "snp");
    const a = await detectAttester({
      root: dir,
      env: { AA_TPM_DEVICE: "/dev/tpm0" },
      tpmTransport: () => t,
    });
    assert.equal(a.tee, "az-snp-vtpm");
  });

  test("evidence v2: report data to NV 0x01400002, HCL report, raw quote signature, VCEK DER", async () => {
    const att = createAzVtpmAttester("snp", { transport: t, imdsBase });
    const reportData = createHash("sha384").update("nonce").digest();
    const ev = (await att.getEvidence(reportData)) as {
      version: number;
      tpm_quote: { signature: string; message: string; pcrs: string[] };
      hcl_report: string;
      vcek: string;
    };
    assert.equal(ev.version, 2);
    const written = await nvRead(t, AZ_VTPM.REPORT_DATA_INDEX);
    assert.deepEqual(Buffer.from(written), Buffer.concat([reportData, Buffer.alloc(16)]));
    const hcl = Buffer.from(ev.hcl_report.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    assert.deepEqual(hcl, hclReport(2));
    assert.equal(parseHclReport(hcl).reportType, "snp");
    assert.match(ev.hcl_report, /^[A-Za-z0-9_-]+=*$/);
    const ak = await readRsaPublic(t, AZ_VTPM.AK_HANDLE);
    const akKey = createPublicKey({
      key: Buffer.from(rsaSpkiDer(ak.modulus, ak.exponent)),
      format: "der",
      type: "spki",
    });
    assert.ok(
      createVerify("sha256")
        .update(Buffer.from(ev.tpm_quote.message, "hex"))
        .verify(akKey, Buffer.from(ev.tpm_quote.signature, "hex")),
    );
    assert.equal(ev.tpm_quote.pcrs.length, 24);
    const der = Buffer.from(ev.vcek.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    assert.equal(
      createPublicKey({ key: vcekPem }).export({ format: "der", type: "spki" }).length > 0,
      true,
    );
    assert.ok(der.length > 100 && der[0] === 0x30);
  });

  test("without IMDS the evidence fails loudly; oversized report data is refused", async () => {
    const dead = await freePort();
    const att = createAzVtpmAttester("snp", {
      transport: t,
      imdsBase: `http://127.0.0.1:${dead}`,
      imdsTimeoutMs: 2000,
    });
    await assert.rejects(att.getEvidence(new Uint8Array(32)), { code: "ERR_AA_ATTESTER" });
    await assert.rejects(att.getEvidence(new Uint8Array(65)), { code: "ERR_AA_REPORT_DATA" });
  });
});
