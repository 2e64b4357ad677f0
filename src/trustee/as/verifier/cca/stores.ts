/**
 * The local CCA verifier's stores in veraison ccatoken's JSON formats, which upstream Trustee's
 * `cca-verifier` `{"type":"local","ta-store":…,"rv-store":…}` points at: a trust-anchor store
 * (CPAKs by platform instance-id) and a reference-value store (platform firmware by
 * implementation-id, realm values by RIM).
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { fromHex } from "../../../../tee/common/bytes.js";
import { EvidenceError } from "../../../../tee/common/errors.js";

/** A CCA platform attestation key (CPAK) and the platform it belongs to. */
export interface CcaTrustAnchor {
  key: KeyObject;
  implementationId: string;
  instanceId: string;
}

/** One acceptable platform state (implementation-id, firmware components, configuration). */
export interface CcaPlatformReference {
  implementationId: string;
  config: string;
  swComponents: {
    measurementValue: string;
    signerId: string;
    version?: string;
    componentType?: string;
  }[];
}

/** One acceptable realm state. */
export interface CcaRealmReference {
  initialMeasurement: string;
  extensibleMeasurements: string[];
  personalizationValue: string;
}

/** Reference values for platforms and realms. */
export interface CcaReferenceValues {
  platform: CcaPlatformReference[];
  realm: CcaRealmReference[];
}

function bad(what: string, why: string): never {
  throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what}: ${why}`);
}

function hex(v: unknown, what: string, len?: number): string {
  if (typeof v !== "string") bad(what, "must be a hex string");
  const b = fromHex(v, what);
  if (len !== undefined && b.length !== len) bad(what, `must be ${len} bytes`);
  return v.toLowerCase();
}

/** Parses a trust-anchor store (`tastore.json`: `[{pkey: JWK, implementation-id, instance-id}]`). */
export function parseCcaTrustAnchors(
  text: string,
  what = "CCA trust-anchor store",
): CcaTrustAnchor[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what} is not JSON`, { cause });
  }
  if (!Array.isArray(v)) bad(what, "must be a JSON array");
  return v.map((e: Record<string, unknown>, i) => {
    const at = `${what}[${i}]`;
    if (typeof e !== "object" || e === null) bad(at, "must be an object");
    let key: KeyObject;
    try {
      key = createPublicKey({ key: e.pkey as never, format: "jwk" });
    } catch (cause) {
      throw new EvidenceError("ERR_COLLATERAL_INVALID", `${at}.pkey is not a public JWK`, {
        cause,
      });
    }
    return {
      key,
      implementationId: hex(e["implementation-id"], `${at}.implementation-id`, 32),
      instanceId: hex(e["instance-id"], `${at}.instance-id`, 33),
    };
  });
}

/** Parses a reference-value store (`rvstore.json`: `{platform: [...], realm: [...]}`). */
export function parseCcaReferenceValues(
  text: string,
  what = "CCA reference-value store",
): CcaReferenceValues {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `${what} is not JSON`, { cause });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(what, "must be a JSON object");
  const list = (x: unknown, at: string): Record<string, unknown>[] => {
    if (x === undefined || x === null) return [];
    if (!Array.isArray(x)) bad(at, "must be an array");
    return x as Record<string, unknown>[];
  };
  const platform = list(v.platform, `${what}.platform`).map((p, i) => {
    const at = `${what}.platform[${i}]`;
    return {
      implementationId: hex(p["implementation-id"], `${at}.implementation-id`, 32),
      config: hex(p["platform-configuration"], `${at}.platform-configuration`),
      swComponents: list(p["sw-components"], `${at}.sw-components`).map((c, j) => {
        const cat = `${at}.sw-components[${j}]`;
        const ver = c.version;
        const typ = c["component-type"];
        if (ver !== undefined && typeof ver !== "string") bad(cat, "version must be a string");
        if (typ !== undefined && typeof typ !== "string")
          bad(cat, "component-type must be a string");
        return {
          measurementValue: hex(c["measurement-value"], `${cat}.measurement-value`),
          signerId: hex(c["signer-id"], `${cat}.signer-id`),
          ...(ver === undefined ? {} : { version: ver }),
          ...(typ === undefined ? {} : { componentType: typ }),
        };
      }),
    };
  });
  const realm = list(v.realm, `${what}.realm`).map((r, i) => {
    const at = `${what}.realm[${i}]`;
    const rem = list(r["extensible-measurements"], `${at}.extensible-measurements`);
    return {
      initialMeasurement: hex(r["initial-measurement"], `${at}.initial-measurement`),
      extensibleMeasurements: rem.map((x, j) => hex(x, `${at}.extensible-measurements[${j}]`)),
      personalizationValue: hex(r["personalization-value"], `${at}.personalization-value`),
    };
  });
  return { platform, realm };
}

/** The stores from their files: a trust-anchor store (required) and a reference-value store. */
export function ccaStoresFromFiles(
  taPath: string,
  rvPath: string | undefined,
  read: (path: string) => Uint8Array | undefined,
): { trustAnchors: CcaTrustAnchor[]; referenceValues?: CcaReferenceValues } {
  const ta = read(taPath);
  if (ta === undefined) {
    throw new EvidenceError(
      "ERR_COLLATERAL_MISSING",
      `CCA trust-anchor store ${taPath} does not exist`,
    );
  }
  const rv = rvPath === undefined ? undefined : read(rvPath);
  if (rvPath !== undefined && rv === undefined) {
    throw new EvidenceError(
      "ERR_COLLATERAL_MISSING",
      `CCA reference-value store ${rvPath} does not exist`,
    );
  }
  const dec = (b: Uint8Array) => Buffer.from(b).toString("utf8");
  return {
    trustAnchors: parseCcaTrustAnchors(dec(ta), taPath),
    ...(rv === undefined ? {} : { referenceValues: parseCcaReferenceValues(dec(rv), rvPath) }),
  };
}

/**
 * Reads `tastore.json` (required) and `rvstore.json` (when present) from a directory, the file
 * names of upstream's local CCA verifier configuration.
 */
export function ccaStoresFromDir(
  dir: string,
  read: (path: string) => Uint8Array | undefined,
): { trustAnchors: CcaTrustAnchor[]; referenceValues?: CcaReferenceValues } {
  const rv = `${dir}/rvstore.json`;
  return ccaStoresFromFiles(`${dir}/tastore.json`, read(rv) === undefined ? undefined : rv, read);
}
