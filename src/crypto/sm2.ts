/**
 * SM2 signature verification with the signer's distinguishing identifier (GB/T 32918.2 §7,
 * ZA per §5.5), the one operation Hygon CSV attestation needs. node:crypto reaches OpenSSL's SM2
 * but offers no way to set the distinguishing ID (OpenSSL's `distid`), and Hygon's certificates
 * sign with IDs such as "HYGON-SSD-PEK", so this wraps `sm-crypto-v2` (SM2 on `@noble/curves`).
 * The only file that imports it.
 */
import { sm2 } from "sm-crypto-v2";

/** The SM2 curve order n (GB/T 32918.5, recommended 256-bit curve). */
const SM2_N = BigInt("0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123");

/** An SM2 public key: affine coordinates, 32 bytes each, big-endian. */
export interface Sm2PublicKey {
  x: Uint8Array;
  y: Uint8Array;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** True when `id` is printable ASCII (every distinguishing ID Hygon uses is). */
export function isPrintableAsciiId(id: Uint8Array): boolean {
  return id.length <= 0x1fff && id.every((c) => c >= 0x20 && c <= 0x7e);
}

/**
 * Verifies an SM2 signature (r, s as 32-byte big-endian integers) over `message` with SM3,
 * ZA computed from `userId`. Returns false for any malformed input (a point off the curve,
 * r or s outside [1, n-1], a non-ASCII ID) instead of throwing.
 */
export function verifySm2(
  key: Sm2PublicKey,
  userId: Uint8Array,
  message: Uint8Array,
  r: Uint8Array,
  s: Uint8Array,
): boolean {
  if (key.x.length !== 32 || key.y.length !== 32 || r.length !== 32 || s.length !== 32) {
    return false;
  }
  // The library takes the ID as a string it UTF-8 encodes; printable ASCII is unchanged by that.
  if (!isPrintableAsciiId(userId)) return false;
  const rn = BigInt(`0x${hex(r)}`);
  const sn = BigInt(`0x${hex(s)}`);
  if (rn < 1n || rn >= SM2_N || sn < 1n || sn >= SM2_N) return false;
  try {
    return sm2.doVerifySignature(message, hex(r) + hex(s), `04${hex(key.x)}${hex(key.y)}`, {
      hash: true,
      userId: Buffer.from(userId).toString("latin1"),
    });
  } catch {
    // Not a point on the curve, or any other malformed input.
    return false;
  }
}
