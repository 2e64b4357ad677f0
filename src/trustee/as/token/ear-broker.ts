/**
 * The EAR token broker (attestation-service/src/ear_token/broker.rs): signs the attestation
 * result as an ES256 JWT whose header carries the signing JWK (and `x5c` when a certificate
 * chain is configured), and publishes that key as a JWKS. Signing is node:crypto, inline or on
 * libuv's thread pool (`crypto/jose-sync.ts`); tests verify the tokens with `jose`.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { readFileSync } from "node:fs";
import type { JWK } from "../../../crypto/jose.js";
import { createEs256AsyncSigner, createEs256Signer } from "../../../crypto/jose-sync.js";
import { EAR_PROFILE, type EarClaims, type EarSubmod } from "../../../protocol/ear/claims.js";
import { AttestationServiceError } from "../errors.js";

/** Broker settings (upstream `[attestation_service.attestation_token_broker]`). */
export interface EarBrokerConfig {
  durationMin?: number;
  issuerName?: string;
  developerName?: string;
  buildName?: string;
  profileName?: string;
  /** P-256 private key PEM path; without it an ephemeral key is made per process. */
  signerKeyPath?: string;
  /** The signing key itself (worker processes receive the primary's ephemeral key). */
  signerKeyPem?: string;
  /** PEM certificate chain (leaf first) put in the header JWK as `x5c`. */
  signerCertPath?: string;
  /** URL put in the header JWK as `x5u`. */
  signerCertUrl?: string;
  /** Keep `additional-evidence` in runtime_data_claims (upstream default true). */
  verboseToken?: boolean;
  /**
   * Sign on libuv's thread pool instead of the event loop (default false): for a process with
   * cores to spare (see `cryptoOffThread` in trustee.ts).
   */
  signOffThread?: boolean;
}

/** A signed token and the claims it carries. */
export interface SignedEar {
  token: string;
  claims: EarClaims;
}

/** The EAR broker. */
export interface EarBroker {
  /** The public signing JWK (kty, crv, alg, x, y[, x5c][, x5u]). */
  readonly jwk: JWK;
  /** The public key, for verifying our own tokens. */
  readonly publicKey: KeyObject;
  readonly verboseToken: boolean;
  sign(submods: Record<string, EarSubmod>, now?: Date): Promise<SignedEar>;
  jwks(): { keys: JWK[] };
}

function loadSigner(cfg: EarBrokerConfig): KeyObject {
  if (cfg.signerKeyPem !== undefined) return checkSigner(createPrivateKey(cfg.signerKeyPem));
  if (cfg.signerKeyPath === undefined) {
    return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(cfg.signerKeyPath));
  } catch (err) {
    throw new AttestationServiceError(
      "ERR_AS_TOKEN",
      `token signer key ${cfg.signerKeyPath} cannot be read as a PEM private key`,
      { cause: err },
    );
  }
  return checkSigner(key);
}

function checkSigner(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new AttestationServiceError("ERR_AS_TOKEN", "token signer key must be EC P-256 (ES256)");
  }
  return key;
}

function loadChain(path: string): string[] {
  const pem = readFileSync(path, "utf8");
  const out: string[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push((m[1] ?? "").replace(/\s+/g, ""));
  }
  if (out.length === 0) {
    throw new AttestationServiceError("ERR_AS_TOKEN", `no certificate in ${path}`);
  }
  return out;
}

/** Creates the broker, loading or generating its P-256 key. */
export function createEarBroker(cfg: EarBrokerConfig = {}): EarBroker {
  const privateKey = loadSigner(cfg);
  const publicKey = createPublicKey(privateKey);
  const pub = publicKey.export({ format: "jwk" });
  const jwk: JWK = { kty: "EC", crv: "P-256", alg: "ES256", x: pub.x, y: pub.y };
  if (cfg.signerCertUrl !== undefined) jwk.x5u = cfg.signerCertUrl;
  if (cfg.signerCertPath !== undefined) jwk.x5c = loadChain(cfg.signerCertPath);
  const durationS = Math.round((cfg.durationMin ?? 5) * 60);
  const header = { typ: "JWT", alg: "ES256", jwk };
  // ES256 with node:crypto, inline or on the thread pool (our own output; `jose` verifies it in
  // the tests).
  const signCompact = cfg.signOffThread
    ? createEs256AsyncSigner(privateKey, header)
    : createEs256Signer(privateKey, header);
  return {
    jwk,
    publicKey,
    verboseToken: cfg.verboseToken ?? true,
    async sign(submods, now = new Date()) {
      const iat = Math.floor(now.getTime() / 1000);
      const claims: EarClaims = {
        eat_profile: cfg.profileName ?? EAR_PROFILE,
        iat,
        "ear.verifier-id": {
          developer: cfg.developerName ?? "https://confidentialcontainers.org",
          build: cfg.buildName ?? "attestation-service 0.1.0",
        },
        submods,
        exp: iat + durationS,
        iss: cfg.issuerName ?? "CoCo-Attestation-Service",
      };
      try {
        const token = await signCompact(Buffer.from(JSON.stringify(claims)));
        return { token, claims };
      } catch (err) {
        throw new AttestationServiceError("ERR_AS_TOKEN", "signing the EAR token failed", {
          cause: err,
        });
      }
    },
    jwks() {
      return { keys: [jwk] };
    },
  };
}
