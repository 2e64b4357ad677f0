import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createCcaAttester } from "../cca/cca.js";
import { createTdxAttester, specIdHeader, trimCcel } from "../tdx/tdx.js";
import { tsmProviderIs, tsmReport } from "./report.js";
import { kernelLikeTsm } from "./testing.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "tsm-"));
  dirs.push(d);
  return d;
}

describe("configfs-tsm report (kernel-documented behaviour on a directory tree; no TEE here)", () => {
  test("writes inblob, reads outblob, checks generation and removes the entry", async () => {
    const root = join(tmp(), "report");
    const fs = kernelLikeTsm(root, "tdx_guest");
    const r = await tsmReport({
      provider: "tdx_guest",
      inblob: new Uint8Array(64).fill(7),
      root,
      fs,
      readAuxblob: true,
    });
    assert.equal(Buffer.from(r.outblob.subarray(0, 6)).toString(), "QUOTE:");
    assert.equal(r.outblob.length, 70);
    assert.equal(Buffer.from(r.auxblob ?? []).toString(), "CERTS");
    assert.deepEqual(readdirSync(root), []);
    assert.equal(await tsmProviderIs("tdx_guest", root, fs), true);
    assert.equal(await tsmProviderIs("sev_guest", root, fs), false);
  });

  test("a generation over 1 is an inblob write conflict", async () => {
    const root = join(tmp(), "report");
    await assert.rejects(
      tsmReport({
        provider: "tdx_guest",
        inblob: new Uint8Array(64),
        root,
        fs: kernelLikeTsm(root, "tdx_guest", { racer: true }),
      }),
      (e: Error & { code: string }) => e.code === "ERR_AA_TSM" && /conflict/.test(e.message),
    );
    assert.deepEqual(readdirSync(root), []);
  });

  test("wrong provider, missing root, empty or oversized inblob are ERR_AA_TSM", async () => {
    const root = join(tmp(), "report");
    const fs = kernelLikeTsm(root, "sev_guest");
    await assert.rejects(
      tsmReport({ provider: "tdx_guest", inblob: new Uint8Array(64), root, fs }),
      { code: "ERR_AA_TSM" },
    );
    await assert.rejects(
      tsmReport({
        provider: "tdx_guest",
        inblob: new Uint8Array(64),
        root: join(root, "nope"),
        fs,
      }),
      {
        code: "ERR_AA_TSM",
      },
    );
    await assert.rejects(
      tsmReport({ provider: "sev_guest", inblob: new Uint8Array(0), root, fs }),
      { code: "ERR_AA_TSM" },
    );
    await assert.rejects(
      tsmReport({ provider: "sev_guest", inblob: new Uint8Array(65), root, fs }),
      { code: "ERR_AA_TSM" },
    );
    assert.deepEqual(readdirSync(root), []);
  });
});

describe("TDX and CCA attesters over configfs-tsm", () => {
  test("TDX evidence: quote of the zero-padded report data and cc_eventlog = CCEL + AAEL + FF*8", async () => {
    const d = tmp();
    const root = join(d, "report");
    const ccel = Buffer.concat([
      Buffer.alloc(16, 0x11),
      Buffer.alloc(8, 0xff),
      Buffer.alloc(8, 0x22),
    ]);
    writeFileSync(join(d, "CCEL"), ccel);
    writeFileSync(join(d, "aael"), Buffer.from("AAEL"));
    const att = createTdxAttester({
      tsmRoot: root,
      tsmFs: kernelLikeTsm(root, "tdx_guest"),
      ccel: join(d, "CCEL"),
      aael: join(d, "aael"),
    });
    const ev = (await att.getEvidence(new Uint8Array([1, 2, 3]))) as {
      cc_eventlog: string;
      quote: string;
    };
    const quote = Buffer.from(ev.quote, "base64");
    assert.equal(quote.length, 6 + 64);
    assert.deepEqual([...quote.subarray(6, 10)], [1, 2, 3, 0]);
    assert.equal(
      Buffer.from(ev.cc_eventlog, "base64").toString("hex"),
      Buffer.concat([Buffer.alloc(16, 0x11), Buffer.from("AAEL"), Buffer.alloc(8, 0xff)]).toString(
        "hex",
      ),
    );
    await assert.rejects(att.getEvidence(new Uint8Array(65)), { code: "ERR_AA_REPORT_DATA" });
  });

  test("TDX without CCEL prefixes the 69-byte spec-ID header; with neither it is null", async () => {
    const d = tmp();
    const root = join(d, "report");
    writeFileSync(join(d, "aael"), Buffer.from("X"));
    const fs = kernelLikeTsm(root, "tdx_guest");
    const a1 = createTdxAttester({
      tsmRoot: root,
      tsmFs: fs,
      ccel: join(d, "none"),
      aael: join(d, "aael"),
    });
    const e1 = (await a1.getEvidence(new Uint8Array(48))) as { cc_eventlog: string };
    const log = Buffer.from(e1.cc_eventlog, "base64");
    assert.equal(log.length, 69 + 1 + 8);
    assert.deepEqual(log.subarray(0, 69), Buffer.from(specIdHeader()));
    const a2 = createTdxAttester({
      tsmRoot: root,
      tsmFs: fs,
      ccel: join(d, "none"),
      aael: join(d, "none2"),
    });
    assert.equal(
      ((await a2.getEvidence(new Uint8Array(48))) as { cc_eventlog: null }).cc_eventlog,
      null,
    );
    assert.equal(trimCcel(Buffer.alloc(16, 0)).length, 0);
  });

  test("TDX init-data binding compares MRCONFIGID and refuses a mismatch", async () => {
    const d = tmp();
    mkdirSync(join(d, "m"));
    const digest = Buffer.alloc(32, 5);
    writeFileSync(join(d, "m", "mrconfigid"), Buffer.concat([digest, Buffer.alloc(16)]));
    const att = createTdxAttester({ measurements: join(d, "m") });
    assert.equal(await att.bindInitData(digest), "bound");
    await assert.rejects(att.bindInitData(Buffer.alloc(32, 6)), {
      code: "ERR_AA_INITDATA_MISMATCH",
    });
  });

  test("CCA evidence carries the token as a JSON number array", async () => {
    const root = join(tmp(), "report");
    const att = createCcaAttester({ tsmRoot: root, tsmFs: kernelLikeTsm(root, "arm_cca_guest") });
    const ev = (await att.getEvidence(new Uint8Array([9]))) as { token: number[] };
    assert.ok(Array.isArray(ev.token));
    assert.deepEqual(ev.token.slice(0, 7), [...Buffer.from("QUOTE:"), 9]);
  });
});
