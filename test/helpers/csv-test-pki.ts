/**
 * A TEST PKI in Hygon's CSV certificate formats — NOT Hygon's keys. No real HSK/CEK for the
 * capture in ../shared is at hand, so the chain path is exercised with an HRK, HSK, CEK and PEK
 * made here: SM2 keys and signatures come from the OpenSSL command line (`openssl pkeyutl
 * -pkeyopt distid:<user id>`, an SM2 implementation independent of the one under test), laid out
 * as csv-rs lays them out (`ca::Certificate`, `csv::Certificate`). Also serialises certificates to
 * upstream's serde JSON and builds SM3 CC event logs for version 2 reports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A skip reason when the OpenSSL command line cannot make SM2 signatures with a distid. */
export function opensslSm2Skip(): string | false {
  const r = spawnSync("openssl", ["list", "-public-key-algorithms"], { encoding: "utf8" });
  if (r.status !== 0)
    return "the openssl command line is not installed (scripts/setup installs it)";
  return /SM2/.test(r.stdout) ? false : "this openssl has no SM2";
}

/** An SM2 key made by OpenSSL: its PEM file and public point (big-endian coordinates). */
export interface TestSm2Key {
  file: string;
  x: Buffer;
  y: Buffer;
}

/** The test PKI (all certificate bytes in csv-rs layout). */
export interface CsvTestPki {
  hrk: Uint8Array;
  hsk: Uint8Array;
  cek: Uint8Array;
  pek: Uint8Array;
  pekKey: TestSm2Key;
  /** Signs `message` with `key` (SM2, SM3, distinguishing ID `userId`); r, s big-endian. */
  sign(key: TestSm2Key, userId: string, message: Uint8Array): { r: Buffer; s: Buffer };
  /** Removes the key files. */
  close(): void;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};

/** A 72-byte little-endian field holding a 32-byte big-endian integer. */
function le72(be: Buffer): Buffer {
  const out = Buffer.alloc(72);
  Buffer.from(be).reverse().copy(out, 0);
  return out;
}

function derInt(der: Buffer, at: number): { v: Buffer; next: number } {
  if (der[at] !== 0x02) throw new Error("test PKI: bad DER INTEGER");
  const len = der[at + 1] as number;
  let v = der.subarray(at + 2, at + 2 + len);
  while (v.length > 32 && v[0] === 0) v = v.subarray(1);
  const out = Buffer.alloc(32);
  v.copy(out, 32 - v.length);
  return { v: out, next: at + 2 + len };
}

function userIdField(id: string): Buffer {
  const f = Buffer.alloc(254);
  f.write(id, "latin1");
  return Buffer.concat([u16(id.length), f]);
}

/** Creates the test PKI in a temporary directory (keys only; removed by `close`). */
export function createCsvTestPki(): CsvTestPki {
  const dir = mkdtempSync(join(tmpdir(), "coco-csv-pki-"));
  let n = 0;
  const key = (): TestSm2Key => {
    const file = join(dir, `k${n++}.pem`);
    execFileSync("openssl", ["genpkey", "-algorithm", "SM2", "-out", file], { stdio: "pipe" });
    const der = execFileSync("openssl", ["pkey", "-in", file, "-pubout", "-outform", "DER"]);
    const pt = der.subarray(der.length - 64);
    return { file, x: Buffer.from(pt.subarray(0, 32)), y: Buffer.from(pt.subarray(32)) };
  };
  const sign = (k: TestSm2Key, userId: string, message: Uint8Array) => {
    const msg = join(dir, "msg");
    writeFileSync(msg, message);
    const der = execFileSync("openssl", [
      "pkeyutl",
      "-sign",
      "-inkey",
      k.file,
      "-rawin",
      "-digest",
      "sm3",
      "-pkeyopt",
      `distid:${userId}`,
      "-in",
      msg,
    ]);
    const r = derInt(der, 2);
    const s = derInt(der, r.next);
    return { r: r.v, s: s.v };
  };
  const pubkey = (k: TestSm2Key) => Buffer.concat([u32(3), le72(k.x), le72(k.y)]);
  const sigField = (sig: { r: Buffer; s: Buffer }) => Buffer.concat([le72(sig.r), le72(sig.s)]);

  /** csv-rs `ca::Certificate`: body (0x240) + signature + 112 reserved. */
  const caCert = (o: {
    kid: Buffer;
    sid: Buffer;
    usage: number;
    key: TestSm2Key;
    uid: string;
    signer: TestSm2Key;
    signerUid: string;
  }) => {
    const body = Buffer.concat([
      u32(1),
      o.kid,
      o.sid,
      u32(o.usage),
      Buffer.alloc(24),
      pubkey(o.key),
      userIdField(o.uid),
      Buffer.alloc(108),
    ]);
    return new Uint8Array(
      Buffer.concat([body, sigField(sign(o.signer, o.signerUid, body)), Buffer.alloc(112)]),
    );
  };
  /** csv-rs `csv::Certificate`: body (1044) + two signature slots of 520 bytes. */
  const csvCert = (o: {
    usage: number;
    key: TestSm2Key;
    uid: string;
    sigs: { usage: number; algo: number; signer: TestSm2Key; signerUid: string }[];
  }) => {
    const body = Buffer.concat([
      u32(1),
      Buffer.from([1, 3]),
      u16(0),
      u32(o.usage),
      u32(4),
      pubkey(o.key),
      userIdField(o.uid),
      Buffer.alloc(16),
      Buffer.alloc(608),
    ]);
    const slots = [0, 1].map((i) => {
      const s = o.sigs[i];
      if (!s) return Buffer.alloc(520);
      return Buffer.concat([
        u32(s.usage),
        u32(s.algo),
        sigField(sign(s.signer, s.signerUid, body)),
        Buffer.alloc(368),
      ]);
    });
    return new Uint8Array(Buffer.concat([body, ...slots]));
  };

  const hrkKey = key();
  const hskKey = key();
  const cekKey = key();
  const ocaKey = key();
  const pekKey = key();
  const hrkKid = createHash("sha256").update("test HRK").digest().subarray(0, 16);
  const hskKid = createHash("sha256").update("test HSK").digest().subarray(0, 16);
  const hrk = caCert({
    kid: hrkKid,
    sid: hrkKid,
    usage: 0,
    key: hrkKey,
    uid: "HYGON-SSD-HRK",
    signer: hrkKey,
    signerUid: "HYGON-SSD-HRK",
  });
  const hsk = caCert({
    kid: hskKid,
    sid: hrkKid,
    usage: 0x13,
    key: hskKey,
    uid: "HYGON-SSD-HSK",
    signer: hrkKey,
    signerUid: "HYGON-SSD-HRK",
  });
  const cek = csvCert({
    usage: 0x1004,
    key: cekKey,
    uid: "HYGON-SSD-CEK",
    sigs: [{ usage: 0x13, algo: 4, signer: hskKey, signerUid: "HYGON-SSD-HSK" }],
  });
  // A PEK as the firmware makes it: slot 0 by the CEK, slot 1 by the owner's OCA.
  const pek = csvCert({
    usage: 0x1002,
    key: pekKey,
    uid: "HYGON-SSD-PEK",
    sigs: [
      { usage: 0x1004, algo: 4, signer: cekKey, signerUid: "HYGON-SSD-CEK" },
      { usage: 0x1001, algo: 4, signer: ocaKey, signerUid: "HYGON-SSD-OCA" },
    ],
  });
  return {
    hrk,
    hsk,
    cek,
    pek,
    pekKey,
    sign,
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const arr = (b: Uint8Array) => Array.from(b);

/** csv-rs `ca::Certificate` bytes → upstream's serde JSON. */
export function caCertJson(b: Uint8Array): unknown {
  const v = Buffer.from(b);
  return {
    body: {
      preamble: {
        ver: v.readUInt32LE(0),
        data: {
          kid: arr(v.subarray(4, 20)),
          sid: arr(v.subarray(20, 36)),
          usage: v.readUInt32LE(36),
          reserved: arr(v.subarray(40, 64)),
        },
      },
      pubkey: { g: v.readUInt32LE(64), x: arr(v.subarray(68, 140)), y: arr(v.subarray(140, 212)) },
      uid_size: v.readUInt16LE(212),
      user_id: arr(v.subarray(214, 468)),
      reserved: arr(v.subarray(468, 576)),
    },
    signature: { r: arr(v.subarray(576, 648)), s: arr(v.subarray(648, 720)) },
    _reserved: arr(v.subarray(720, 832)),
  };
}

/** csv-rs `csv::Certificate` bytes → upstream's serde JSON. */
export function csvCertJson(b: Uint8Array): unknown {
  const v = Buffer.from(b);
  const slot = (at: number) => ({
    usage: v.readUInt32LE(at),
    algo: v.readUInt32LE(at + 4),
    signature: { r: arr(v.subarray(at + 8, at + 80)), s: arr(v.subarray(at + 80, at + 152)) },
    _reserved: arr(v.subarray(at + 152, at + 520)),
  });
  return {
    body: {
      ver: v.readUInt32LE(0),
      data: {
        firmware: { major: v[4], minor: v[5] },
        reserved1: v.readUInt16LE(6),
        pubkey: {
          usage: v.readUInt32LE(8),
          algo: v.readUInt32LE(12),
          key: { g: v.readUInt32LE(16), x: arr(v.subarray(20, 92)), y: arr(v.subarray(92, 164)) },
        },
        uid_size: v.readUInt16LE(164),
        user_id: arr(v.subarray(166, 420)),
        sid: arr(v.subarray(420, 436)),
        reserved2: arr(v.subarray(436, 1044)),
      },
    },
    sigs: [slot(1044), slot(1564)],
  };
}

/** A TCG crypto-agile event log with SM3 digests (Spec ID header, then EV_IPL events). */
export function buildSm3EventLog(events: { mr: number; data: string }[]): Uint8Array {
  const spec = Buffer.concat([
    Buffer.from("Spec ID Event03\0", "latin1"),
    u32(0),
    Buffer.from([0, 2, 0, 2]),
    u32(1),
    u16(0x0012),
    u16(32),
    Buffer.from([0]),
  ]);
  const parts = [u32(0), u32(3), Buffer.alloc(20), u32(spec.length), spec];
  for (const e of events) {
    const data = Buffer.from(e.data);
    parts.push(
      u32(e.mr),
      u32(0x0d),
      u32(1),
      u16(0x0012),
      createHash("sm3").update(data).digest(),
      u32(data.length),
      data,
    );
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** The register values an SM3 event log replays to, per MR index (0 when no event). */
export function replaySm3(events: { mr: number; data: string }[], mr: number): Buffer {
  let v = Buffer.alloc(32);
  for (const e of events) {
    if (e.mr !== mr) continue;
    v = createHash("sm3").update(v).update(createHash("sm3").update(e.data).digest()).digest();
  }
  return v;
}
