import { type KeyObject, X509Certificate } from "node:crypto";
import { EvidenceError } from "./errors.js";

/** A source of the current time; injected so tests can verify against a fixed date. */
export type Clock = () => Date;

/** The system clock. */
export const systemClock: Clock = () => new Date();

const parsed = new Map<string, X509Certificate>();
const PARSED_CACHE_MAX = 512;

/**
 * Parses a DER or PEM certificate with node:crypto (OpenSSL), caching by content so a chain
 * seen again (the same VCEK, the same PCK chain) is not parsed twice.
 */
export function parseCertificate(data: Uint8Array | string, what: string): X509Certificate {
  const key = typeof data === "string" ? data : Buffer.from(data).toString("base64");
  const hit = parsed.get(key);
  if (hit) return hit;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(typeof data === "string" ? data : Buffer.from(data));
  } catch (cause) {
    throw new EvidenceError("ERR_CERT_PARSE", `${what} is not a valid X.509 certificate`, {
      cause,
    });
  }
  if (parsed.size >= PARSED_CACHE_MAX) parsed.clear();
  parsed.set(key, cert);
  return cert;
}

const keys = new WeakMap<X509Certificate, KeyObject>();

/** The certificate's public key, cached (node builds a new KeyObject on every `.publicKey`). */
export function publicKeyOf(cert: X509Certificate): KeyObject {
  let k = keys.get(cert);
  if (!k) {
    // OpenSSL parses the SubjectPublicKeyInfo only here: a certificate with a malformed key
    // (say, an EC point with a bad format byte) loads fine and fails on first use.
    try {
      k = cert.publicKey;
    } catch (cause) {
      throw new EvidenceError(
        "ERR_CERT_PARSE",
        `the public key of ${commonName(cert)} cannot be decoded`,
        { cause },
      );
    }
    keys.set(cert, k);
  }
  return k;
}

const verifiedBy = new WeakMap<X509Certificate, WeakSet<X509Certificate>>();

/** Splits a PEM bundle into certificates, in file order. */
export function parsePemBundle(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b, i) => parseCertificate(b, `${what} #${i}`));
}

/** The CN of a certificate subject, or "" when absent. */
export function commonName(cert: X509Certificate): string {
  for (const line of cert.subject.split("\n")) {
    if (line.startsWith("CN=")) return line.slice(3);
  }
  return "";
}

/** Throws ERR_CERT_EXPIRED when `now` is outside the certificate's validity period. */
export function assertValidAt(cert: X509Certificate, now: Date, what: string): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from || now > to) {
    throw new EvidenceError(
      "ERR_CERT_EXPIRED",
      `${what} (${commonName(cert)}) is valid ${from.toISOString()}..${to.toISOString()}, not at ${now.toISOString()}`,
    );
  }
}

/**
 * Checks that `child` is signed by `issuer`'s key and names it as issuer, and that both are
 * valid at `now`. Signature algorithms (ECDSA, RSA-PSS) are handled by OpenSSL.
 */
export function assertIssuedBy(
  child: X509Certificate,
  issuer: X509Certificate,
  now: Date,
  what: string,
): void {
  // Signature results are cached per (child, issuer) object pair: certificates are immutable
  // and parsed objects are themselves cached by content. Validity is re-checked every time.
  if (!verifiedBy.get(child)?.has(issuer)) {
    if (!child.checkIssued(issuer) || !child.verify(publicKeyOf(issuer))) {
      throw new EvidenceError(
        "ERR_CERT_CHAIN",
        `${what} (${commonName(child)}) is not signed by ${commonName(issuer)}`,
      );
    }
    let set = verifiedBy.get(child);
    if (!set) {
      set = new WeakSet();
      verifiedBy.set(child, set);
    }
    set.add(issuer);
  }
  assertValidAt(child, now, what);
  assertValidAt(issuer, now, `issuer of ${what}`);
}
