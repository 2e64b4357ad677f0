/**
 * containers-policy.json: parsing into a small model, and scope selection for an image (full
 * reference, repository, parent namespaces, wildcard domains, the transport's "" scope, default).
 */
import { OciError } from "../errors.js";
import { formatReference, type ImageReference, referenceName } from "../reference.js";

/** A `signedIdentity` rule. */
export type SignedIdentity =
  | { type: "matchExact" }
  | { type: "matchRepoDigestOrExact" }
  | { type: "matchRepository" }
  | { type: "exactReference"; dockerReference: string }
  | { type: "exactRepository"; dockerRepository: string }
  | { type: "remapIdentity"; prefix: string; signedPrefix: string };

/** Where a requirement's key material comes from. */
export type KeySource = { keyPath: string } | { keyPaths: string[] } | { keyData: Uint8Array };

/** One policy requirement. */
export type PolicyRequirement =
  | { type: "insecureAcceptAnything" }
  | { type: "reject" }
  | { type: "signedBy"; keyType: "GPGKeys"; key: KeySource; signedIdentity: SignedIdentity }
  | { type: "sigstoreSigned"; key: KeySource; signedIdentity: SignedIdentity };

/** A parsed policy. */
export interface Policy {
  default: PolicyRequirement[];
  transports: Record<string, Record<string, PolicyRequirement[]>>;
}

function bad(why: string): never {
  throw new OciError("ERR_OCI_POLICY", `policy: ${why}`);
}

function parseIdentity(v: unknown, fallback: SignedIdentity): SignedIdentity {
  if (v === undefined) return fallback;
  const o = v as Record<string, unknown>;
  if (o === null || typeof o !== "object") bad("signedIdentity must be an object");
  switch (o.type) {
    case "matchExact":
    case "matchRepoDigestOrExact":
    case "matchRepository":
      return { type: o.type };
    case "exactReference":
      if (typeof o.dockerReference !== "string") bad("exactReference needs dockerReference");
      return { type: "exactReference", dockerReference: o.dockerReference };
    case "exactRepository":
      if (typeof o.dockerRepository !== "string") bad("exactRepository needs dockerRepository");
      return { type: "exactRepository", dockerRepository: o.dockerRepository };
    case "remapIdentity":
      if (typeof o.prefix !== "string" || typeof o.signedPrefix !== "string")
        bad("remapIdentity needs prefix and signedPrefix");
      return { type: "remapIdentity", prefix: o.prefix, signedPrefix: o.signedPrefix };
    default:
      return bad(`unknown signedIdentity type '${String(o.type).slice(0, 40)}'`);
  }
}

function parseKey(o: Record<string, unknown>, pemData: boolean): KeySource {
  const given = ["keyPath", "keyPaths", "keyData"].filter((k) => o[k] !== undefined);
  if (given.length !== 1) bad(`${String(o.type)} needs exactly one of keyPath, keyPaths, keyData`);
  if (typeof o.keyPath === "string") return { keyPath: o.keyPath };
  if (
    Array.isArray(o.keyPaths) &&
    o.keyPaths.every((p) => typeof p === "string") &&
    o.keyPaths.length > 0
  )
    return { keyPaths: o.keyPaths as string[] };
  if (typeof o.keyData === "string") {
    // The spec says base64; image-rs takes sigstoreSigned keyData as raw PEM. Accept both.
    if (pemData && o.keyData.includes("-----BEGIN")) return { keyData: Buffer.from(o.keyData) };
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(o.keyData)) bad("keyData must be base64");
    return { keyData: Buffer.from(o.keyData, "base64") };
  }
  return bad("key fields have the wrong type");
}

function parseRequirement(v: unknown): PolicyRequirement {
  const o = v as Record<string, unknown>;
  if (o === null || typeof o !== "object" || Array.isArray(o))
    bad("a requirement must be an object");
  switch (o.type) {
    case "insecureAcceptAnything":
    case "reject":
      return { type: o.type };
    case "signedBy":
      if (o.keyType !== "GPGKeys")
        bad(`signedBy keyType '${String(o.keyType).slice(0, 40)}' is not supported (GPGKeys)`);
      return {
        type: "signedBy",
        keyType: "GPGKeys",
        key: parseKey(o, false),
        signedIdentity: parseIdentity(o.signedIdentity, { type: "matchRepoDigestOrExact" }),
      };
    case "sigstoreSigned":
      if (
        o.fulcio !== undefined ||
        o.rekorPublicKeyPath !== undefined ||
        o.rekorPublicKeyData !== undefined
      ) {
        throw new OciError(
          "ERR_OCI_NOT_IMPLEMENTED",
          "policy: keyless sigstoreSigned (fulcio/rekor) is not supported; use a public key",
        );
      }
      // cosign writes the repository alone as identity, so matchRepository is the useful default.
      return {
        type: "sigstoreSigned",
        key: parseKey(o, true),
        signedIdentity: parseIdentity(o.signedIdentity, { type: "matchRepository" }),
      };
    default:
      return bad(`unknown requirement type '${String(o.type).slice(0, 40)}'`);
  }
}

function parseList(v: unknown, where: string): PolicyRequirement[] {
  if (!Array.isArray(v)) bad(`${where} must be an array of requirements`);
  return v.map(parseRequirement);
}

/** Parses containers-policy.json bytes. */
export function parsePolicy(bytes: Uint8Array): Policy {
  if (bytes.byteLength > 4 * 1024 * 1024) bad("larger than 4 MiB");
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  } catch {
    bad("not valid JSON");
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) bad("not a JSON object");
  const policy: Policy = { default: parseList(j.default, "default"), transports: {} };
  const t = j.transports ?? {};
  if (t === null || typeof t !== "object" || Array.isArray(t)) bad("transports must be an object");
  for (const [name, scopes] of Object.entries(t as Record<string, unknown>)) {
    if (scopes === null || typeof scopes !== "object" || Array.isArray(scopes))
      bad(`transports.${name} must be an object`);
    policy.transports[name] = {};
    for (const [scope, list] of Object.entries(scopes as Record<string, unknown>)) {
      policy.transports[name]![scope] = parseList(list, `transports.${name}["${scope}"]`);
    }
  }
  return policy;
}

/** The scopes tried for a docker image, most specific first (containers/image order). */
export function dockerScopes(ref: ImageReference): string[] {
  const out: string[] = [formatReference(ref)];
  const parts = referenceName(ref).split("/");
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join("/"));
  const host = ref.registry;
  if (!host.includes(":")) {
    const labels = host.split(".");
    for (let i = 1; i < labels.length; i++) out.push(`*.${labels.slice(i).join(".")}`);
  }
  return out;
}

/** The requirement list that applies to an image, and the scope it came from. */
export function requirementsFor(
  policy: Policy,
  transport: string,
  ref: ImageReference,
): { scope: string; requirements: PolicyRequirement[] } {
  const scopes = policy.transports[transport];
  if (scopes !== undefined) {
    const candidates = transport === "docker" ? dockerScopes(ref) : [];
    for (const s of candidates) {
      const hit = scopes[s];
      if (hit !== undefined) return { scope: s, requirements: hit };
    }
    const any = scopes[""];
    if (any !== undefined) return { scope: `${transport}:""`, requirements: any };
  }
  return { scope: "default", requirements: policy.default };
}
