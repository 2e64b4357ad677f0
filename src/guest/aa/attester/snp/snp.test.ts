import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { sharedPath, sharedSkip } from "../../../../../test/helpers/paths.js";
import { parseSnpEvidence } from "../../../../tee/snp/evidence.js";
import { parseSnpReport } from "../../../../tee/snp/report.js";
import { kernelLikeTsm } from "../tsm/testing.js";
import { createSnpAttester, guidBytes, parseCertTable } from "./snp.js";

const REPORT = "fixtures/evidence/snp/test-report.bin";
const VCEK = "fixtures/evidence/snp/test-vcek.der";
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A GHCB certificate table holding `certs`. */
function certTable(certs: [string, Uint8Array][]): Buffer {
  const head = 24 * (certs.length + 1);
  let off = head;
  const entries: Buffer[] = [];
  for (const [guid, data] of certs) {
    const e = Buffer.alloc(24);
    Buffer.from(guidBytes(guid)).copy(e);
    e.writeUInt32LE(off, 16);
    e.writeUInt32LE(data.length, 20);
    entries.push(e);
    off += data.length;
  }
  return Buffer.concat([...entries, Buffer.alloc(24), ...certs.map(([, d]) => Buffer.from(d))]);
}

/** configfs-tsm for sev_guest returning a fixed (real) report and certificate table. */
const sevTsm = (root: string, report: Uint8Array, aux: Uint8Array) =>
  kernelLikeTsm(root, "sev_guest", { answer: () => ({ outblob: report, auxblob: aux }) });

describe("SNP attester over configfs-tsm (a real SNP report fixture as the kernel's outblob)", {
  skip: sharedSkip(REPORT) || sharedSkip(VCEK),
}, () => {
  test("evidence is upstream's JSON: the report round-trips through the evidence parser, VCEK in cert_chain", async () => {
    const report = readFileSync(sharedPath(REPORT));
    const vcek = readFileSync(sharedPath(VCEK));
    const root = join(mkdtempSync(join(tmpdir(), "snp-")), "report");
    dirs.push(join(root, ".."));
    const aux = certTable([["63da758d-e664-4564-adc5-f4b93be8accd", vcek]]);
    const att = createSnpAttester({ tsmRoot: root, tsmFs: sevTsm(root, report, aux) });
    const ev = await att.getEvidence(new Uint8Array(48));
    const parsed = parseSnpEvidence(JSON.parse(JSON.stringify(ev)));
    assert.deepEqual(parsed.report, parseSnpReport(new Uint8Array(report)));
    assert.equal(parsed.certChain?.[0]?.certType, "VCEK");
    assert.deepEqual(Buffer.from(parsed.certChain?.[0]?.data ?? []), vcek);
    const privlevelWritten = readdirSync(root).length === 0;
    assert.ok(privlevelWritten, "the configfs entry was removed");
  });

  test("init-data binding compares HOST_DATA", async () => {
    const report = readFileSync(sharedPath(REPORT));
    const root = join(mkdtempSync(join(tmpdir(), "snp-")), "report");
    dirs.push(join(root, ".."));
    const att = createSnpAttester({ tsmRoot: root, tsmFs: sevTsm(root, report, Buffer.alloc(24)) });
    const hostData = parseSnpReport(report).hostData;
    assert.equal(await att.bindInitData(hostData), "bound");
    const other = Buffer.from(hostData);
    other[0] = (other[0] ?? 0) ^ 1;
    await assert.rejects(att.bindInitData(other), { code: "ERR_AA_INITDATA_MISMATCH" });
  });
});

describe("GHCB certificate table", () => {
  test("known GUIDs map to names, unknown ones to OTHER; empty table is []", () => {
    const t = certTable([
      ["c0b406a4-a803-4952-9743-3fb6014cd0ae", Buffer.from("ark")],
      ["00000000-0000-0000-0000-000000000001", Buffer.from("x")],
    ]);
    assert.deepEqual(parseCertTable(t), [
      { cert_type: "ARK", data: [...Buffer.from("ark")] },
      { cert_type: { OTHER: "00000000-0000-0000-0000-000000000001" }, data: [120] },
    ]);
    assert.deepEqual(parseCertTable(Buffer.alloc(24)), []);
  });

  test("truncated or out-of-bounds tables are ERR_AA_ATTESTER", () => {
    assert.throws(() => parseCertTable(Buffer.alloc(10)), { code: "ERR_AA_ATTESTER" });
    const bad = Buffer.alloc(48);
    bad[0] = 1;
    bad.writeUInt32LE(1000, 16);
    bad.writeUInt32LE(5, 20);
    assert.throws(() => parseCertTable(bad), { code: "ERR_AA_ATTESTER" });
  });
});
