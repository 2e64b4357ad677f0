/**
 * The NVIDIA device certificate chain: leaf (the GPU's attestation/signing certificate) first,
 * NVIDIA's Device Identity CA last. The root is pinned by fingerprint; the leaf's DICE TcbInfo
 * extension carries the firmware ID the report must state.
 */
import { createHash, type X509Certificate } from "node:crypto";
import { x509 } from "../../../../crypto/x509.js";
import { toHex } from "../../../../tee/common/bytes.js";
import {
  assertIssuedBy,
  type Clock,
  commonName,
  parsePemBundle,
} from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";

/**
 * SHA-256 of the DER of "NVIDIA Device Identity CA" (O=NVIDIA, self-signed P-384, valid
 * 2021-11-05..9999-12-31), the root upstream Trustee embeds as `nvidia_device_root.pem`.
 */
export const NVIDIA_DEVICE_ROOT_SHA256 =
  "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48";

/** TCG DICE TcbInfo extension; upstream reads the FWID as its last 48 bytes. */
export const DICE_TCB_INFO_OID = "2.23.133.5.4.1";

const fwids = new WeakMap<X509Certificate, string>();

/** The firmware ID (hex) of a GPU signing certificate: the last 48 bytes of its TcbInfo extension. */
export function fwidOf(cert: X509Certificate): string {
  const hit = fwids.get(cert);
  if (hit) return hit;
  let ext: x509.Extension | null;
  try {
    const c = new x509.X509Certificate(new Uint8Array(cert.raw));
    void c.extensions;
    ext = c.getExtension(DICE_TCB_INFO_OID);
  } catch (cause) {
    throw new EvidenceError("ERR_CERT_PARSE", `${commonName(cert)} cannot be parsed`, { cause });
  }
  if (!ext) {
    throw new EvidenceError(
      "ERR_CERT_EXTENSION",
      "FwId oid not found in the NVIDIA signing certificate",
    );
  }
  const v = new Uint8Array(ext.value);
  if (v.length < 48)
    throw new EvidenceError(
      "ERR_CERT_EXTENSION",
      "NVIDIA TcbInfo extension is shorter than a 48-byte FWID",
    );
  const fwid = toHex(v.subarray(v.length - 48));
  fwids.set(cert, fwid);
  return fwid;
}

/**
 * Checks a device chain for a report stating `expectedFwid`, in upstream's order (so each of
 * its four fixture cases fails where upstream's does): at least leaf + root (`ERR_CERT_MISSING`),
 * root = the pinned NVIDIA root (`ERR_CERT_ROOT`), leaf FWID present (`ERR_CERT_EXTENSION`) and
 * equal to the report's (`ERR_KEY_BINDING`), each certificate signed by the next and valid now
 * (`ERR_CERT_CHAIN`, `ERR_CERT_EXPIRED`). Returns the leaf.
 */
export function verifyNvidiaChain(
  pem: string,
  expectedFwid: string | undefined,
  clock: Clock,
  rootSha256: string = NVIDIA_DEVICE_ROOT_SHA256,
): X509Certificate {
  // A device presents the same chain on every attestation: once its signatures are checked,
  // only the FWID and the validity window are checked again.
  const key = `${rootSha256}\n${pem}`;
  const hit = verified.get(key);
  if (hit) {
    if (expectedFwid !== undefined && hit.fwid !== expectedFwid.toLowerCase()) {
      throw new EvidenceError(
        "ERR_KEY_BINDING",
        "the signing certificate's FWID is not the FWID the report states",
      );
    }
    const now = clock().getTime();
    if (now >= hit.from && now <= hit.to) return hit.leaf;
  }
  const { leaf, certs } = checkChain(pem, expectedFwid, clock, rootSha256);
  if (verified.size >= VERIFIED_MAX) verified.clear();
  verified.set(key, {
    leaf,
    fwid: fwidOf(leaf),
    from: Math.max(...certs.map((c) => new Date(c.validFrom).getTime())),
    to: Math.min(...certs.map((c) => new Date(c.validTo).getTime())),
  });
  return leaf;
}

const VERIFIED_MAX = 256;
const verified = new Map<
  string,
  { leaf: X509Certificate; fwid: string; from: number; to: number }
>();

function checkChain(
  pem: string,
  expectedFwid: string | undefined,
  clock: Clock,
  rootSha256: string,
): { leaf: X509Certificate; certs: X509Certificate[] } {
  const certs = parsePemBundle(pem, "NVIDIA certificate chain");
  if (certs.length < 2) {
    throw new EvidenceError(
      "ERR_CERT_MISSING",
      "Certificate chain must have at least the root CA and signing certificates",
    );
  }
  const root = certs[certs.length - 1] as X509Certificate;
  if (createHash("sha256").update(root.raw).digest("hex") !== rootSha256) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      `Root CA in the certificate chain (${commonName(root)}) is not NVIDIA's pinned device root`,
    );
  }
  const leaf = certs[0] as X509Certificate;
  const fwid = fwidOf(leaf);
  if (expectedFwid !== undefined && fwid !== expectedFwid.toLowerCase()) {
    throw new EvidenceError(
      "ERR_KEY_BINDING",
      "the signing certificate's FWID is not the FWID the report states",
    );
  }
  const now = clock();
  for (let i = 0; i < certs.length - 1; i++) {
    assertIssuedBy(
      certs[i] as X509Certificate,
      certs[i + 1] as X509Certificate,
      now,
      `NVIDIA chain certificate ${i}`,
    );
  }
  assertIssuedBy(root, root, now, "NVIDIA device root");
  return { leaf, certs };
}
