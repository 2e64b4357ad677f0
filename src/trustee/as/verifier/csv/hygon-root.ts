/**
 * The Hygon Root Key (HRK) certificate, shipped in the product as upstream Trustee embeds it
 * (`deps/verifier/src/csv/hrk.cert`). Hygon publishes it at https://cert.hygon.cn/hrk; the same
 * 832 bytes are in Hygon's own csv-rs crate (`src/certs/builtin/hrk.cert`, "Certificate
 * provenance: <https://cert.hygon.cn/hrk>") and in Trustee. Its non-zero fields are written out
 * below and assembled into the csv-rs `ca::Certificate` layout; the result must have the pinned
 * SHA-256 and verify under its own key, checked when it is loaded, so an edit here cannot change
 * who is trusted without failing loudly.
 */
import { createHash } from "node:crypto";
import { toHex } from "../../../../tee/common/bytes.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import {
  CSV_CA_CERT_SIZE,
  CSV_USAGE,
  type CsvCaCert,
  parseCsvCaCert,
} from "../../../../tee/csv/index.js";
import { verifyCsvSignature } from "./chain.js";

/** SHA-256 of the 832-byte HRK certificate (csv-rs and Trustee ship identical bytes). */
export const HYGON_HRK_SHA256 = "296efa97580464aca0ab5eefe42199ee05862182508d1629f29cf4dc175b10cd";

/** The HRK's fields (byte arrays little-endian as stored, as in the certificate). */
const HRK = {
  version: 1,
  /** Key ID; the self-signed HRK's signer ID is the same. */
  kid: "3ae86a9701355cce333a589de21583d7",
  group: 3,
  x: "2df6c2921df2f52a501fcd85e73509c8753a5609db02d7f34cf1a4624de162be",
  y: "46b91eb4684d74384788beb9100c644a38954e16978b4f581570bb573a12ab3b",
  userId: "HYGON-SSD-HRK",
  r: "2965ffee8ce048a0cb8e0b3be6ceb758099433628df7e60847c8be40a4dab6b1",
  s: "50d76be34fbb2b857c56a351f323d581ab542549c6a1c9b546d3798ede21438e",
} as const;

/** Assembles the HRK certificate bytes from {@link HRK} (csv-rs `ca::Certificate` layout). */
export function hygonRootBytes(): Uint8Array {
  const b = Buffer.alloc(CSV_CA_CERT_SIZE);
  b.writeUInt32LE(HRK.version, 0x00);
  Buffer.from(HRK.kid, "hex").copy(b, 0x04); // kid
  Buffer.from(HRK.kid, "hex").copy(b, 0x14); // sid
  b.writeUInt32LE(CSV_USAGE.HRK, 0x24);
  b.writeUInt32LE(HRK.group, 0x40);
  Buffer.from(HRK.x, "hex").copy(b, 0x44);
  Buffer.from(HRK.y, "hex").copy(b, 0x8c);
  b.writeUInt16LE(HRK.userId.length, 0xd4);
  b.write(HRK.userId, 0xd6, "latin1");
  Buffer.from(HRK.r, "hex").copy(b, 0x240);
  Buffer.from(HRK.s, "hex").copy(b, 0x288);
  return new Uint8Array(b);
}

/**
 * Checks that `cert` is a usable Hygon root: usage HRK, signer ID = its own key ID, and a valid
 * self-signature (upstream: `(&hrk, &hrk).verify()`). Throws ERR_CERT_ROOT.
 */
export function assertHygonRoot(cert: CsvCaCert, what: string): void {
  if (cert.usage !== CSV_USAGE.HRK) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      `${what}: usage 0x${cert.usage.toString(16)} is not HRK`,
    );
  }
  if (!Buffer.from(cert.sid).equals(Buffer.from(cert.kid))) {
    throw new EvidenceError("ERR_CERT_ROOT", `${what}: signer ID differs from its key ID`);
  }
  if (!verifyCsvSignature(cert.key, cert.userId, cert.body, cert.signature)) {
    throw new EvidenceError("ERR_CERT_ROOT", `${what}: self-signature does not verify`);
  }
}

let shipped: CsvCaCert | undefined;

/** The shipped HRK, parsed, fingerprint-checked and self-signature-checked once. */
export function shippedHygonRoot(): CsvCaCert {
  if (shipped) return shipped;
  const bytes = hygonRootBytes();
  const fp = createHash("sha256").update(bytes).digest();
  if (toHex(fp) !== HYGON_HRK_SHA256) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      "the shipped Hygon HRK does not match its pinned SHA-256",
    );
  }
  const cert = parseCsvCaCert(bytes, "shipped HRK");
  assertHygonRoot(cert, "shipped HRK");
  shipped = cert;
  return cert;
}
