/**
 * Init-data documents (Trustee "Initdata Specification", guest-components `--initdata-toml`):
 * TOML `{version = "0.1.0", algorithm = "sha256|sha384|sha512", [data] <name> = "<string>"}`.
 * The digest is the named hash over the document's exact bytes, not a canonical form.
 */
import { parse as parseToml } from "smol-toml";
import { digest, type HashAlgorithm } from "../../crypto/digest.js";
import { CocoError } from "../../errors.js";
import { ParseLimitError } from "../limits/errors.js";
import { checkTomlLimits } from "../limits/toml.js";

/** Codes for init-data failures. */
export type InitDataErrorCode =
  | "ERR_INITDATA_PARSE"
  | "ERR_INITDATA_FIELD"
  | "ERR_INITDATA_TOO_LARGE";

/** Malformed init-data. */
export class InitDataError extends CocoError<InitDataErrorCode> {}

/** The only version upstream accepts. */
export const INITDATA_VERSION = "0.1.0";
/** Init-data algorithms (serde lowercase names; `sm3` is accepted by guest-components). */
export const INITDATA_ALGORITHMS = ["sha256", "sha384", "sha512", "sm3"] as const;
/** Largest init-data document accepted (the Kata annotation limit is far smaller). */
export const MAX_INITDATA_BYTES = 1 << 20;

/** A parsed, validated init-data document with its digest. */
export interface InitData {
  version: string;
  algorithm: HashAlgorithm;
  data: Record<string, string>;
  /** The document text exactly as given (sent to Trustee as `init-data.body`). */
  text: string;
  /** `algorithm` over the raw bytes. */
  digest: Uint8Array;
}

/** Parses and validates init-data TOML bytes and computes its digest. */
export function parseInitData(bytes: Uint8Array | string): InitData {
  const raw = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  if (raw.length > MAX_INITDATA_BYTES) {
    throw new InitDataError(
      "ERR_INITDATA_TOO_LARGE",
      `init-data is ${raw.length} bytes, over the ${MAX_INITDATA_BYTES}-byte limit`,
    );
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(raw);
  let doc: Record<string, unknown>;
  try {
    // The host hands init-data to the guest: nesting, keys and strings are bounded before
    // smol-toml builds anything.
    checkTomlLimits(text, {
      maxBytes: MAX_INITDATA_BYTES,
      maxStringLength: MAX_INITDATA_BYTES,
      maxDepth: 16,
      maxKeys: 4096,
    });
    doc = parseToml(text, { maxDepth: 16 }) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ParseLimitError) {
      throw new InitDataError("ERR_INITDATA_TOO_LARGE", `init-data: ${err.message}`, {
        cause: err,
      });
    }
    throw new InitDataError(
      "ERR_INITDATA_PARSE",
      `init-data is not valid TOML: ${(err as Error).message.split("\n")[0]}`,
      {
        cause: err,
      },
    );
  }
  if (doc.version !== INITDATA_VERSION) {
    throw new InitDataError(
      "ERR_INITDATA_FIELD",
      `init-data version must be "${INITDATA_VERSION}"`,
    );
  }
  const algorithm = doc.algorithm;
  if (
    typeof algorithm !== "string" ||
    !(INITDATA_ALGORITHMS as readonly string[]).includes(algorithm)
  ) {
    throw new InitDataError(
      "ERR_INITDATA_FIELD",
      `init-data algorithm must be one of ${INITDATA_ALGORITHMS.join(", ")}`,
    );
  }
  const data: Record<string, string> = {};
  const rawData = doc.data ?? {};
  if (typeof rawData !== "object" || rawData === null || Array.isArray(rawData)) {
    throw new InitDataError("ERR_INITDATA_FIELD", "init-data [data] must be a table of strings");
  }
  for (const [k, v] of Object.entries(rawData)) {
    if (typeof v !== "string") {
      throw new InitDataError(
        "ERR_INITDATA_FIELD",
        `init-data data.${JSON.stringify(k)} must be a string`,
      );
    }
    data[k] = v;
  }
  return {
    version: INITDATA_VERSION,
    algorithm: algorithm as HashAlgorithm,
    data,
    text,
    digest: digest(algorithm as HashAlgorithm, raw),
  };
}

/** Fits a digest to a TEE field: truncated at the end if longer, zero-padded if shorter. */
export function fitDigest(d: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(d.subarray(0, length));
  return out;
}
