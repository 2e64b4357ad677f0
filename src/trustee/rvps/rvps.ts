/**
 * Reference Value Provider Service (trustee rvps/): registers reference values from messages
 * `{"version":"0.1.0","type":"<extractor>","payload":"..."}` and answers
 * `query_reference_value(name)` for policies. Unlike upstream, expiry is enforced: an expired
 * value is not returned (and is reported as expired by `query`).
 */
import type { KeyObject } from "node:crypto";
import { verifyDsseEnvelope } from "../../crypto/dsse.js";
import { CocoError } from "../../errors.js";
import type { KeyValueStore } from "../storage/types.js";

/** Codes for RVPS failures. */
export type RvpsErrorCode =
  | "ERR_RVPS_MESSAGE"
  | "ERR_RVPS_EXTRACTOR"
  | "ERR_RVPS_NOT_FOUND"
  | "ERR_RVPS_EXPIRED"
  | "ERR_RVPS_NAME"
  | "ERR_RVPS_SIGNATURE";

/** An RVPS failure. */
export class RvpsError extends CocoError<RvpsErrorCode> {}

/** The stored record (upstream `ReferenceValue`, plus our `provenance` and `registered`). */
export interface ReferenceValueRecord {
  version: "0.1.0";
  name: string;
  expiration: string;
  value: unknown;
  /** Where the value came from (`coco-measurements` messages): flat strings. */
  provenance?: Record<string, string>;
  /** When it was registered (RFC 3339, seconds). */
  registered?: string;
}

/** A listed reference value: the record and whether it has expired. */
export interface ReferenceValueInfo extends ReferenceValueRecord {
  expired: boolean;
}

/** The reference-value service. */
export interface Rvps {
  /** Registers every value a message carries; returns the names written. */
  register(message: unknown): Promise<string[]>;
  /** The value of `name`; ERR_RVPS_NOT_FOUND / ERR_RVPS_EXPIRED otherwise. */
  query(name: string): Promise<unknown>;
  /** All unexpired values, for synchronous lookups during one policy evaluation. */
  snapshot(): Promise<ReadonlyMap<string, unknown>>;
  /** Every stored value, expired ones included, sorted by name. */
  list(): Promise<ReferenceValueInfo[]>;
  /** Removes `name`; ERR_RVPS_NOT_FOUND when it is not registered. */
  delete(name: string): Promise<void>;
}

const NAMESPACE = "reference_value";
const NAME = /^[\x21-\x7e]{1,256}$/;
const MAX_PAYLOAD = 1024 * 1024;

/** Options for {@link createRvps}. */
export interface RvpsOptions {
  /** Lifetime of a registered value (default 12 months, as upstream). */
  lifetimeMs?: number;
  /** How long a snapshot may be reused (default 1 s; 0 disables caching). */
  snapshotTtlMs?: number;
  now?: () => Date;
  /**
   * Keys trusted to sign in-toto/SLSA provenance (`type = "in-toto"` or `"slsa"`); without
   * any, such messages are refused.
   */
  provenanceKeys?: readonly KeyObject[];
}

const STATEMENT_TYPES = ["https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"];

/**
 * The in-toto extractor: payload = standard base64 of a DSSE envelope whose statement is signed
 * by a trusted key; each subject becomes a reference value named by the subject name whose
 * value is the list of its digests (lowercase hex), e.g. `{"kernel": ["5f2b..."]}`.
 */
function extractInToto(payload: string, keys: readonly KeyObject[]): Record<string, unknown> {
  if (keys.length === 0) {
    throw new RvpsError(
      "ERR_RVPS_EXTRACTOR",
      "in-toto provenance needs trusted keys (rvps_config.extractors.in_toto.trusted_keys)",
    );
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  } catch {
    throw new RvpsError("ERR_RVPS_MESSAGE", "in-toto payload is not base64 of a DSSE envelope");
  }
  let verified: ReturnType<typeof verifyDsseEnvelope>;
  try {
    verified = verifyDsseEnvelope(envelope, keys);
  } catch (err) {
    throw new RvpsError("ERR_RVPS_SIGNATURE", (err as Error).message, { cause: err });
  }
  if (verified.payloadType !== "application/vnd.in-toto+json") {
    throw new RvpsError(
      "ERR_RVPS_MESSAGE",
      "DSSE payloadType must be application/vnd.in-toto+json",
    );
  }
  let st: { _type?: unknown; subject?: unknown };
  try {
    st = JSON.parse(Buffer.from(verified.payload).toString("utf8"));
  } catch {
    throw new RvpsError("ERR_RVPS_MESSAGE", "in-toto statement is not JSON");
  }
  if (!STATEMENT_TYPES.includes(String(st._type))) {
    throw new RvpsError("ERR_RVPS_MESSAGE", "not an in-toto Statement (v1 or v0.1)");
  }
  if (!Array.isArray(st.subject) || st.subject.length === 0) {
    throw new RvpsError("ERR_RVPS_MESSAGE", "in-toto statement has no subject");
  }
  const out: Record<string, unknown> = {};
  for (const sub of st.subject as unknown[]) {
    const s = sub as { name?: unknown; digest?: unknown } | null;
    if (typeof s?.name !== "string" || typeof s.digest !== "object" || s.digest === null) {
      throw new RvpsError("ERR_RVPS_MESSAGE", "each subject needs a name and a digest map");
    }
    const digests = Object.values(s.digest as Record<string, unknown>);
    if (
      digests.length === 0 ||
      digests.some((d) => typeof d !== "string" || !/^[0-9a-fA-F]+$/.test(d))
    ) {
      throw new RvpsError(
        "ERR_RVPS_MESSAGE",
        `subject ${JSON.stringify(s.name.slice(0, 64))}: digests must be hex`,
      );
    }
    out[s.name] = digests.map((d) => (d as string).toLowerCase());
  }
  return out;
}

/** `2027-01-01T00:00:00Z`: upstream's expiration format (seconds, UTC). */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** What an extractor hands back. */
interface Extracted {
  values: Record<string, unknown>;
  expiration?: Date;
  provenance?: Record<string, string>;
}

/** The message type of a measured guest's reference values (ours; see {@link extractMeasurements}). */
export const MEASUREMENTS_TYPE = "coco-measurements";
/** Longest lifetime a `coco-measurements` message may give (ten years). */
const MAX_LIFETIME_MS = 10 * 366 * 24 * 3600 * 1000;

/**
 * The `coco-measurements` extractor: payload = standard base64 of
 * `{"reference_values": {name: value, ...}, "expiration"?: "<RFC 3339>", "provenance": {key: string}}`,
 * written by `coco kbs-client config register-reference-values` from a measured guest (qemu
 * image digests, an SNP report, a TDX quote). Unlike `sample`, it carries an expiry (at most ten
 * years ahead, and not in the past) and where the values came from; nothing here is signed, so
 * the provenance is the registering admin's statement, as the admin API's authentication is
 * the only check (use `in-toto` for signed provenance).
 */
function extractMeasurements(payload: string, now: Date): Extracted {
  const doc = extractSample(payload) as Record<string, unknown>;
  const keys = Object.keys(doc);
  const extra = keys.find((k) => !["reference_values", "expiration", "provenance"].includes(k));
  if (extra !== undefined) {
    throw new RvpsError(
      "ERR_RVPS_MESSAGE",
      `${MEASUREMENTS_TYPE}: unknown member ${JSON.stringify(extra.slice(0, 32))}`,
    );
  }
  const rv = doc.reference_values;
  if (typeof rv !== "object" || rv === null || Array.isArray(rv) || Object.keys(rv).length === 0) {
    throw new RvpsError(
      "ERR_RVPS_MESSAGE",
      `${MEASUREMENTS_TYPE}: reference_values must be a non-empty object`,
    );
  }
  if (Object.keys(rv).length > 256) {
    throw new RvpsError("ERR_RVPS_MESSAGE", `${MEASUREMENTS_TYPE}: more than 256 reference values`);
  }
  const out: Extracted = { values: rv as Record<string, unknown> };
  if (doc.expiration !== undefined) {
    const e = doc.expiration;
    const t =
      typeof e === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(e)
        ? Date.parse(e)
        : Number.NaN;
    if (!Number.isFinite(t)) {
      throw new RvpsError(
        "ERR_RVPS_MESSAGE",
        `${MEASUREMENTS_TYPE}: expiration must be an RFC 3339 UTC time (2027-01-01T00:00:00Z)`,
      );
    }
    if (t <= now.getTime())
      throw new RvpsError(
        "ERR_RVPS_MESSAGE",
        `${MEASUREMENTS_TYPE}: expiration ${e} is in the past`,
      );
    if (t > now.getTime() + MAX_LIFETIME_MS) {
      throw new RvpsError(
        "ERR_RVPS_MESSAGE",
        `${MEASUREMENTS_TYPE}: expiration ${e} is more than ten years ahead`,
      );
    }
    out.expiration = new Date(t);
  }
  const p = doc.provenance;
  if (typeof p !== "object" || p === null || Array.isArray(p)) {
    throw new RvpsError(
      "ERR_RVPS_MESSAGE",
      `${MEASUREMENTS_TYPE}: provenance must be an object of strings`,
    );
  }
  const entries = Object.entries(p as Record<string, unknown>);
  if (entries.length > 16)
    throw new RvpsError(
      "ERR_RVPS_MESSAGE",
      `${MEASUREMENTS_TYPE}: provenance has more than 16 members`,
    );
  const provenance: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(k) || typeof v !== "string" || v.length > 512) {
      throw new RvpsError(
        "ERR_RVPS_MESSAGE",
        `${MEASUREMENTS_TYPE}: provenance.${k.slice(0, 32)} must be a string of at most 512 characters under a lowercase name`,
      );
    }
    provenance[k] = v;
  }
  out.provenance = provenance;
  return out;
}

function storageKey(name: string): string {
  if (!NAME.test(name)) {
    throw new RvpsError(
      "ERR_RVPS_NAME",
      `reference value name ${JSON.stringify(name.slice(0, 64))} is not allowed`,
    );
  }
  // Names are free-form (`rvps:///ns/x:tag`); storage keys are not, so store them encoded.
  return Buffer.from(name, "utf8").toString("base64url");
}

function extractSample(payload: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) {
    throw new RvpsError("ERR_RVPS_MESSAGE", "sample payload must be standard base64");
  }
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(payload, "base64").toString("utf8"));
  } catch {
    throw new RvpsError("ERR_RVPS_MESSAGE", "sample payload is not base64 of a JSON object");
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new RvpsError("ERR_RVPS_MESSAGE", "sample payload must be a JSON object of name → value");
  }
  return obj as Record<string, unknown>;
}

/** Creates the RVPS over a key-value store. */
export function createRvps(store: KeyValueStore, opts: RvpsOptions = {}): Rvps {
  const now = opts.now ?? (() => new Date());
  const lifetime = opts.lifetimeMs ?? 365 * 24 * 3600 * 1000;
  const ttl = opts.snapshotTtlMs ?? 1000;
  let cached: { at: number; map: ReadonlyMap<string, unknown> } | undefined;
  // Bumped by register and delete: a snapshot load that began before one is not shared or kept.
  let generation = 0;
  let loading: { generation: number; map: Promise<ReadonlyMap<string, unknown>> } | undefined;

  const read = async (key: string): Promise<ReferenceValueRecord | undefined> => {
    const raw = await store.get(NAMESPACE, key);
    if (raw === undefined) return undefined;
    return JSON.parse(Buffer.from(raw).toString("utf8")) as ReferenceValueRecord;
  };

  return {
    async register(message) {
      if (typeof message !== "object" || message === null || Array.isArray(message)) {
        throw new RvpsError("ERR_RVPS_MESSAGE", "message must be a JSON object");
      }
      const m = message as Record<string, unknown>;
      const version = m.version ?? "0.1.0";
      if (version !== "0.1.0") {
        throw new RvpsError("ERR_RVPS_MESSAGE", `message version must be 0.1.0`);
      }
      if (typeof m.payload !== "string" || m.payload.length > MAX_PAYLOAD) {
        throw new RvpsError("ERR_RVPS_MESSAGE", "payload must be a string of at most 1 MiB");
      }
      let extracted: Extracted;
      if (m.type === "sample") {
        extracted = { values: extractSample(m.payload) };
      } else if (m.type === "in-toto" || m.type === "slsa") {
        extracted = { values: extractInToto(m.payload, opts.provenanceKeys ?? []) };
      } else if (m.type === MEASUREMENTS_TYPE) {
        extracted = extractMeasurements(m.payload, now());
      } else {
        throw new RvpsError(
          "ERR_RVPS_EXTRACTOR",
          `extractor ${JSON.stringify(String(m.type).slice(0, 32))} is not supported (implemented: "sample", "in-toto"/"slsa", "${MEASUREMENTS_TYPE}"; swid and corim are not)`,
        );
      }
      const { values } = extracted;
      const at = now();
      const expiration = extracted.expiration ?? new Date(at.getTime() + lifetime);
      expiration.setUTCMilliseconds(0);
      const registered = new Date(at.getTime());
      registered.setUTCMilliseconds(0);
      const names = Object.keys(values);
      const keys = names.map(storageKey);
      for (let i = 0; i < names.length; i++) {
        const rec: ReferenceValueRecord = {
          version: "0.1.0",
          name: names[i]!,
          expiration: rfc3339(expiration),
          value: values[names[i]!],
          ...(extracted.provenance !== undefined ? { provenance: extracted.provenance } : {}),
          registered: rfc3339(registered),
        };
        await store.put(NAMESPACE, keys[i]!, new TextEncoder().encode(JSON.stringify(rec)));
      }
      cached = undefined;
      generation++;
      return names;
    },
    async query(name) {
      const rec = await read(storageKey(name));
      if (rec === undefined) {
        throw new RvpsError(
          "ERR_RVPS_NOT_FOUND",
          `reference value ${JSON.stringify(name)} is not registered`,
        );
      }
      if (Date.parse(rec.expiration) <= now().getTime()) {
        throw new RvpsError(
          "ERR_RVPS_EXPIRED",
          `reference value ${JSON.stringify(name)} expired at ${rec.expiration}`,
        );
      }
      return rec.value;
    },
    async list() {
      const out: ReferenceValueInfo[] = [];
      const limit = now().getTime();
      for (const key of await store.list(NAMESPACE)) {
        const rec = await read(key);
        if (rec !== undefined) out.push({ ...rec, expired: Date.parse(rec.expiration) <= limit });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async delete(name) {
      if (!(await store.delete(NAMESPACE, storageKey(name)))) {
        throw new RvpsError(
          "ERR_RVPS_NOT_FOUND",
          `reference value ${JSON.stringify(name)} is not registered`,
        );
      }
      cached = undefined;
      generation++;
    },
    async snapshot() {
      const t = Date.now();
      if (cached !== undefined && t - cached.at < ttl) return cached.map;
      // Every attestation asks: the ones arriving while a snapshot loads share that load.
      if (loading !== undefined && loading.generation === generation) return loading.map;
      const started = generation;
      const load = async () => {
        const map = new Map<string, unknown>();
        const limit = now().getTime();
        for (const key of await store.list(NAMESPACE)) {
          const rec = await read(key);
          if (rec !== undefined && Date.parse(rec.expiration) > limit) map.set(rec.name, rec.value);
        }
        if (started === generation) cached = { at: t, map };
        return map;
      };
      const mine = { generation: started, map: load() };
      loading = mine;
      try {
        return await mine.map;
      } finally {
        if (loading === mine) loading = undefined;
      }
    },
  };
}
