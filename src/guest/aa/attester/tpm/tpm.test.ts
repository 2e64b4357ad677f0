import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey, createVerify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RunningProcess } from "../../../../../test/helpers/process.js";
import { startSwtpm, swtpmSkip } from "../../../../../test/helpers/swtpm.js";
import { openEventLog } from "../../eventlog/eventlog.js";
import { aaelRecord } from "../../eventlog/record.js";
import { parseQuoteAttest, pcrRead, R } from "./commands.js";
import { createTpmAttester } from "./tpm.js";
import { connectSwtpm, type TpmTransport } from "./transport.js";

const dir = mkdtempSync(join(tmpdir(), "swtpm-"));
let swtpm: RunningProcess | undefined;
let port = 0;
let transport: TpmTransport;

function hasTool(name: string): boolean {
  try {
    execFileSync("which", [name], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  if (swtpmSkip()) return;
  const started = await startSwtpm(dir);
  swtpm = started.process;
  port = started.port;
  transport = await connectSwtpm("127.0.0.1", port);
});

after(async () => {
  await transport?.close();
  await swtpm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("TPM attester against swtpm (a real software TPM)", { skip: swtpmSkip() }, () => {
  test("provisions an AK, quotes all 24 SHA-256 PCRs, and the quote verifies with ak_public", async () => {
    const att = createTpmAttester({ transport });
    const reportData = createHash("sha384").update("nonce").digest();
    const ev = (await att.getEvidence(reportData)) as {
      tpm_quote: { signature: string; message: string; pcrs: string[] };
      ak_public: string;
    };
    assert.equal(ev.tpm_quote.pcrs.length, 24);
    const message = Buffer.from(ev.tpm_quote.message, "base64");
    const sig = new R(Buffer.from(ev.tpm_quote.signature, "base64"));
    assert.equal(sig.u16(), 0x0014);
    assert.equal(sig.u16(), 0x000b);
    const raw = sig.tpm2b();
    const ak = createPublicKey({
      key: Buffer.from(ev.ak_public, "base64"),
      format: "der",
      type: "spki",
    });
    assert.equal(ak.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(
      createVerify("sha256").update(message).verify(ak, raw),
      "RSASSA-SHA256 over TPMS_ATTEST",
    );
    const attest = parseQuoteAttest(message);
    assert.deepEqual(
      Buffer.from(attest.extraData),
      reportData.subarray(0, 32),
      "report data resized to 32 bytes",
    );
    const pcrConcat = Buffer.concat(ev.tpm_quote.pcrs.map((h) => Buffer.from(h, "hex")));
    assert.deepEqual(
      Buffer.from(attest.pcrDigest),
      createHash("sha256").update(pcrConcat).digest(),
    );
  });

  test("tpm2-tools agree: tpm2_pcrread values and tpm2_checkquote on our quote", async (t) => {
    if (!hasTool("tpm2_pcrread") || !hasTool("tpm2_checkquote")) {
      t.skip("tpm2-tools are not installed");
      return;
    }
    const att = createTpmAttester({ transport });
    const nonce = Buffer.alloc(32, 0xab);
    const ev = (await att.getEvidence(nonce)) as {
      tpm_quote: { signature: string; message: string; pcrs: string[] };
      ak_public: string;
    };
    const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${port}` };
    await transport.close();
    try {
      const out = execFileSync("tpm2_pcrread", ["sha256:0,7,16,23"], { env }).toString();
      const ours = await (async () => ev.tpm_quote.pcrs)();
      for (const i of [0, 7, 16, 23]) {
        const m = new RegExp(`\\b${i}\\s*:\\s*0x([0-9A-F]+)`).exec(out);
        assert.equal(m?.[1]?.toLowerCase(), ours[i], `PCR ${i}`);
      }
    } finally {
      transport = await connectSwtpm("127.0.0.1", port);
    }
    writeFileSync(
      join(dir, "ak.pem"),
      createPublicKey({
        key: Buffer.from(ev.ak_public, "base64"),
        format: "der",
        type: "spki",
      }).export({ type: "spki", format: "pem" }),
    );
    writeFileSync(join(dir, "msg.bin"), Buffer.from(ev.tpm_quote.message, "base64"));
    writeFileSync(join(dir, "sig.bin"), Buffer.from(ev.tpm_quote.signature, "base64"));
    // tpm2-tools checks the quote against the AK and the qualifying data it was made for.
    const checkQuote = (qualifying: string) =>
      execFileSync(
        "tpm2_checkquote",
        [
          "-u",
          join(dir, "ak.pem"),
          "-m",
          join(dir, "msg.bin"),
          "-s",
          join(dir, "sig.bin"),
          "-g",
          "sha256",
          "-q",
          qualifying,
        ],
        { stdio: "pipe" },
      );
    checkQuote(nonce.toString("hex"));
    assert.throws(() => checkQuote("00".repeat(32)));
  });

  test("init-data extends PCR 8; the AAEL extends a real PCR and the log replays to it", async () => {
    const att = createTpmAttester({ transport });
    const before8 = (await pcrRead(transport, [8])).get(8) as Uint8Array;
    const digest = createHash("sha256").update("initdata").digest();
    assert.equal(await att.bindInitData(digest), "bound");
    const after8 = (await pcrRead(transport, [8])).get(8) as Uint8Array;
    assert.deepEqual(
      Buffer.from(after8),
      createHash("sha256").update(before8).update(digest).digest(),
    );

    const logDir = join(dir, "aael");
    const runtime = att.runtime;
    assert.ok(runtime);
    const pcr = 23; // the application PCR, extendable from locality 0
    const start = (await pcrRead(transport, [pcr])).get(pcr) as Uint8Array;
    const log = await openEventLog({ measurer: runtime, dir: logDir, initPcr: pcr });
    await log.extend(
      "github.com/confidential-containers",
      "PullImage",
      '{"image":"busybox", "digest":"sha256:00"}',
      pcr,
    );
    await log.extend("domain", "operation", "content", pcr);
    const d1 = aaelRecord(
      'github.com/confidential-containers PullImage {"image":"busybox", "digest":"sha256:00"}',
      pcr,
      "sha256",
    ).digest;
    const d2 = aaelRecord("domain operation content", pcr, "sha256").digest;
    const expected = createHash("sha256")
      .update(createHash("sha256").update(start).update(d1).digest())
      .update(d2)
      .digest();
    assert.deepEqual(
      Buffer.from((await pcrRead(transport, [pcr])).get(pcr) as Uint8Array),
      expected,
    );
  });

  test("a truncated or garbled TPM response is ERR_AA_TPM", async () => {
    const fake = (bytes: Uint8Array): TpmTransport => ({
      send: async () => bytes,
      close: async () => undefined,
    });
    await assert.rejects(pcrRead(fake(Buffer.from("8001000000", "hex")), [0]), {
      code: "ERR_AA_TPM",
    });
    await assert.rejects(pcrRead(fake(Buffer.from("80010000000e000000000000", "hex")), [0]), {
      code: "ERR_AA_TPM",
    });
    await assert.rejects(pcrRead(fake(Buffer.from("80010000000a00000101", "hex")), [0]), {
      code: "ERR_AA_TPM",
    });
    assert.throws(() => parseQuoteAttest(Buffer.from("ff54434780180000", "hex")), {
      code: "ERR_AA_TPM",
    });
  });
});
