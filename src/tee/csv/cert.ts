/**
 * Hygon CSV certificates, binary layouts as Hygon's csv-rs crate defines them (`certs::ca` and
 * `certs::csv`, `#[repr(C)]` little-endian). Two kinds:
 *
 * - CA certificates (HRK, the Hygon root; HSK, the Hygon signing key): 832 bytes, one signature.
 * - CSV platform certificates (CEK, the chip endorsement key; PEK, the platform endorsement key;
 *   also OCA and PDH): 2084 bytes, two signature slots (a PEK is signed by the CEK and the OCA).
 *
 * Keys are SM2 points; coordinates are stored little-endian in 72-byte fields of which the first
 * 32 bytes are used. Signatures are SM2 (r, s), each a 72-byte little-endian integer, over the
 * certificate body with the issuer's user ID as the distinguishing identifier.
 */
import { ByteReader } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";

/** Size of a CA (HRK/HSK) certificate. */
export const CSV_CA_CERT_SIZE = 832;
/** Size of a CSV platform (CEK/PEK) certificate (also `TeeInfoSigner.pek_cert`). */
export const CSV_CERT_SIZE = 2084;
/** Bytes of a CA certificate covered by its signature (`Body`: preamble, key, user ID). */
export const CSV_CA_BODY_SIZE = 0x240;
/** Bytes of a CSV certificate covered by its signatures (`Body`: version and data). */
export const CSV_CERT_BODY_SIZE = 1044;
/** An ECC point or scalar field: 72 bytes little-endian, the first 32 used by SM2-256. */
export const ECC_FIELD_SIZE = 72;
/** `ecc::PubKey` (group id + x + y). */
export const ECC_PUBKEY_SIZE = 4 + 2 * ECC_FIELD_SIZE;
/** `ecdsa::Signature` (r + s). */
export const ECC_SIGNATURE_SIZE = 2 * ECC_FIELD_SIZE;
/** Capacity of a certificate's user-ID field. */
export const USER_ID_CAPACITY = 254;

/** Key usages (csv-rs `certs::Usage`). */
export const CSV_USAGE = {
  HRK: 0x0000,
  HSK: 0x0013,
  OCA: 0x1001,
  PEK: 0x1002,
  PDH: 0x1003,
  CEK: 0x1004,
} as const;

/** Signature algorithms (csv-rs `certs::Algorithm`): SM2 signing, SM2 key exchange. */
export const CSV_ALGO = { SM2_SA: 0x0004, SM2_DH: 0x0005 } as const;

/** The only curve: SM2-256 (csv-rs `Group::SM2_256`). */
export const CSV_GROUP_SM2_256 = 3;

/** An SM2 public key as stored: group id and the 32-byte coordinates, converted to big-endian. */
export interface CsvPublicKey {
  group: number;
  /** Big-endian affine x (32 bytes). */
  x: Uint8Array;
  /** Big-endian affine y (32 bytes). */
  y: Uint8Array;
  /** Non-zero bytes past the 32 used in either 72-byte field (such a key is refused). */
  padded: boolean;
}

/** An SM2 signature as stored. */
export interface CsvSignature {
  /** Big-endian r, s (32 bytes each). */
  r: Uint8Array;
  s: Uint8Array;
  /** r or s has non-zero bytes past the first 32 (the integer is ≥ 2^256, never valid). */
  oversized: boolean;
}

/** A parsed HRK/HSK certificate (csv-rs `ca::Certificate`). */
export interface CsvCaCert {
  bytes: Uint8Array;
  /** The signed bytes (0 .. 0x240). */
  body: Uint8Array;
  version: number;
  /** Key ID of this certificate's key. */
  kid: Uint8Array;
  /** Key ID of the key that signed it (= its issuer's kid; for the self-signed HRK, its own). */
  sid: Uint8Array;
  usage: number;
  key: CsvPublicKey;
  /** The user ID (distinguishing identifier for signatures made with this key). */
  userId: Uint8Array;
  signature: CsvSignature;
}

/** One signature slot of a CSV certificate. */
export interface CsvSignatureSlot {
  /** Usage of the signing key (CEK for a PEK's first slot, OCA for its second). */
  usage: number;
  algo: number;
  signature: CsvSignature;
}

/** A parsed CEK/PEK certificate (csv-rs `csv::Certificate`). */
export interface CsvCert {
  bytes: Uint8Array;
  /** The signed bytes (0 .. 1044). */
  body: Uint8Array;
  version: number;
  firmware: { major: number; minor: number };
  usage: number;
  algo: number;
  key: CsvPublicKey;
  userId: Uint8Array;
  sid: Uint8Array;
  sigs: [CsvSignatureSlot, CsvSignatureSlot];
}

function le32(field: Uint8Array): { be: Uint8Array; padded: boolean } {
  const be = new Uint8Array(32);
  for (let i = 0; i < 32; i++) be[31 - i] = field[i] ?? 0;
  return { be, padded: field.subarray(32).some((b) => b !== 0) };
}

function readKey(r: ByteReader, what: string): CsvPublicKey {
  const group = r.u32(`${what}.group`);
  const x = le32(r.take(ECC_FIELD_SIZE, `${what}.x`));
  const y = le32(r.take(ECC_FIELD_SIZE, `${what}.y`));
  return { group, x: x.be, y: y.be, padded: x.padded || y.padded };
}

/** Reads an `ecdsa::Signature` (r, s little-endian 72 bytes each). */
export function readSignature(r: ByteReader, what: string): CsvSignature {
  const rr = le32(r.take(ECC_FIELD_SIZE, `${what}.r`));
  const ss = le32(r.take(ECC_FIELD_SIZE, `${what}.s`));
  return { r: rr.be, s: ss.be, oversized: rr.padded || ss.padded };
}

function readUserId(r: ByteReader, what: string): Uint8Array {
  const size = r.u16(`${what}.uid_size`);
  const at = r.pos;
  const field = r.take(USER_ID_CAPACITY, `${what}.user_id`);
  if (size > USER_ID_CAPACITY) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      `${what}: uid_size ${size} exceeds the ${USER_ID_CAPACITY}-byte user_id field`,
      { offset: at - 2 },
    );
  }
  return field.subarray(0, size);
}

function exact(bytes: Uint8Array, size: number, what: string): void {
  if (bytes.length < size) {
    throw new EvidenceError(
      "ERR_EVIDENCE_TRUNCATED",
      `${what} is ${bytes.length} bytes, needs ${size}`,
      { offset: bytes.length },
    );
  }
  if (bytes.length > size) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `${what} is ${bytes.length} bytes, a certificate is ${size}`,
    );
  }
}

/** Parses an 832-byte HRK/HSK certificate (csv-rs `ca::Certificate`). */
export function parseCsvCaCert(bytes: Uint8Array, what = "CA certificate"): CsvCaCert {
  exact(bytes, CSV_CA_CERT_SIZE, what);
  const r = new ByteReader(bytes, what);
  const version = r.u32("ver");
  const kid = r.take(16, "kid");
  const sid = r.take(16, "sid");
  const usage = r.u32("usage");
  r.skip(24, "reserved");
  const key = readKey(r, "pubkey");
  const userId = readUserId(r, what);
  r.skip(108, "reserved");
  const signature = readSignature(r, "signature");
  return {
    bytes,
    body: bytes.subarray(0, CSV_CA_BODY_SIZE),
    version,
    kid,
    sid,
    usage,
    key,
    userId,
    signature,
  };
}

/** Parses a 2084-byte CEK/PEK certificate (csv-rs `csv::Certificate`). */
export function parseCsvCert(bytes: Uint8Array, what = "CSV certificate"): CsvCert {
  exact(bytes, CSV_CERT_SIZE, what);
  const r = new ByteReader(bytes, what);
  const version = r.u32("ver");
  const firmware = { major: r.u8("firmware.major"), minor: r.u8("firmware.minor") };
  r.skip(2, "reserved1");
  const usage = r.u32("pubkey.usage");
  const algo = r.u32("pubkey.algo");
  const key = readKey(r, "pubkey.key");
  const userId = readUserId(r, what);
  const sid = r.take(16, "sid");
  r.skip(608, "reserved2");
  const slot = (i: number): CsvSignatureSlot => {
    const u = r.u32(`sigs[${i}].usage`);
    const a = r.u32(`sigs[${i}].algo`);
    const signature = readSignature(r, `sigs[${i}].signature`);
    r.skip(368, `sigs[${i}]._reserved`);
    return { usage: u, algo: a, signature };
  };
  const sigs: [CsvSignatureSlot, CsvSignatureSlot] = [slot(0), slot(1)];
  return {
    bytes,
    body: bytes.subarray(0, CSV_CERT_BODY_SIZE),
    version,
    firmware,
    usage,
    algo,
    key,
    userId,
    sid,
    sigs,
  };
}
