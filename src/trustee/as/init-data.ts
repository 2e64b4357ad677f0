/**
 * Init-data as the AS handles it (attestation-service/src/lib.rs, kbs/docs/initdata.md): a TOML
 * document `{version, algorithm, data: {string: string}}` whose digest, with its own algorithm,
 * is taken over the whole text as received. The `data` map becomes `init_data_claims`, with
 * `cdh.toml`/`aa.toml` parsed into objects and a Kata policy's `policy_data := {...}` lifted
 * into `agent_policy_claims`.
 */
import { digest, type HashAlgorithm, isHashAlgorithm } from "../../crypto/digest.js";
import { parseJsonLimited, parseTomlLimited } from "../../protocol/limits/index.js";
import { AttestationServiceError } from "./errors.js";

/** Largest init-data document accepted (bytes of TOML text). */
export const MAX_INIT_DATA_BYTES = 256 * 1024;

/**
 * Parse limits for init-data and the TOML documents inside it: init-data arrives at /attest
 * from anyone, so nesting, keys and strings are bounded before smol-toml builds anything.
 */
const INIT_DATA_TOML_LIMITS = {
  maxBytes: MAX_INIT_DATA_BYTES,
  maxDepth: 16,
  maxKeys: 4096,
  maxStringLength: MAX_INIT_DATA_BYTES,
};

/** Parsed and digested init-data. */
export interface InitDataResult {
  algorithm: HashAlgorithm;
  digest: Uint8Array;
  claims: Record<string, unknown>;
}

function fail(why: string, cause?: unknown): never {
  throw new AttestationServiceError("ERR_AS_INIT_DATA", `init-data: ${why}`, { cause });
}

/**
 * A parsed TOML value as upstream's `serde_json::to_value(toml::Value)` shapes it: a TOML
 * date-time becomes `{"$__toml_private_datetime": "<toml_datetime Display>"}` (date
 * `YYYY-MM-DD`, time `HH:MM:SS` with the fraction's trailing zeros trimmed, offset `Z` or
 * `±HH:MM`). smol-toml keeps milliseconds, so a fraction finer than 1 ms is rounded down.
 */
export function tomlToUpstreamJson(v: unknown): unknown {
  if (v instanceof Date) {
    const iso = v
      .toISOString()
      .replace(/\.(\d*?)0*(?=$|Z|[+-]\d\d:\d\d$)/, (_m, frac: string) =>
        frac === "" ? "" : `.${frac}`,
      );
    return { $__toml_private_datetime: iso };
  }
  if (Array.isArray(v)) return v.map(tomlToUpstreamJson);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = tomlToUpstreamJson(x);
    return out;
  }
  return v;
}

/** Parses init-data TOML, computes its digest and claims; any defect is ERR_AS_INIT_DATA. */
export function processInitDataToml(text: string): InitDataResult {
  if (Buffer.byteLength(text, "utf8") > MAX_INIT_DATA_BYTES) {
    fail(`larger than ${MAX_INIT_DATA_BYTES} bytes`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseTomlLimited(text, INIT_DATA_TOML_LIMITS);
  } catch (err) {
    fail((err as Error).message.replace(/^not valid TOML.*/, "body is not valid TOML"), err);
  }
  if (typeof doc.version !== "string") fail("version must be a string");
  const algorithm = doc.algorithm;
  if (!isHashAlgorithm(algorithm)) {
    fail("algorithm must be one of sha256, sha384, sha512, sm3 (lowercase, no dash)");
  }
  const data = doc.data ?? {};
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    fail("data must be a table of strings");
  }
  const claims: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (typeof v !== "string") fail(`data.${k} must be a string`);
    claims[k] = v;
  }
  for (const name of ["cdh.toml", "aa.toml"]) {
    const v = claims[name];
    if (typeof v === "string") {
      try {
        claims[name] = tomlToUpstreamJson(parseTomlLimited(v, INIT_DATA_TOML_LIMITS));
      } catch {
        // upstream keeps the string when it does not parse
      }
    }
  }
  const policy = claims["policy.rego"];
  if (typeof policy === "string") {
    const at = policy.indexOf("policy_data := {");
    if (at >= 0) {
      try {
        claims.agent_policy_claims = parseJsonLimited(policy.slice(policy.indexOf("{", at)), {
          maxBytes: MAX_INIT_DATA_BYTES,
          maxStringBytes: MAX_INIT_DATA_BYTES,
        });
        delete claims["policy.rego"];
      } catch {
        // not JSON: leave the policy text as it is
      }
    }
  }
  return { algorithm, digest: digest(algorithm, text), claims };
}
