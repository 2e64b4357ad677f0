/**
 * JWS primitives for `io.jwt.*`: key material from PEM (certificate or SPKI public key) or
 * JWK / JWK sets, and synchronous sign/verify for the RFC 7518 algorithms through
 * node:crypto (builtins run synchronously, so jose's WebCrypto API cannot serve here).
 * Error texts follow OPA's (jwx-based) ones where the conformance suite checks them.
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  timingSafeEqual,
  X509Certificate,
} from "node:crypto";
import { Base64Error, base64Decode, RAW_URL, utf8 } from "./gobase64.js";

/** The algorithms OPA knows (`tokenAlgorithms`). */
export const JWS_ALGORITHMS = new Set([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "HS256",
  "HS384",
  "HS512",
  "EdDSA",
]);

/** Public or private key, or an HMAC secret (`kty: oct`). */
export type JwsKey = KeyObject | Uint8Array;

/** A verification key with the JWK's optional `alg` and `kid`. */
export interface VerificationKey {
  readonly key: JwsKey;
  readonly alg: string;
  readonly kid: string;
}

/** Key material that could not be used; `message` is the OPA-facing text. */
export class KeyMaterialError extends Error {}

/** One PEM block as Go's `pem.Decode` finds it: type, DER bytes, and what follows. */
export function decodePem(
  text: string,
): { type: string; der: Uint8Array; rest: string } | undefined {
  // A linear scan (a backtracking regex was quadratic on many BEGIN lines without an END):
  // each block type's END marker is searched once, and at most 64 distinct types are tried.
  const ends = new Map<string, number>();
  let from = 0;
  for (;;) {
    const b = text.indexOf("-----BEGIN ", from);
    if (b < 0) return undefined;
    from = b + 11;
    if (b > 0 && text[b - 1] !== "\n") continue;
    const nl = text.indexOf("\n", b);
    const head = text.slice(b + 11, nl < 0 ? text.length : nl).replace(/[ \t\r]+$/, "");
    if (nl < 0 || !head.endsWith("-----") || head.length <= 5 || head.slice(0, -5).includes("-"))
      continue;
    const type = head.slice(0, -5);
    const bodyStart = nl + 1;
    const marker = `\n-----END ${type}-----`;
    let e = ends.get(type);
    if (e === undefined || (e >= 0 && e < nl)) {
      if (!ends.has(type) && ends.size >= 64) return undefined;
      e = text.indexOf(marker, nl);
      ends.set(type, e);
    }
    if (e < 0) continue;
    const afterEnd = e + marker.length;
    const lineEnd = text.indexOf("\n", afterEnd);
    const tail = text.slice(afterEnd, lineEnd < 0 ? text.length : lineEnd);
    if (!/^[ \t\r]*$/.test(tail)) continue;
    const rest = lineEnd < 0 ? "" : text.slice(lineEnd + 1);
    // Header lines ("Proc-Type: ...") end at a blank line; the body is base64 with line breaks.
    let body = text.slice(bodyStart, e);
    if (/^[A-Za-z-]+:/.test(body))
      body = body
        .split(/\r?\n\r?\n/)
        .slice(1)
        .join("\n");
    const b64 = body.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) continue;
    return { type, der: Buffer.from(b64, "base64"), rest };
  }
}

function b64url(field: string, s: unknown): Uint8Array {
  if (typeof s !== "string") throw new KeyMaterialError(`invalid JWK: ${field} must be a string`);
  try {
    return base64Decode(RAW_URL, utf8(s.replace(/=+$/, "")));
  } catch (e) {
    if (e instanceof Base64Error) throw new KeyMaterialError(`invalid JWK: ${field}: ${e.message}`);
    throw e;
  }
}

/** Imports one JWK object (public, private or `oct`). */
export function importJwk(jwk: Record<string, unknown>, forSigning: boolean): VerificationKey {
  const alg = typeof jwk.alg === "string" ? jwk.alg : "";
  const kid = typeof jwk.kid === "string" ? jwk.kid : "";
  const kty = jwk.kty;
  if (kty === "oct") return { key: b64url("k", jwk.k), alg, kid };
  if (kty !== "RSA" && kty !== "EC" && kty !== "OKP") {
    throw new KeyMaterialError(`invalid key type from JSON (${String(kty)})`);
  }
  try {
    const input = { key: jwk as import("node:crypto").JsonWebKey, format: "jwk" as const };
    const key =
      forSigning && jwk.d !== undefined ? createPrivateKey(input) : createPublicKey(input);
    return { key, alg, kid };
  } catch (e) {
    throw new KeyMaterialError(`failed to import ${kty} key: ${(e as Error).message}`);
  }
}

/** Parses a JWK or a JWK set (`{"keys": [...]}`) from JSON text. */
export function parseJwkSet(text: string, forSigning: boolean): VerificationKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KeyMaterialError(`failed to unmarshal JWK: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new KeyMaterialError("failed to unmarshal JWK: not an object");
  }
  const o = doc as Record<string, unknown>;
  if (Array.isArray(o.keys)) {
    return o.keys.map((k) => {
      if (k === null || typeof k !== "object") throw new KeyMaterialError("invalid JWK in set");
      return importJwk(k as Record<string, unknown>, forSigning);
    });
  }
  return [importJwk(o, forSigning)];
}

/** OPA's `getKeysFromCertOrJWK`: a PEM certificate or public key, else a JWK (set). */
export function keysFromCertOrJwk(text: string): VerificationKey[] {
  const block = decodePem(text);
  if (block) {
    if (block.rest.length > 0)
      throw new KeyMaterialError("extra data after a PEM certificate block");
    if (block.type === "CERTIFICATE") {
      try {
        return [{ key: new X509Certificate(block.der).publicKey, alg: "", kid: "" }];
      } catch {
        throw new KeyMaterialError(
          "failed to parse a PEM certificate: x509: malformed certificate",
        );
      }
    }
    if (block.type === "PUBLIC KEY") {
      try {
        return [
          {
            key: createPublicKey({ key: Buffer.from(block.der), format: "der", type: "spki" }),
            alg: "",
            kid: "",
          },
        ];
      } catch (e) {
        throw new KeyMaterialError(`failed to parse a PEM public key: ${(e as Error).message}`);
      }
    }
    throw new KeyMaterialError("failed to extract a Key from the PEM certificate");
  }
  try {
    return parseJwkSet(text, false);
  } catch (e) {
    throw new KeyMaterialError(`failed to parse a JWK key (set): ${(e as Error).message}`);
  }
}

const HASH: Record<string, string> = { "256": "sha256", "384": "sha384", "512": "sha512" };

function hashOf(alg: string): string {
  return HASH[alg.slice(2)] ?? "sha256";
}

/**
 * Verifies `sig` over `data` with `alg` (jwsbb.Verify): false when the key type does not
 * fit the algorithm or the signature is malformed, never an exception.
 */
export function jwsVerify(key: JwsKey, alg: string, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    const family = alg.slice(0, 2);
    if (family === "HS") {
      if (!(key instanceof Uint8Array)) return false;
      const mac = createHmac(hashOf(alg), key).update(data).digest();
      return mac.length === sig.length && timingSafeEqual(mac, sig);
    }
    if (key instanceof Uint8Array) return false;
    const pub = key.type === "private" ? createPublicKey(key) : key;
    if (alg === "EdDSA")
      return pub.asymmetricKeyType === "ed25519" && nodeVerify(null, data, pub, sig);
    if (family === "RS" || family === "PS") {
      if (pub.asymmetricKeyType !== "rsa") return false;
      return nodeVerify(
        hashOf(alg),
        data,
        {
          key: pub,
          padding: family === "PS" ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_AUTO,
        },
        sig,
      );
    }
    if (family === "ES") {
      if (pub.asymmetricKeyType !== "ec") return false;
      return nodeVerify(hashOf(alg), data, { key: pub, dsaEncoding: "ieee-p1363" }, sig);
    }
    return false;
  } catch {
    return false;
  }
}

/** Signs `data` with `alg` (jwsbb.Sign); throws KeyMaterialError when the key cannot. */
export function jwsSign(key: JwsKey, alg: string, data: Uint8Array): Uint8Array {
  const family = alg.slice(0, 2);
  if (family === "HS") {
    if (!(key instanceof Uint8Array))
      throw new KeyMaterialError(`invalid key for ${alg}: want an oct key`);
    return createHmac(hashOf(alg), key).update(data).digest();
  }
  if (key instanceof Uint8Array || key.type !== "private") {
    throw new KeyMaterialError(`invalid key for ${alg}: want a private key`);
  }
  try {
    if (alg === "EdDSA") return nodeSign(null, data, key);
    if (family === "RS" || family === "PS") {
      return nodeSign(hashOf(alg), data, {
        key,
        padding: family === "PS" ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
    }
    return nodeSign(hashOf(alg), data, { key, dsaEncoding: "ieee-p1363" });
  } catch (e) {
    throw new KeyMaterialError(`failed to sign with ${alg}: ${(e as Error).message}`);
  }
}
