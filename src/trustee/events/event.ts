/**
 * Attestation events: one record per decision Trustee makes (an attestation, a resource
 * release, an admin call refused or a change made through the admin API). An event says who
 * asked, for which TEE, what was decided, the EAR verdicts and trust vectors, and which rule or
 * binding failed. It never holds a secret or raw evidence: no token, nonce, key, evidence,
 * init-data body or resource value; only names, digests and the failure detail, which the KBS
 * already keeps free of them (see DESIGN.md "Errors").
 */
import { createHash } from "node:crypto";
import { CocoError } from "../../errors.js";

/** What kind of decision an event records. */
export type TrusteeEventKind = "attestation" | "resource" | "admin";

/** The decision: released or issued (`allow`), refused (`deny`). */
export type TrusteeEventVerdict = "allow" | "deny";

/** Event kinds, for parsing filters. */
export const EVENT_KINDS: readonly TrusteeEventKind[] = ["attestation", "resource", "admin"];
/** Verdicts, for parsing filters. */
export const EVENT_VERDICTS: readonly TrusteeEventVerdict[] = ["allow", "deny"];

/** Who made the request, as far as Trustee can tell without holding a credential. */
export interface EventSubject {
  /** The peer address of the connection (or the forwarded client of a trusted proxy). */
  client?: string;
  /** The RCAR session id (also in the sealed cookie; it grants nothing by itself). */
  session?: string;
  /** RFC 7638 SHA-256 thumbprint of the TEE public key the token binds (base64url). */
  tee_key?: string;
  /** The init-data digest the evidence bound (as the token's `init_data` claim). */
  init_data?: string;
  /** Admin calls: the token's `sub`, `iss` and `role` (never the token). */
  admin?: { sub?: string; iss?: string; role?: string };
}

/** One appraised component (EAR submod) of an attestation token. */
export interface EventAppraisal {
  status: string;
  trust_vector: Record<string, number>;
  policy?: string;
}

/** Why a request was refused. */
export interface EventFailure {
  /** The upstream ErrorInformation variant (`AttestationError`, `PolicyDeny`, ...). */
  type: string;
  /** The code of the failed step (`ERR_VERIFIER_REPORT_DATA`, `ERR_KBS_POLICY_DENY`, ...). */
  code: string;
  /** The refusal detail the client got: the binding or rule that failed. */
  detail: string;
}

/** A recorded event. */
export interface TrusteeEvent {
  /** Sortable, unique across replicas: `<ms since epoch, 13 digits>-<replica>-<sequence>`. */
  id: string;
  /** ISO 8601 time of the decision. */
  time: string;
  /** The Trustee process that decided. */
  replica: string;
  kind: TrusteeEventKind;
  verdict: TrusteeEventVerdict;
  /** The step: `auth`, `attest`, `resource`, or the admin endpoint (`POST /kbs/v0/resource-policy`). */
  action: string;
  who: EventSubject;
  /** TEE of the primary evidence. */
  tee?: string;
  /** EAR submods of the token issued or presented (`cpu0`, `gpu0`, ...). */
  ear?: Record<string, EventAppraisal>;
  /** Resource path `repository/type/tag` (the name only). */
  resource?: string;
  failure?: EventFailure;
  /** Server time spent on the request, ms. */
  duration_ms: number;
}

/** What the KBS hands the recorder; id, time and replica are added there. */
export type TrusteeEventInput = Omit<TrusteeEvent, "id" | "time" | "replica"> & {
  /** Decision time, ms since the epoch (default: now). */
  at?: number;
};

/** Orders events by time, then replica, then sequence (ids of one replica count up). */
export function compareEvents(a: TrusteeEvent, b: TrusteeEvent): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  const seq = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));
  return seq(a.id) - seq(b.id);
}

/** Codes for event failures. */
export type EventErrorCode = "ERR_EVENT_FILTER" | "ERR_EVENT_RECORD";

/** A bad event filter or an unreadable stored record. */
export class EventError extends CocoError<EventErrorCode> {}

/** Longest failure detail kept in an event. */
export const MAX_DETAIL_CHARS = 1024;

/** Bounds a string for an event (details come from refusals, names from paths). */
export function clip(s: string, max = MAX_DETAIL_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

// A guest's key appears in its attestation and again in each resource request: remember the
// last few thousand thumbprints (keyed by the members that make the key) so that is one SHA-256.
const thumbprints = new Map<string, string>();
const MAX_THUMBPRINTS = 4096;

/** The RFC 7638 thumbprint of an EC or RSA public JWK (required members only), or undefined. */
export function jwkThumbprint(jwk: unknown): string | undefined {
  if (typeof jwk !== "object" || jwk === null) return undefined;
  const k = jwk as Record<string, unknown>;
  let id: string;
  if (
    k.kty === "EC" &&
    typeof k.crv === "string" &&
    typeof k.x === "string" &&
    typeof k.y === "string"
  ) {
    id = `EC ${k.crv} ${k.x} ${k.y}`;
  } else if (k.kty === "RSA" && typeof k.e === "string" && typeof k.n === "string") {
    id = `RSA ${k.e} ${k.n}`;
  } else {
    return undefined;
  }
  let t = thumbprints.get(id);
  if (t === undefined) {
    // RFC 7638 §3: the required members in lexicographic order, no whitespace.
    const json =
      k.kty === "EC"
        ? `{"crv":${JSON.stringify(k.crv)},"kty":"EC","x":${JSON.stringify(k.x)},"y":${JSON.stringify(k.y)}}`
        : `{"e":${JSON.stringify(k.e)},"kty":"RSA","n":${JSON.stringify(k.n)}}`;
    t = createHash("sha256").update(json).digest("base64url");
    if (thumbprints.size >= MAX_THUMBPRINTS) thumbprints.clear();
    thumbprints.set(id, t);
  }
  return t;
}

/**
 * The appraisal of each EAR submod (status, trust vector, policy) and, from the primary submod's
 * annotated evidence, the subject's TEE key thumbprint and init-data digest. Reads only those
 * members; evidence claims are not copied.
 */
export function appraisalOf(claims: unknown): {
  ear?: Record<string, EventAppraisal>;
  teeKey?: string;
  initData?: string;
  tee?: string;
} {
  const submods = (claims as { submods?: unknown } | null)?.submods;
  if (typeof submods !== "object" || submods === null) return {};
  const ear: Record<string, EventAppraisal> = {};
  let teeKey: string | undefined;
  let initData: string | undefined;
  let tee: string | undefined;
  let n = 0;
  for (const [name, raw] of Object.entries(submods as Record<string, unknown>)) {
    if (n++ >= 16) break;
    const sub = (raw ?? {}) as Record<string, unknown>;
    const tv = sub["ear.trustworthiness-vector"];
    const vector: Record<string, number> = {};
    if (typeof tv === "object" && tv !== null) {
      for (const [k, v] of Object.entries(tv as Record<string, unknown>)) {
        if (typeof v === "number") vector[clip(k, 32)] = v;
      }
    }
    const policy = sub["ear.appraisal-policy-id"];
    ear[clip(name, 32)] = {
      status: clip(String(sub["ear.status"] ?? "none"), 32),
      trust_vector: vector,
      ...(typeof policy === "string" ? { policy: clip(policy, 64) } : {}),
    };
    const ann = sub["ear.veraison.annotated-evidence"] as Record<string, unknown> | undefined;
    if (teeKey === undefined && typeof ann === "object" && ann !== null) {
      const rd = ann.runtime_data_claims as Record<string, unknown> | null | undefined;
      teeKey = jwkThumbprint(rd?.["tee-pubkey"]);
      if (typeof ann.init_data === "string") initData = clip(ann.init_data, 160);
      // The TEE is the one member that is not a claim moved to the top by the AS.
      tee = Object.keys(ann).find(
        (k) =>
          k !== "init_data" &&
          k !== "init_data_claims" &&
          k !== "report_data" &&
          k !== "runtime_data_claims",
      );
    }
  }
  return {
    ear,
    ...(teeKey !== undefined ? { teeKey } : {}),
    ...(initData !== undefined ? { initData } : {}),
    ...(tee !== undefined ? { tee: clip(tee, 32) } : {}),
  };
}
