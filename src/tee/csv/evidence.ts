/**
 * Upstream's Hygon CSV evidence JSON (Trustee deps/verifier/src/csv `CsvEvidence`, as
 * guest-components' CSV attester sends it): the serde form of csv-rs structures, every byte
 * array a JSON array of numbers:
 *
 * ```
 * {"attestation_report": {"magic": [16], "flags": u32, "data": [4096]},
 *  "cert_chain": {"hsk_cek"?: {"hsk": <ca::Certificate>, "cek": <csv::Certificate>},
 *                 "pek": <csv::Certificate>},
 *  "serial_number": [bytes], "cc_eventlog"?: "<std base64>"}
 * ```
 *
 * Certificates are turned back into their binary layout (`cert.ts`) before anything is checked,
 * as upstream's signature checks run over the re-encoded bodies.
 */
import { fromBase64 } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import { EVENTLOG_MAX_SIZE } from "../eventlog/ccel.js";
import {
  CSV_CA_CERT_SIZE,
  CSV_CERT_SIZE,
  type CsvCaCert,
  type CsvCert,
  parseCsvCaCert,
  parseCsvCert,
} from "./cert.js";
import { type CsvReport, parseCsvReport } from "./report.js";

/** Parsed CSV evidence. */
export interface CsvEvidence {
  report: CsvReport;
  pek: CsvCert;
  /** The chip's HSK and CEK when the attester included them. */
  hskCek?: { hsk: CsvCaCert; cek: CsvCert };
  /** The chip serial number (NULs trimmed), the key of the HSK/CEK lookup. Not signed. */
  serialNumber: string;
  ccEventlog?: Uint8Array;
}

/** A chip serial number usable as a path segment and URL query value. */
export const CSV_SERIAL_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** The HSK/CEK document Hygon's KDS serves (`/hsk_cek?snumber=`): HSK then CEK. */
export const CSV_HSK_CEK_SIZE = CSV_CA_CERT_SIZE + CSV_CERT_SIZE;

function bad(why: string): never {
  throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `CSV evidence: ${why}`);
}

function obj(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${at} must be an object`);
  return v as Record<string, unknown>;
}

/** Serde-JSON to bytes, field by field, in the struct's memory order. */
class Encoder {
  private readonly out: Uint8Array;
  private pos = 0;

  constructor(size: number) {
    this.out = new Uint8Array(size);
  }

  bytes(v: unknown, n: number, at: string): this {
    if (!Array.isArray(v) || v.length !== n) bad(`${at} must be an array of ${n} bytes`);
    for (let i = 0; i < n; i++) {
      const b = v[i];
      if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
        bad(`${at}[${i}] is not a byte`);
      }
      this.out[this.pos++] = b;
    }
    return this;
  }

  uint(v: unknown, size: 1 | 2 | 4, at: string): this {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** (8 * size)) {
      bad(`${at} must be an unsigned ${8 * size}-bit integer`);
    }
    for (let i = 0; i < size; i++) this.out[this.pos++] = (v >>> (8 * i)) & 0xff;
    return this;
  }

  done(what: string): Uint8Array {
    if (this.pos !== this.out.length) bad(`${what} encodes to ${this.pos} bytes`);
    return this.out;
  }
}

function pubkey(e: Encoder, v: unknown, at: string): void {
  const k = obj(v, at);
  e.uint(k.g, 4, `${at}.g`).bytes(k.x, 72, `${at}.x`).bytes(k.y, 72, `${at}.y`);
}

function signature(e: Encoder, v: unknown, at: string): void {
  const s = obj(v, at);
  e.bytes(s.r, 72, `${at}.r`).bytes(s.s, 72, `${at}.s`);
}

/** csv-rs `ca::Certificate` (serde JSON) → its 832 bytes. */
export function encodeCsvCaCertJson(v: unknown, at: string): Uint8Array {
  const c = obj(v, at);
  const body = obj(c.body, `${at}.body`);
  const pre = obj(body.preamble, `${at}.body.preamble`);
  const data = obj(pre.data, `${at}.body.preamble.data`);
  const e = new Encoder(CSV_CA_CERT_SIZE)
    .uint(pre.ver, 4, `${at}.body.preamble.ver`)
    .bytes(data.kid, 16, `${at}.body.preamble.data.kid`)
    .bytes(data.sid, 16, `${at}.body.preamble.data.sid`)
    .uint(data.usage, 4, `${at}.body.preamble.data.usage`)
    .bytes(data.reserved, 24, `${at}.body.preamble.data.reserved`);
  pubkey(e, body.pubkey, `${at}.body.pubkey`);
  e.uint(body.uid_size, 2, `${at}.body.uid_size`)
    .bytes(body.user_id, 254, `${at}.body.user_id`)
    .bytes(body.reserved, 108, `${at}.body.reserved`);
  signature(e, c.signature, `${at}.signature`);
  e.bytes(c._reserved, 112, `${at}._reserved`);
  return e.done(at);
}

/** csv-rs `csv::Certificate` (serde JSON) → its 2084 bytes. */
export function encodeCsvCertJson(v: unknown, at: string): Uint8Array {
  const c = obj(v, at);
  const body = obj(c.body, `${at}.body`);
  const data = obj(body.data, `${at}.body.data`);
  const fw = obj(data.firmware, `${at}.body.data.firmware`);
  const pk = obj(data.pubkey, `${at}.body.data.pubkey`);
  const e = new Encoder(CSV_CERT_SIZE)
    .uint(body.ver, 4, `${at}.body.ver`)
    .uint(fw.major, 1, `${at}.body.data.firmware.major`)
    .uint(fw.minor, 1, `${at}.body.data.firmware.minor`)
    .uint(data.reserved1, 2, `${at}.body.data.reserved1`)
    .uint(pk.usage, 4, `${at}.body.data.pubkey.usage`)
    .uint(pk.algo, 4, `${at}.body.data.pubkey.algo`);
  pubkey(e, pk.key, `${at}.body.data.pubkey.key`);
  e.uint(data.uid_size, 2, `${at}.body.data.uid_size`)
    .bytes(data.user_id, 254, `${at}.body.data.user_id`)
    .bytes(data.sid, 16, `${at}.body.data.sid`)
    .bytes(data.reserved2, 608, `${at}.body.data.reserved2`);
  if (!Array.isArray(c.sigs) || c.sigs.length !== 2) bad(`${at}.sigs must hold 2 signatures`);
  c.sigs.forEach((s: unknown, i: number) => {
    const sg = obj(s, `${at}.sigs[${i}]`);
    e.uint(sg.usage, 4, `${at}.sigs[${i}].usage`).uint(sg.algo, 4, `${at}.sigs[${i}].algo`);
    signature(e, sg.signature, `${at}.sigs[${i}].signature`);
    e.bytes(sg._reserved, 368, `${at}.sigs[${i}]._reserved`);
  });
  return e.done(at);
}

/**
 * The chip serial number from its bytes: UTF-8, trailing NULs trimmed (as upstream), and then
 * restricted to letters, digits, `_` and `-` because it names a file and a KDS query.
 */
export function csvSerialNumber(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const s = Buffer.from(bytes.subarray(0, end)).toString("latin1");
  if (!CSV_SERIAL_RE.test(s)) {
    bad("serial_number must be 1..64 letters, digits, '_' or '-' (then NUL padding)");
  }
  return s;
}

/** Parses the HSK ‖ CEK document (Hygon KDS, or `hsk_cek.cert` on disk). */
export function parseCsvHskCek(
  bytes: Uint8Array,
  what = "hsk_cek.cert",
): { hsk: CsvCaCert; cek: CsvCert } {
  if (bytes.length !== CSV_HSK_CEK_SIZE) {
    throw new EvidenceError(
      bytes.length < CSV_HSK_CEK_SIZE ? "ERR_EVIDENCE_TRUNCATED" : "ERR_EVIDENCE_OVERSIZE",
      `${what} is ${bytes.length} bytes; an HSK (${CSV_CA_CERT_SIZE}) followed by a CEK (${CSV_CERT_SIZE}) is ${CSV_HSK_CEK_SIZE}`,
    );
  }
  return {
    hsk: parseCsvCaCert(bytes.subarray(0, CSV_CA_CERT_SIZE), `${what} HSK`),
    cek: parseCsvCert(bytes.subarray(CSV_CA_CERT_SIZE), `${what} CEK`),
  };
}

/** Parses upstream's CSV evidence JSON. */
export function parseCsvEvidence(json: unknown): CsvEvidence {
  const o = obj(json, "evidence");
  const ar = obj(o.attestation_report, "attestation_report");
  const magic = new Encoder(16).bytes(ar.magic, 16, "attestation_report.magic").done("magic");
  const flags = new Encoder(4).uint(ar.flags, 4, "attestation_report.flags").done("flags");
  const data = new Encoder(4096).bytes(ar.data, 4096, "attestation_report.data").done("data");
  const report = parseCsvReport(magic, new DataView(flags.buffer).getUint32(0, true), data);
  const chain = obj(o.cert_chain, "cert_chain");
  const pek = parseCsvCert(encodeCsvCertJson(chain.pek, "cert_chain.pek"), "PEK certificate");
  let hskCek: CsvEvidence["hskCek"];
  if (chain.hsk_cek !== undefined && chain.hsk_cek !== null) {
    const hc = obj(chain.hsk_cek, "cert_chain.hsk_cek");
    hskCek = {
      hsk: parseCsvCaCert(encodeCsvCaCertJson(hc.hsk, "cert_chain.hsk_cek.hsk"), "HSK certificate"),
      cek: parseCsvCert(encodeCsvCertJson(hc.cek, "cert_chain.hsk_cek.cek"), "CEK certificate"),
    };
  }
  const sn = o.serial_number;
  if (!Array.isArray(sn) || sn.length === 0 || sn.length > 64) {
    bad("serial_number must be an array of 1..64 bytes");
  }
  const serialNumber = csvSerialNumber(
    new Encoder(sn.length).bytes(sn, sn.length, "serial_number").done("serial_number"),
  );
  let ccEventlog: Uint8Array | undefined;
  if (o.cc_eventlog !== undefined && o.cc_eventlog !== null) {
    if (typeof o.cc_eventlog !== "string") bad("cc_eventlog must be a base64 string");
    if (o.cc_eventlog.length > (EVENTLOG_MAX_SIZE * 4) / 3 + 4) {
      throw new EvidenceError(
        "ERR_EVIDENCE_OVERSIZE",
        `cc_eventlog must be base64 of at most ${EVENTLOG_MAX_SIZE} bytes`,
      );
    }
    ccEventlog = fromBase64(o.cc_eventlog, "cc_eventlog");
  }
  return {
    report,
    pek,
    ...(hskCek ? { hskCek } : {}),
    serialNumber,
    ...(ccEventlog ? { ccEventlog } : {}),
  };
}
