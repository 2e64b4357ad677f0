import {
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject,
  type X509Certificate,
} from "node:crypto";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import {
  assertIssuedBy,
  type Clock,
  commonName,
  parseCertificate,
  parsePemBundle,
  publicKeyOf,
  systemClock,
} from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import { sgxField } from "../../../../tee/sgx/body.js";
import { type PlatformInfo, parsePlatformInfo } from "../../../../tee/tdx/pck.js";
import type { DcapQuote } from "../../../../tee/tdx/quote.js";
import { INTEL_SGX_ROOT_CA_PEM } from "./intel-root.js";

const PCK_PLATFORM_CA = "Intel SGX PCK Platform CA";
const PCK_PROCESSOR_CA = "Intel SGX PCK Processor CA";

/** A verified PCK chain: the leaf key, which CA issued it, and the platform facts. */
export interface PckChain {
  leaf: X509Certificate;
  intermediate: X509Certificate;
  root: X509Certificate;
  isPlatformCa: boolean;
  platform: PlatformInfo;
  /** The window in which every certificate of the chain is valid. */
  notBefore: Date;
  notAfter: Date;
}

/** What DCAP verification established about a quote. */
export interface DcapResult {
  pck: PckChain;
}

let pinnedRoot: X509Certificate | null = null;

/** The pinned Intel SGX Root CA. */
export function intelRoot(): X509Certificate {
  pinnedRoot ??= parseCertificate(INTEL_SGX_ROOT_CA_PEM, "pinned Intel SGX Root CA");
  return pinnedRoot;
}

const chainCache = new Map<string, PckChain>();
const CHAIN_CACHE_MAX = 256;

function spki(cert: X509Certificate): Buffer {
  return publicKeyOf(cert).export({ format: "der", type: "spki" });
}

/**
 * Verifies a PCK chain (PEM, leaf → PCK Platform/Processor CA → root) against the pinned Intel
 * SGX Root CA at `now`. The chain's own root must carry the pinned root's key. Verified chains
 * are cached by their bytes; a cache hit re-checks only the validity window against `now`.
 */
export function verifyPckChain(pem: Uint8Array, now: Date, root = intelRoot()): PckChain {
  const text = Buffer.from(pem).toString("latin1");
  // The cache key binds the chain bytes to the trust anchor they were verified against.
  const key = `${root.fingerprint256}\n${text}`;
  let chain = chainCache.get(key);
  if (!chain) {
    const certs = parsePemBundle(text, "PCK chain");
    if (certs.length !== 3) {
      throw new EvidenceError(
        "ERR_CERT_CHAIN",
        `PCK chain has ${certs.length} certificates, expected 3`,
      );
    }
    const [leaf, intermediate, chainRoot] = certs as [
      X509Certificate,
      X509Certificate,
      X509Certificate,
    ];
    // The chain's root must be the pinned root, or (an older issue of it) carry the same key
    // and verify under it, so no byte of it goes unchecked.
    const sameRoot =
      Buffer.from(chainRoot.raw).equals(Buffer.from(root.raw)) ||
      (spki(chainRoot).equals(spki(root)) && chainRoot.verify(publicKeyOf(root)));
    if (!sameRoot) {
      throw new EvidenceError(
        "ERR_CERT_ROOT",
        `PCK chain ends in ${commonName(chainRoot)}, not the pinned Intel SGX Root CA`,
      );
    }
    const cn = commonName(intermediate);
    if (cn !== PCK_PLATFORM_CA && cn !== PCK_PROCESSOR_CA) {
      throw new EvidenceError(
        "ERR_CERT_CHAIN",
        `unexpected PCK intermediate CA ${JSON.stringify(cn)}`,
      );
    }
    // Signatures and names are checked at the creation time of the window; validity below.
    const all = [leaf, intermediate, root];
    const notBefore = new Date(Math.max(...all.map((c) => new Date(c.validFrom).getTime())));
    const notAfter = new Date(Math.min(...all.map((c) => new Date(c.validTo).getTime())));
    assertIssuedBy(intermediate, root, notBefore, "PCK CA");
    assertIssuedBy(leaf, intermediate, notBefore, "PCK certificate");
    chain = {
      leaf,
      intermediate,
      root,
      isPlatformCa: cn === PCK_PLATFORM_CA,
      platform: parsePlatformInfo(new Uint8Array(leaf.raw)),
      notBefore,
      notAfter,
    };
    if (chainCache.size >= CHAIN_CACHE_MAX) chainCache.clear();
    chainCache.set(key, chain);
  }
  if (now < chain.notBefore || now > chain.notAfter) {
    throw new EvidenceError(
      "ERR_CERT_EXPIRED",
      `PCK chain is valid ${chain.notBefore.toISOString()}..${chain.notAfter.toISOString()}, not at ${now.toISOString()}`,
    );
  }
  return chain;
}

const akCache = new Map<string, KeyObject>();

/** An uncompressed P-256 public key from the quote's raw x ‖ y (cached: keys repeat per QE). */
function p256Key(xy: Uint8Array): KeyObject {
  const id = Buffer.from(xy).toString("base64");
  const hit = akCache.get(id);
  if (hit) return hit;
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: Buffer.from(xy.subarray(0, 32)).toString("base64url"),
        y: Buffer.from(xy.subarray(32, 64)).toString("base64url"),
      },
      format: "jwk",
    });
  } catch (cause) {
    throw new EvidenceError("ERR_SIGNATURE", "quote attestation key is not a P-256 point", {
      cause,
    });
  }
  if (akCache.size >= 256) akCache.clear();
  akCache.set(id, key);
  return key;
}

function ecdsaP256(data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  try {
    return cryptoVerify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
}

/**
 * The DCAP signature checks, in Intel QVL's order: PCK chain to the pinned root; QE report
 * signed by the PCK key; QE report data = SHA-256(attestation key ‖ QE auth data) ‖ 0^32;
 * quote header and body signed by the attestation key. `root` is the pinned Intel root unless a
 * caller deliberately trusts another (Intel's pre-production root; tests).
 */
export function verifyDcapSignatures(
  q: DcapQuote,
  clock: Clock = systemClock,
  root: X509Certificate = intelRoot(),
): DcapResult {
  const pck = verifyPckChain(q.pckChainPem, clock(), root);
  if (!ecdsaP256(q.qeReport, publicKeyOf(pck.leaf), q.qeReportSignature)) {
    throw new EvidenceError(
      "ERR_QE_REPORT_SIGNATURE",
      "QE report signature does not verify with the PCK certificate key",
    );
  }
  const expected = new Uint8Array(64);
  expected.set(createHash("sha256").update(q.attestationKey).update(q.qeAuthData).digest());
  if (!constantTimeEqual(expected, sgxField(q.qeReport, "report_data"))) {
    throw new EvidenceError(
      "ERR_QE_REPORT_BINDING",
      "QE report data is not SHA-256(attestation key ‖ QE authentication data): the attestation key is not the QE's",
    );
  }
  if (!ecdsaP256(q.signedData, p256Key(q.attestationKey), q.signature)) {
    throw new EvidenceError(
      "ERR_SIGNATURE",
      "quote signature does not verify with the attestation key",
    );
  }
  return { pck };
}
