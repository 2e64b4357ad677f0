/**
 * The RCAR (background-check) KBS client, protocol 0.4.0 (guest-components kbs_protocol):
 * auth → attest with evidence bound to a TEE key → token and session cookie → resource GETs
 * whose JWE answers are decrypted with the TEE key.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import {
  decryptWithTeeKey,
  generateTeeKeyPair,
  type TeeKeyKind,
  type TeePublicJwk,
} from "../../../crypto/jwe.js";
import {
  deviceRuntimeData,
  errorTypeName,
  hashAlgorithmFromChallenge,
  KBS_PROTOCOL_VERSION,
  type KbsAttestation,
  parseErrorInformation,
  parseJsonBytes,
  parseKbsAttestationResponse,
  parseKbsChallenge,
  parseKbsResponse,
  primaryRuntimeData,
  runtimeDataDigest,
} from "../../../protocol/kbs/index.js";
import { kbsPathOf, type ResourceUri } from "../../../protocol/resource-uri/index.js";
import type { Attester } from "../attester/types.js";
import { AaError } from "../errors.js";
import { createHttp, type HttpResponse, type KbsHttp } from "./http.js";
import { decryptEcJweFast } from "./jwe-decrypt.js";
import { isTokenValid, parseToken, type Token } from "./token.js";

/** Hash algorithms the client offers (upstream list). */
export const SUPPORTED_HASH_ALGORITHMS = ["sha256", "sha384", "sha512", "sm3"] as const;
/** Handshake attempts and spacing (`RCAR_MAX_ATTEMPT`, `RCAR_RETRY_TIMEOUT_SECOND`). */
export const RCAR_MAX_ATTEMPTS = 5;
/** Resource GET attempts (`KBS_GET_RESOURCE_MAX_ATTEMPT`). */
export const GET_RESOURCE_MAX_ATTEMPTS = 3;

/** Options for {@link createRcarClient}. */
export interface RcarClientOptions {
  url: string;
  /** Extra trusted PEM roots for an https KBS. */
  certs?: string[];
  attester: Attester;
  /** Device evidence for a report-data digest: JSON map text, or "" (default: none). */
  additionalEvidence?: (reportData: Uint8Array) => Promise<string>;
  /** Init-data TOML text sent in every attestation. */
  initDataToml?: string;
  keyKind?: TeeKeyKind;
  /** Use this TEE key pair instead of generating one (`kbs-client --tee-key-file`). */
  teeKey?: TeeKey;
  /** Handshake retry policy (default 5 attempts, 1 s apart). */
  retry?: { attempts: number; delayMs: number };
  timeoutMs?: number;
  /** Seconds since the epoch (tests move time). */
  nowSec?: () => number;
}

/** The TEE key pair a client holds for its lifetime. */
export interface TeeKey {
  publicJwk: TeePublicJwk;
  privateKey: KeyObject;
  /** PEM of the private key: PKCS#8 for EC, PKCS#1 for RSA (as upstream's `tee_keypair`). */
  privateKeyPem: string;
}

/** An RCAR client. */
export interface RcarClient {
  /** A valid token, running the handshake (with retries) when none is cached or it expired. */
  getToken(): Promise<Token>;
  /** Always runs a new handshake. */
  attest(): Promise<Token>;
  /** Fetches and decrypts a resource, re-attesting once per 401 (at most 3 GETs). */
  getResource(uri: ResourceUri): Promise<Uint8Array>;
  readonly teeKey: TeeKey;
  /** Number of completed handshakes (for tests and benchmarks). */
  readonly handshakes: number;
  close(): void;
}

/** Makes a TEE key pair in upstream's export shapes. */
export function createTeeKey(kind: TeeKeyKind = "ec-p256"): TeeKey {
  const { publicJwk, privateKey } = generateTeeKeyPair(kind);
  const privateKeyPem =
    kind === "rsa"
      ? String(privateKey.export({ format: "pem", type: "pkcs1" }))
      : String(privateKey.export({ format: "pem", type: "pkcs8" }));
  return { publicJwk, privateKey, privateKeyPem };
}

/**
 * A TEE key pair from a PEM private key (upstream `TeeKeyPair::from_pem`: RSA, EC P-256 or
 * P-521), with the public JWK in upstream's export shape.
 */
export function teeKeyFromPem(pem: string): TeeKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new AaError("ERR_KBS_CLIENT_TOKEN", "TEE key is not a PEM private key");
  }
  const j = createPublicKey(privateKey).export({ format: "jwk" });
  if (privateKey.asymmetricKeyType === "rsa") {
    return {
      publicJwk: { kty: "RSA", alg: "RSA-OAEP-256", n: j.n ?? "", e: j.e ?? "" },
      privateKey,
      privateKeyPem: String(privateKey.export({ format: "pem", type: "pkcs1" })),
    };
  }
  if (privateKey.asymmetricKeyType === "ec" && (j.crv === "P-256" || j.crv === "P-521")) {
    return {
      publicJwk: { kty: "EC", crv: j.crv, alg: "ECDH-ES+A256KW", x: j.x ?? "", y: j.y ?? "" },
      privateKey,
      privateKeyPem: String(privateKey.export({ format: "pem", type: "pkcs8" })),
    };
  }
  throw new AaError("ERR_KBS_CLIENT_TOKEN", "TEE key must be RSA, EC P-256 or EC P-521");
}

/** Turns a non-200 KBS answer into a coded error carrying the ErrorInformation detail. */
export function kbsHttpError(what: string, res: HttpResponse): AaError {
  let info = "";
  try {
    const ei = parseErrorInformation(parseJsonBytes(res.body, 64 << 10));
    info = `: ${errorTypeName(ei) ?? ei.type}: ${ei.detail.slice(0, 512)}`;
  } catch {
    info = res.body.length > 0 ? " (body is not ErrorInformation)" : "";
  }
  if (res.status === 401)
    return new AaError("ERR_KBS_CLIENT_UNAUTHORIZED", `${what}: KBS answered 401${info}`);
  if (res.status === 404)
    return new AaError("ERR_KBS_CLIENT_NOT_FOUND", `${what}: KBS answered 404${info}`);
  return new AaError("ERR_KBS_CLIENT_HTTP", `${what}: KBS answered ${res.status}${info}`);
}

function isRetryable(err: unknown): boolean {
  if (!(err instanceof AaError)) return false;
  if (err.code === "ERR_KBS_CLIENT_UNREACHABLE") return true;
  return err.code === "ERR_KBS_CLIENT_HTTP" && /answered 5\d\d/.test(err.message);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decrypts a KBS resource answer body with the TEE key. */
export async function decryptResourceBody(body: Uint8Array, key: KeyObject): Promise<Uint8Array> {
  let jwe: ReturnType<typeof parseKbsResponse>;
  try {
    jwe = parseKbsResponse(parseJsonBytes(body, 64 << 20));
  } catch (err) {
    throw new AaError(
      "ERR_KBS_CLIENT_RESPONSE",
      `KBS resource answer is not a JWE: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    return decryptEcJweFast(key, jwe) ?? (await decryptWithTeeKey(key, jwe));
  } catch (err) {
    throw new AaError(
      "ERR_KBS_CLIENT_RESPONSE",
      "KBS resource JWE does not decrypt with the TEE key",
      {
        cause: err,
      },
    );
  }
}

/** Creates an RCAR client; the TEE key is generated once and reused across handshakes. */
export function createRcarClient(opts: RcarClientOptions): RcarClient {
  const http: KbsHttp = createHttp(opts.url, {
    ...(opts.certs ? { certs: opts.certs } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const teeKey = opts.teeKey ?? createTeeKey(opts.keyKind);
  const retry = opts.retry ?? { attempts: RCAR_MAX_ATTEMPTS, delayMs: 1000 };
  const nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));
  let token: Token | undefined;
  let handshakes = 0;

  async function handshakeOnce(): Promise<Token> {
    http.clearCookies();
    const auth = await http.request("POST", "/kbs/v0/auth", {
      json: {
        version: KBS_PROTOCOL_VERSION,
        tee: opts.attester.tee,
        "extra-params": { "supported-hash-algorithms": [...SUPPORTED_HASH_ALGORITHMS] },
      },
    });
    if (auth.status !== 200) throw kbsHttpError("RCAR auth", auth);
    let challenge: ReturnType<typeof parseKbsChallenge>;
    let alg: ReturnType<typeof hashAlgorithmFromChallenge>;
    try {
      challenge = parseKbsChallenge(parseJsonBytes(auth.body, 1 << 20));
      alg = hashAlgorithmFromChallenge(challenge["extra-params"]);
    } catch (err) {
      throw new AaError("ERR_KBS_CLIENT_RESPONSE", `RCAR challenge: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const nonce = challenge.nonce;
    const deviceDigest = runtimeDataDigest(alg, deviceRuntimeData(nonce, teeKey.publicJwk));
    const additional = opts.additionalEvidence ? await opts.additionalEvidence(deviceDigest) : "";
    const reportData = runtimeDataDigest(
      alg,
      primaryRuntimeData(nonce, teeKey.publicJwk, additional),
    );
    const evidence = await opts.attester.getEvidence(reportData);
    const body: KbsAttestation = {
      "init-data":
        opts.initDataToml === undefined ? null : { format: "toml", body: opts.initDataToml },
      "runtime-data": { nonce, "tee-pubkey": teeKey.publicJwk },
      "tee-evidence": { primary_evidence: evidence, additional_evidence: additional },
    };
    const att = await http.request("POST", "/kbs/v0/attest", { json: body });
    if (att.status !== 200) throw kbsHttpError("RCAR attest", att);
    let jwt: string;
    try {
      jwt = parseKbsAttestationResponse(parseJsonBytes(att.body, 1 << 20)).token;
    } catch (err) {
      throw new AaError(
        "ERR_KBS_CLIENT_RESPONSE",
        `RCAR attest answer: ${(err as Error).message}`,
        { cause: err },
      );
    }
    handshakes++;
    return parseToken(jwt);
  }

  async function attest(): Promise<Token> {
    let last: unknown;
    for (let i = 0; i < Math.max(1, retry.attempts); i++) {
      if (i > 0) await sleep(retry.delayMs);
      try {
        token = await handshakeOnce();
        return token;
      } catch (err) {
        last = err;
        if (!isRetryable(err)) throw err;
      }
    }
    const err = last as AaError;
    throw new AaError(err.code, `${err.message} (after ${retry.attempts} attempts)`, {
      cause: err,
    });
  }

  return {
    teeKey,
    get handshakes() {
      return handshakes;
    },
    async getToken() {
      if (token && isTokenValid(token, nowSec())) return token;
      return attest();
    },
    attest,
    async getResource(uri) {
      const path = kbsPathOf(uri);
      if (!token) await attest();
      for (let i = 0; i < GET_RESOURCE_MAX_ATTEMPTS; i++) {
        const res = await http.request("GET", path);
        if (res.status === 200) return decryptResourceBody(res.body, teeKey.privateKey);
        if (res.status !== 401 || i === GET_RESOURCE_MAX_ATTEMPTS - 1)
          throw kbsHttpError(`GET ${path}`, res);
        token = await handshakeOnce();
      }
      throw new AaError("ERR_KBS_CLIENT_UNAUTHORIZED", `GET ${path}: request unauthorized`);
    },
    close() {
      http.close();
    },
  };
}
