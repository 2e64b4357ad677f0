/**
 * OCI content digests (`<algorithm>:<hex>`): parsing, and incremental hashing for the
 * algorithms the image spec registers (sha256, sha512).
 */
import { createHash, type Hash } from "node:crypto";
import { OciError } from "./errors.js";

/** The digest algorithms we verify. */
export type DigestAlgorithm = "sha256" | "sha512";

/** A parsed, validated digest. */
export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Parses `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`; anything else throws. */
export function parseDigest(value: unknown): Digest {
  if (typeof value !== "string" || value.length > 200) {
    throw new OciError("ERR_OCI_DIGEST", "digest must be a string of the form <algorithm>:<hex>");
  }
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    throw new OciError(
      "ERR_OCI_DIGEST",
      `unsupported digest algorithm '${algorithm.slice(0, 20)}' (sha256 and sha512 are supported)`,
    );
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/.test(hex)) {
    throw new OciError(
      "ERR_OCI_DIGEST",
      `digest ${algorithm} must have ${HEX_LENGTH[algorithm]} lowercase hex characters`,
    );
  }
  return { algorithm, hex };
}

/** `sha256:<hex>` text of a digest. */
export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** The sha256 digest string of some bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** An incremental hasher that checks its result against an expected digest. */
export interface DigestVerifier {
  update(chunk: Uint8Array): void;
  /** Throws ERR_OCI_DIGEST_MISMATCH when the bytes seen do not hash to the expected digest. */
  verify(what: string): void;
  /** The digest of the bytes seen so far (call once, at the end). */
  digest(): string;
}

/** Creates a verifier for `expected` (already validated by {@link parseDigest}). */
export function createDigestVerifier(expected: string): DigestVerifier {
  const d = parseDigest(expected);
  const hash: Hash = createHash(d.algorithm);
  let result: string | undefined;
  const finish = () => {
    result ??= `${d.algorithm}:${hash.digest("hex")}`;
    return result;
  };
  return {
    update(chunk) {
      hash.update(chunk);
    },
    digest: finish,
    verify(what) {
      const got = finish();
      if (got !== expected) {
        throw new OciError(
          "ERR_OCI_DIGEST_MISMATCH",
          `${what}: content digest ${got} does not match the expected ${expected}`,
        );
      }
    },
  };
}
