/**
 * The Arm CCA attestation token: a CBOR-tagged (399) collection of a COSE_Sign1 platform token
 * (label 44234) and a COSE_Sign1 realm token (label 44241). Claim keys, sizes and profiles as in
 * the RMM specification §A.7.2.3 and veraison's ccatoken crate, which upstream Trustee's local
 * CCA verifier uses. Parsing only: signatures and bindings are checked by the verifier.
 */
import { type CborValue, decodeCbor, isTagged } from "../../crypto/cbor.js";
import { type CoseSign1, parseCoseSign1 } from "../../crypto/cose.js";
import { CryptoError } from "../../crypto/errors.js";
import { EvidenceError } from "../common/errors.js";

/** CBOR tag of the CCA token collection (CMW collection, RMM §A.7.1). */
export const CCA_COLLECTION_TAG = 399;
/** Collection labels of the two tokens. */
export const CCA_PLATFORM_LABEL = 44234;
export const CCA_REALM_LABEL = 44241;
/** Largest token accepted (real tokens are 1–3 KiB). */
export const CCA_TOKEN_MAX = 64 * 1024;

/** Platform profiles the parser accepts (the legacy one has no realm profile). */
export const CCA_PLATFORM_PROFILES = [
  "http://arm.com/CCA-SSD/1.0.0",
  "tag:arm.com,2023:cca_platform#1.0.0",
] as const;
/** Realm profile under which the RAK is a COSE_Key (without it: a raw 97-byte P-384 point). */
export const CCA_REALM_PROFILE = "tag:arm.com,2023:realm#1.0.0";

/** One measured platform firmware component (platform claim 2399). */
export interface CcaSwComponent {
  measurementType?: string;
  measurementValue: Uint8Array;
  version?: string;
  signerId: Uint8Array;
  hashAlgo?: string;
}

/** The platform claims-set (RMM §A.7.2.3.2). */
export interface CcaPlatformClaims {
  profile: string;
  challenge: Uint8Array;
  implementationId: Uint8Array;
  instanceId: Uint8Array;
  config: Uint8Array;
  lifecycle: number;
  swComponents: CcaSwComponent[];
  verificationService?: string;
  hashAlgo: string;
}

/** The realm claims-set (RMM §A.7.2.3.1). */
export interface CcaRealmClaims {
  profile?: string;
  challenge: Uint8Array;
  personalizationValue: Uint8Array;
  initialMeasurement: Uint8Array;
  extensibleMeasurements: Uint8Array[];
  hashAlgo: string;
  /** The RAK: a raw uncompressed P-384 point, or COSE_Key bytes under {@link CCA_REALM_PROFILE}. */
  publicKey: Uint8Array;
  publicKeyHashAlgo: string;
}

/** A decoded CCA token: both signed envelopes and their claims. */
export interface CcaToken {
  platform: CoseSign1;
  realm: CoseSign1;
  platformClaims: CcaPlatformClaims;
  realmClaims: CcaRealmClaims;
}

function bad(what: string): never {
  throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `CCA token: ${what}`);
}

function cbor<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CryptoError) {
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `CCA token: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function bstr(v: CborValue | undefined, name: string, sizes?: readonly number[]): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(`${name} must be a byte string`);
  if (sizes && !sizes.includes(v.length)) {
    bad(`${name} must be ${sizes.join(", ")} bytes, got ${v.length}`);
  }
  return v;
}

function tstr(v: CborValue | undefined, name: string): string {
  if (typeof v !== "string") bad(`${name} must be a text string`);
  return v;
}

const MEASUREMENT = [32, 48, 64] as const;

function hashAlg(v: CborValue | undefined, name: string): string {
  const s = tstr(v, name);
  // RMM: sha-256 and sha-512 only.
  if (s !== "sha-256" && s !== "sha-512")
    bad(`${name} ${JSON.stringify(s.slice(0, 16))} is not sha-256 or sha-512`);
  return s;
}

function intKeyed(v: CborValue, name: string): Map<number, CborValue> {
  if (!(v instanceof Map)) bad(`${name} must be a map`);
  const out = new Map<number, CborValue>();
  for (const [k, x] of v) if (typeof k === "number") out.set(k, x);
  return out;
}

/** PSA security lifecycle ranges the claim may take (PSA token §4.2.4; ccatoken). */
export function isValidLifecycle(v: number): boolean {
  const hi = v >> 8;
  return (
    Number.isInteger(v) &&
    v >= 0 &&
    v <= 0x60ff &&
    [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60].includes(hi)
  );
}

/** True for the "secured" lifecycle state (0x3000–0x30ff). */
export function isSecuredLifecycle(v: number): boolean {
  return v >> 8 === 0x30;
}

function parseSwComponent(v: CborValue, i: number): CcaSwComponent {
  const name = `sw-component[${i}]`;
  if (!(v instanceof Map)) bad(`${name} must be a map`);
  const c: Partial<CcaSwComponent> = {};
  for (const [k, x] of v) {
    if (typeof k !== "number") bad(`${name} has a non-integer key`);
    if (k === 1) c.measurementType = tstr(x, `${name}.measurement-type`);
    else if (k === 2) c.measurementValue = bstr(x, `${name}.measurement-value`, MEASUREMENT);
    else if (k === 4) c.version = tstr(x, `${name}.version`);
    else if (k === 5) c.signerId = bstr(x, `${name}.signer-id`);
    else if (k === 6) c.hashAlgo = hashAlg(x, `${name}.hash-algo-id`);
    else bad(`${name} has unknown key ${k}`);
  }
  if (!c.measurementValue) bad(`${name} lacks measurement-value`);
  if (!c.signerId) bad(`${name} lacks signer-id`);
  return c as CcaSwComponent;
}

/** Decodes the platform claims-set (labels of RMM §A.7.2.3.2; unknown labels ignored). */
export function parsePlatformClaims(payload: Uint8Array): CcaPlatformClaims {
  const m = intKeyed(
    cbor(() => decodeCbor(payload, "CCA platform claims")),
    "platform claims",
  );
  const need = (k: number, n: string) => {
    const x = m.get(k);
    if (x === undefined) bad(`platform claims lack ${n} (${k})`);
    return x;
  };
  const profile = tstr(need(265, "profile"), "platform profile");
  if (!(CCA_PLATFORM_PROFILES as readonly string[]).includes(profile)) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `CCA platform profile ${JSON.stringify(profile.slice(0, 64))} is not supported`,
    );
  }
  const lifecycle = need(2395, "lifecycle");
  if (typeof lifecycle !== "number" || !isValidLifecycle(lifecycle))
    bad("platform lifecycle is not a PSA lifecycle value");
  const sw = need(2399, "sw-components");
  if (!Array.isArray(sw) || sw.length === 0)
    bad("platform sw-components must be a non-empty array");
  const vsi = m.get(2400);
  return {
    profile,
    challenge: bstr(need(10, "challenge"), "platform challenge", MEASUREMENT),
    implementationId: bstr(need(2396, "implementation-id"), "platform implementation-id", [32]),
    instanceId: bstr(need(256, "instance-id"), "platform instance-id", [33]),
    config: bstr(need(2401, "config"), "platform config"),
    lifecycle,
    swComponents: sw.map(parseSwComponent),
    ...(vsi === undefined
      ? {}
      : { verificationService: tstr(vsi, "platform verification-service") }),
    hashAlgo: hashAlg(need(2402, "hash-algo-id"), "platform hash-algo-id"),
  };
}

/** Decodes the realm claims-set (labels of RMM §A.7.2.3.1; unknown labels ignored). */
export function parseRealmClaims(payload: Uint8Array): CcaRealmClaims {
  const m = intKeyed(
    cbor(() => decodeCbor(payload, "CCA realm claims")),
    "realm claims",
  );
  const need = (k: number, n: string) => {
    const x = m.get(k);
    if (x === undefined) bad(`realm claims lack ${n} (${k})`);
    return x;
  };
  const p = m.get(265);
  const profile = p === undefined ? undefined : tstr(p, "realm profile");
  if (profile !== undefined && profile !== CCA_REALM_PROFILE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_UNSUPPORTED",
      `CCA realm profile ${JSON.stringify(profile.slice(0, 64))} is not supported`,
    );
  }
  const rem = need(44239, "extensible-measurements");
  if (!Array.isArray(rem) || rem.length !== 4)
    bad("realm extensible-measurements must be an array of 4");
  return {
    ...(profile === undefined ? {} : { profile }),
    challenge: bstr(need(10, "challenge"), "realm challenge", [64]),
    personalizationValue: bstr(
      need(44235, "personalization-value"),
      "realm personalization-value",
      [64],
    ),
    initialMeasurement: bstr(
      need(44238, "initial-measurement"),
      "realm initial-measurement",
      MEASUREMENT,
    ),
    extensibleMeasurements: rem.map((x, i) =>
      bstr(x, `realm extensible-measurement[${i}]`, MEASUREMENT),
    ),
    hashAlgo: hashAlg(need(44236, "hash-algo-id"), "realm hash-algo-id"),
    // Without the realm profile the RAK is a raw uncompressed P-384 point (97 bytes).
    publicKey: bstr(
      need(44237, "public-key"),
      "realm public-key",
      profile === undefined ? [97] : undefined,
    ),
    publicKeyHashAlgo: hashAlg(
      need(44240, "public-key-hash-algo-id"),
      "realm public-key-hash-algo-id",
    ),
  };
}

/** Decodes a CCA token: the tagged collection, both COSE_Sign1 envelopes and their claims. */
export function parseCcaToken(bytes: Uint8Array): CcaToken {
  if (bytes.length > CCA_TOKEN_MAX) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `CCA token is ${bytes.length} bytes, limit ${CCA_TOKEN_MAX}`,
    );
  }
  const top = cbor(() => decodeCbor(bytes, "CCA token", { tags: [CCA_COLLECTION_TAG] }));
  if (!isTagged(top) || top.tag !== CCA_COLLECTION_TAG)
    bad(`expected CBOR tag ${CCA_COLLECTION_TAG}`);
  if (!(top.value instanceof Map)) bad("the collection must be a map");
  let platform: Uint8Array | undefined;
  let realm: Uint8Array | undefined;
  for (const [k, v] of top.value) {
    if (k === CCA_PLATFORM_LABEL) platform = bstr(v, "platform token");
    else if (k === CCA_REALM_LABEL) realm = bstr(v, "realm token");
    else bad(`unknown key ${typeof k === "number" ? k : "(non-integer)"} in the collection`);
  }
  if (!platform || platform.length === 0) bad("missing platform token");
  if (!realm || realm.length === 0) bad("missing realm token");
  const p = cbor(() => parseCoseSign1(platform, "CCA platform token"));
  const r = cbor(() => parseCoseSign1(realm, "CCA realm token"));
  return {
    platform: p,
    realm: r,
    platformClaims: parsePlatformClaims(p.payload),
    realmClaims: parseRealmClaims(r.payload),
  };
}
