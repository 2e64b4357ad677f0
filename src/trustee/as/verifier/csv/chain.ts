/**
 * Hygon's certificate chain HRK → HSK → CEK → PEK, checked the way csv-rs's `Verifiable`
 * implementations do (upstream Trustee calls them in this order): each link is an SM2 signature
 * over the child's body with the issuer's user ID, made by a key whose usage (and, for CA
 * certificates, key ID) the signature names. We also require each certificate's own usage to be
 * the one its place in the chain needs (csv-rs checks that only when decoding whole chains).
 */
import { createHash } from "node:crypto";
import { verifySm2 } from "../../../../crypto/sm2.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import {
  CSV_ALGO,
  CSV_GROUP_SM2_256,
  CSV_USAGE,
  type CsvCaCert,
  type CsvCert,
  type CsvPublicKey,
  type CsvSignature,
} from "../../../../tee/csv/index.js";

/** SM2 check of one signature; false for a key or signature that cannot be SM2-256 at all. */
export function verifyCsvSignature(
  key: CsvPublicKey,
  userId: Uint8Array,
  message: Uint8Array,
  sig: CsvSignature,
): boolean {
  if (key.group !== CSV_GROUP_SM2_256 || key.padded || sig.oversized) return false;
  return verifySm2(key, userId, message, sig.r, sig.s);
}

// Chain links verified before, by (issuer, child) certificate digests: a platform presents the
// same HSK/CEK/PEK on every attestation, and each SM2 verification costs milliseconds.
const verifiedLinks = new Set<string>();
const VERIFIED_LINKS_MAX = 4096;

function linkId(issuer: Uint8Array, child: Uint8Array): string {
  return createHash("sha256").update(issuer).update(child).digest("hex");
}

function cachedLink(issuer: Uint8Array, child: Uint8Array, check: () => boolean): boolean {
  const id = linkId(issuer, child);
  if (verifiedLinks.has(id)) return true;
  const ok = check();
  if (ok) {
    if (verifiedLinks.size >= VERIFIED_LINKS_MAX) verifiedLinks.clear();
    verifiedLinks.add(id);
  }
  return ok;
}

function chainError(msg: string): never {
  throw new EvidenceError("ERR_CERT_CHAIN", msg);
}

/** HSK under the HRK: usage HSK, signer ID = HRK key ID, SM2 signature with the HRK's ID. */
export function verifyHsk(hrk: CsvCaCert, hsk: CsvCaCert): void {
  if (hsk.usage !== CSV_USAGE.HSK) {
    chainError(`HSK certificate has usage 0x${hsk.usage.toString(16)}, not HSK (0x13)`);
  }
  if (!Buffer.from(hsk.sid).equals(Buffer.from(hrk.kid))) {
    chainError("HSK certificate's signer ID is not the HRK's key ID");
  }
  const ok = cachedLink(hrk.bytes, hsk.bytes, () =>
    verifyCsvSignature(hrk.key, hrk.userId, hsk.body, hsk.signature),
  );
  if (!ok) chainError("HSK certificate is not signed by the Hygon root (HRK)");
}

/**
 * One of `child`'s two signature slots made by `issuer` (slot usage = issuer usage, slot
 * algorithm = issuer algorithm, as csv-rs `PublicKey::verify` requires) must verify.
 */
function signedBySlot(
  issuer: { bytes: Uint8Array; key: CsvPublicKey; userId: Uint8Array },
  issuerUsage: number,
  issuerAlgo: number,
  child: CsvCert,
): boolean {
  return cachedLink(issuer.bytes, child.bytes, () =>
    child.sigs.some(
      (s) =>
        s.usage === issuerUsage &&
        s.algo === issuerAlgo &&
        verifyCsvSignature(issuer.key, issuer.userId, child.body, s.signature),
    ),
  );
}

/** CEK under the HSK. */
export function verifyCek(hsk: CsvCaCert, cek: CsvCert): void {
  if (cek.usage !== CSV_USAGE.CEK) {
    chainError(`CEK certificate has usage 0x${cek.usage.toString(16)}, not CEK (0x1004)`);
  }
  // csv-rs gives a CA certificate's key the algorithm SM2_SA.
  if (!signedBySlot(hsk, CSV_USAGE.HSK, CSV_ALGO.SM2_SA, cek)) {
    chainError("CEK certificate is not signed by the HSK");
  }
}

/** PEK under the CEK. */
export function verifyPek(cek: CsvCert, pek: CsvCert): void {
  if (pek.usage !== CSV_USAGE.PEK) {
    chainError(`PEK certificate has usage 0x${pek.usage.toString(16)}, not PEK (0x1002)`);
  }
  if (!signedBySlot(cek, cek.usage, cek.algo, pek)) {
    chainError("PEK certificate is not signed by the chip's CEK");
  }
}

/** The whole chain below a root already checked (`assertHygonRoot`). */
export function verifyCsvChain(hrk: CsvCaCert, hsk: CsvCaCert, cek: CsvCert, pek: CsvCert): void {
  verifyHsk(hrk, hsk);
  verifyCek(hsk, cek);
  verifyPek(cek, pek);
}
