import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { HashAlgorithm } from "../../../crypto/digest.js";
import type { RuntimeMeasurer } from "../attester/types.js";
import { decodeWal, encodeWal, openEventLog, WAL_FILE } from "./eventlog.js";
import { aaelRecord, parseAaelText, taggedEventBytes } from "./record.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "aael-"));
  dirs.push(d);
  return d;
}

/**
 * A register bank with TPM/RTMR extend semantics (new = H(old || digest)); the event log is the
 * unit under test here, the real registers are exercised by the TPM attester tests.
 */
function registers(
  alg: HashAlgorithm,
  len: number,
): RuntimeMeasurer & { regs: Map<number, Uint8Array> } {
  const regs = new Map<number, Uint8Array>();
  return {
    regs,
    hashAlgorithm: alg,
    pcrToRegister: (pcr) =>
      pcr === 1 || pcr === 7 ? 1 : pcr >= 2 && pcr <= 6 ? 2 : pcr >= 8 && pcr <= 15 ? 3 : 4,
    async readRegister(pcr) {
      return regs.get(pcr) ?? new Uint8Array(len);
    },
    async extend(pcr, d) {
      const old = regs.get(pcr) ?? new Uint8Array(len);
      regs.set(pcr, createHash(alg).update(old).update(d).digest());
    },
  };
}

describe("AAEL records", () => {
  test("event digests match upstream's vectors", () => {
    const text = "domain operation content";
    assert.equal(
      hex(aaelRecord(text, 4, "sha256").digest),
      "46df8dacf00a07d34a83cdf56d7978697790787cf2ba1432ef7c38f22cd96351",
    );
    assert.equal(
      hex(aaelRecord(text, 4, "sha384").digest),
      "dad5f0e226318ffa9839b75a472c6aa7fdb5834949d0a0a22990cf04d5692440fb00f3aa0609db7e49cd8d793f670d02",
    );
    assert.equal(
      hex(aaelRecord(text, 4, "sha512").digest),
      "b708d222ca8bd44dfe6ba0c4ca2cbb72379276fba8091025217064be45a813e5d6124ccf073219edb617d1faf007d55061465bdf34b7437dbdc9a7405bd4e9c0",
    );
  });

  test("record layout: register, EV_EVENT_TAG, one digest, tagged event", () => {
    const { record, digest } = aaelRecord("a b c", 4, "sha384");
    const tagged = taggedEventBytes("a b c");
    assert.equal(hex(tagged), `4c45414105000000${Buffer.from("a b c").toString("hex")}`);
    assert.equal(hex(record), `0400000006000000010000000c00${hex(digest)}0d000000${hex(tagged)}`);
  });

  test("rejects newlines and malformed text", () => {
    assert.throws(() => parseAaelText("a b c\nd"), { code: "ERR_AA_EVENTLOG" });
    assert.throws(() => parseAaelText("nospaces"), { code: "ERR_AA_EVENTLOG" });
    assert.deepEqual(parseAaelText("d o c o n"), { domain: "d", operation: "o", content: "c o n" });
  });

  test("WAL offset is big-endian (bytes 00..02 00 are 512)", () => {
    const w = encodeWal(512, new Uint8Array(32).fill(1), "d o c");
    assert.equal(hex(w.subarray(0, 8)), "0000000000000200");
    assert.equal(decodeWal(w, 32).offset, 512);
    assert.throws(() => decodeWal(w.subarray(0, 20), 32), { code: "ERR_AA_EVENTLOG" });
  });
});

describe("AAEL event log", () => {
  test("appends records and extends the register; the log replays to the register", async () => {
    const dir = tmp();
    const m = registers("sha384", 48);
    const log = await openEventLog({ measurer: m, dir });
    await log.extend(
      "github.com/confidential-containers",
      "PullImage",
      '{"image":"x", "digest":"y"}',
      17,
    );
    await log.extend("domain", "operation", "content", 17);
    const bytes = readFileSync(log.path);
    const r1 = aaelRecord(
      'github.com/confidential-containers PullImage {"image":"x", "digest":"y"}',
      4,
      "sha384",
    );
    const r2 = aaelRecord("domain operation content", 4, "sha384");
    assert.equal(hex(bytes), hex(r1.record) + hex(r2.record));
    let reg: Uint8Array = new Uint8Array(48);
    for (const d of [r1.digest, r2.digest])
      reg = createHash("sha384").update(reg).update(d).digest();
    assert.equal(hex(m.regs.get(17) ?? new Uint8Array()), hex(reg));
    assert.equal(existsSync(join(dir, WAL_FILE)), false);
    // a reopened log appends after the existing records
    const again = await openEventLog({ measurer: m, dir });
    await again.extend("d", "o", "c", 17);
    assert.equal(
      readFileSync(log.path).length,
      bytes.length + aaelRecord("d o c", 4, "sha384").record.length,
    );
  });

  test("recovers a crash after the WAL was written but before the extend", async () => {
    const dir = tmp();
    const m = registers("sha256", 32);
    const crashing = await openEventLog({ measurer: m, dir, crashAfter: "wal" });
    await assert.rejects(crashing.extend("d", "o", "c", 17), { code: "ERR_AA_EVENTLOG" });
    assert.equal(m.regs.get(17), undefined);
    await openEventLog({ measurer: m, dir });
    const r = aaelRecord("d o c", 4, "sha256");
    assert.equal(
      hex(m.regs.get(17) ?? new Uint8Array()),
      createHash("sha256").update(new Uint8Array(32)).update(r.digest).digest("hex"),
    );
    assert.equal(hex(readFileSync(join(dir, "eventlog"))), hex(r.record));
    assert.equal(existsSync(join(dir, WAL_FILE)), false);
  });

  test("recovers a crash after the extend without extending twice", async () => {
    const dir = tmp();
    const m = registers("sha256", 32);
    const crashing = await openEventLog({ measurer: m, dir, crashAfter: "extend" });
    await assert.rejects(crashing.extend("d", "o", "c", 17), { code: "ERR_AA_EVENTLOG" });
    const after1 = m.regs.get(17);
    await openEventLog({ measurer: m, dir });
    assert.deepEqual(m.regs.get(17), after1);
    assert.equal(
      hex(readFileSync(join(dir, "eventlog"))),
      hex(aaelRecord("d o c", 4, "sha256").record),
    );
  });

  test("refuses to start when the register moved under a pending WAL, or the WAL is garbage", async () => {
    const dir = tmp();
    const m = registers("sha256", 32);
    const crashing = await openEventLog({ measurer: m, dir, crashAfter: "wal" });
    await assert.rejects(crashing.extend("d", "o", "c", 17));
    await m.extend(17, new Uint8Array(32).fill(9));
    await assert.rejects(openEventLog({ measurer: m, dir }), { code: "ERR_AA_EVENTLOG" });
    writeFileSync(join(dir, WAL_FILE), Buffer.from([1, 2, 3]));
    await assert.rejects(openEventLog({ measurer: m, dir }), { code: "ERR_AA_EVENTLOG" });
  });
});
