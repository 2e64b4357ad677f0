/**
 * JWE to and from the TEE key, in the flattened JSON form KBS returns resources in
 * (kbs/src/jwe/mod.rs): content always A256GCM, key management ECDH-ES+A256KW (P-256/P-521)
 * or RSA-OAEP-256. Decryption (untrusted input) is done by `jose`; encryption, our own output,
 * by synchronous node:crypto in `jose-sync.ts` (a measured exception, see docs/trustee.md).
 */
import { createPublicKey, ECDH, generateKeyPairSync, type KeyObject } from "node:crypto";
import { CryptoError } from "./errors.js";
import { flattenedDecrypt } from "./jose.js";
import { createJweEncryptor, encryptJweSync, type JweRecipientKey } from "./jose-sync.js";

/** An EC TEE public key as guest-components exports it. */
export interface TeeEcJwk {
  kty: "EC";
  crv: "P-256" | "P-521";
  alg: "ECDH-ES+A256KW";
  x: string;
  y: string;
}

/** An RSA TEE public key as guest-components exports it. */
export interface TeeRsaJwk {
  kty: "RSA";
  alg: "RSA-OAEP-256" | "RSA1_5";
  n: string;
  e: string;
}

/** The `tee-pubkey` the client sends in runtime data. */
export type TeePublicJwk = TeeEcJwk | TeeRsaJwk;

/** KBS `Response`: a flattened JWE, binary members base64url without padding. */
export interface FlattenedJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad?: string;
}

/** Key kinds a TEE key pair can be generated as. */
export type TeeKeyKind = "ec-p256" | "ec-p521" | "rsa";

const COORD_LEN = { "P-256": 32, "P-521": 66 } as const;
const B64URL = /^[A-Za-z0-9_-]*$/;

function b64urlLen(s: string): number {
  return Buffer.from(s, "base64url").length;
}

/** Checks the shape of a TEE key (algorithm, curve, coordinate sizes) without importing it. */
function checkTeeJwkShape(jwk: TeePublicJwk): void {
  const bad = (why: string): never => {
    throw new CryptoError("ERR_CRYPTO_TEE_KEY", `tee-pubkey: ${why}`);
  };
  if (jwk.kty === "EC") {
    if (jwk.alg !== "ECDH-ES+A256KW") bad(`EC key alg must be ECDH-ES+A256KW`);
    if (jwk.crv !== "P-256" && jwk.crv !== "P-521") bad(`EC curve must be P-256 or P-521`);
    const want = COORD_LEN[jwk.crv];
    for (const c of ["x", "y"] as const) {
      const v = jwk[c];
      if (typeof v !== "string" || !B64URL.test(v) || b64urlLen(v) !== want) {
        bad(`EC coordinate ${c} must be ${want} bytes of base64url`);
      }
    }
  } else if (jwk.kty === "RSA") {
    if (jwk.alg === "RSA1_5") {
      bad("RSA1_5 is deprecated upstream and not supported here; use RSA-OAEP-256");
    }
    if (jwk.alg !== "RSA-OAEP-256") bad("RSA key alg must be RSA-OAEP-256");
    for (const c of ["n", "e"] as const) {
      const v = jwk[c];
      if (typeof v !== "string" || v.length === 0 || !B64URL.test(v))
        bad(`RSA ${c} is not base64url`);
    }
    const bits = b64urlLen(jwk.n) * 8;
    if (bits < 2048 || bits > 8192) bad("RSA modulus must be 2048 to 8192 bits");
  } else {
    bad("kty must be EC or RSA");
  }
}

/** EC points already found on their curve (a guest reuses its TEE key); bounded. */
const validPoints = new Set<string>();
const VALID_POINTS_MAX = 4096;
const CURVE_NAME = { "P-256": "prime256v1", "P-521": "secp521r1" } as const;

/**
 * Checks that KBS can encrypt to `jwk` (ERR_CRYPTO_TEE_KEY naming what is wrong if not): the
 * shape of {@link importTeePublicKey}, and for EC a point on its curve (checked with
 * `ECDH.convertKey`, about five times cheaper than importing the key), for RSA an importable key.
 */
export function checkTeePublicKey(jwk: TeePublicJwk): void {
  checkTeeJwkShape(jwk);
  if (jwk.kty === "RSA") {
    importTeePublicKey(jwk);
    return;
  }
  const id = `${jwk.crv}.${jwk.x}.${jwk.y}`;
  if (validPoints.has(id)) return;
  try {
    ECDH.convertKey(
      Buffer.concat([
        Buffer.from([4]),
        Buffer.from(jwk.x, "base64url"),
        Buffer.from(jwk.y, "base64url"),
      ]),
      CURVE_NAME[jwk.crv],
      undefined,
      undefined,
      "compressed",
    );
  } catch (err) {
    throw new CryptoError("ERR_CRYPTO_TEE_KEY", "tee-pubkey: the EC point is not on the curve", {
      cause: err,
    });
  }
  if (validPoints.size >= VALID_POINTS_MAX) validPoints.clear();
  validPoints.add(id);
}

/**
 * Checks `jwk` is a TEE key KBS can encrypt to and imports it. Unsupported algorithms,
 * curves, wrong coordinate sizes or points off the curve are ERR_CRYPTO_TEE_KEY.
 */
export function importTeePublicKey(jwk: TeePublicJwk): KeyObject {
  checkTeeJwkShape(jwk);
  try {
    const { kty, crv, x, y, n, e } = jwk as unknown as Record<string, string>;
    return createPublicKey({
      key: (kty === "EC" ? { kty, crv, x, y } : { kty, n, e }) as never,
      format: "jwk",
    });
  } catch (err) {
    throw new CryptoError("ERR_CRYPTO_TEE_KEY", "tee-pubkey is not a valid public key", {
      cause: err,
    });
  }
}

/**
 * Encrypts `plaintext` to the TEE public key as upstream KBS does: random CEK, A256GCM with the
 * protected header as AAD, CEK wrapped with the key's algorithm. Done with synchronous
 * node:crypto (`jose-sync.ts`, cross-checked by `jose` in tests); an invalid key (a point off
 * the curve) is ERR_CRYPTO_TEE_KEY.
 */
export function encryptForTeeKeySync(jwk: TeePublicJwk, plaintext: Uint8Array): FlattenedJwe {
  return encryptChecked(jwk, plaintext, encryptJweSync);
}

/**
 * A TEE-key encryptor for a server answering the same guests repeatedly: as
 * {@link encryptForTeeKeySync}, with the next response's ECDH for guests seen before started
 * ahead, and with `offThread` the ephemeral keys and ECDH on libuv's thread pool
 * (`createJweEncryptor` in jose-sync.ts). Each response still gets a fresh ephemeral key.
 */
export function createTeeKeyEncryptor(opts: { offThread?: boolean } = {}): {
  encrypt(jwk: TeePublicJwk, plaintext: Uint8Array): Promise<FlattenedJwe>;
} {
  const e = createJweEncryptor(opts);
  return {
    async encrypt(jwk, plaintext) {
      checkTeeJwkShape(jwk);
      try {
        return await e.encrypt(jwk as JweRecipientKey, plaintext);
      } catch (err) {
        throw jweError(err);
      }
    },
  };
}

function encryptChecked(
  jwk: TeePublicJwk,
  plaintext: Uint8Array,
  encrypt: (key: JweRecipientKey, plaintext: Uint8Array) => FlattenedJwe,
): FlattenedJwe {
  checkTeeJwkShape(jwk);
  try {
    return encrypt(jwk as JweRecipientKey, plaintext);
  } catch (err) {
    throw jweError(err);
  }
}

/** node's error for an unusable key is ERR_CRYPTO_TEE_KEY; anything else ERR_CRYPTO_JWE_ENCRYPT. */
function jweError(err: unknown): CryptoError {
  const code = String((err as { code?: unknown }).code ?? "");
  if (/INVALID_PUBLIC_KEY|INVALID_JWK|ERR_OSSL|ERR_CRYPTO_INVALID/.test(code)) {
    return new CryptoError("ERR_CRYPTO_TEE_KEY", "tee-pubkey is not a valid public key", {
      cause: err,
    });
  }
  return new CryptoError("ERR_CRYPTO_JWE_ENCRYPT", "JWE encryption to the TEE key failed", {
    cause: err,
  });
}

/** {@link encryptForTeeKeySync} behind the asynchronous signature callers already use. */
export async function encryptForTeeKey(
  jwk: TeePublicJwk,
  plaintext: Uint8Array,
): Promise<FlattenedJwe> {
  return encryptForTeeKeySync(jwk, plaintext);
}

/**
 * Decrypts a KBS `Response` with the TEE private key (the guest side). Any tampering, a
 * foreign key or an unexpected algorithm is ERR_CRYPTO_JWE_DECRYPT.
 */
export async function decryptWithTeeKey(
  privateKey: KeyObject,
  jwe: FlattenedJwe,
): Promise<Uint8Array> {
  try {
    const { plaintext } = await flattenedDecrypt(
      {
        protected: jwe.protected,
        encrypted_key: jwe.encrypted_key,
        iv: jwe.iv,
        ciphertext: jwe.ciphertext,
        tag: jwe.tag,
        ...(jwe.aad !== undefined ? { aad: jwe.aad } : {}),
      },
      privateKey,
      {
        keyManagementAlgorithms: ["ECDH-ES+A256KW", "RSA-OAEP-256"],
        contentEncryptionAlgorithms: ["A256GCM"],
      },
    );
    return plaintext;
  } catch (err) {
    throw new CryptoError("ERR_CRYPTO_JWE_DECRYPT", "JWE could not be decrypted with the TEE key", {
      cause: err,
    });
  }
}

/**
 * Generates a TEE key pair and its public JWK in the exact shape guest-components sends
 * (`{"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x","y"}` or `{"kty":"RSA","alg":"RSA-OAEP-256","n","e"}`).
 */
export function generateTeeKeyPair(kind: TeeKeyKind = "ec-p256"): {
  publicJwk: TeePublicJwk;
  privateKey: KeyObject;
} {
  if (kind === "rsa") {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const j = publicKey.export({ format: "jwk" });
    return {
      publicJwk: { kty: "RSA", alg: "RSA-OAEP-256", n: j.n ?? "", e: j.e ?? "" },
      privateKey,
    };
  }
  const crv = kind === "ec-p521" ? "P-521" : "P-256";
  const { publicKey, privateKey } = generateKeyPairSync("ec", {
    namedCurve: kind === "ec-p521" ? "P-521" : "P-256",
  });
  const j = publicKey.export({ format: "jwk" });
  return {
    publicJwk: { kty: "EC", crv, alg: "ECDH-ES+A256KW", x: j.x ?? "", y: j.y ?? "" },
    privateKey,
  };
}
