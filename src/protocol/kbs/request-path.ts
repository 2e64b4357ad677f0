/**
 * The one canonical form of an HTTP request target, computed once at the edge so that every
 * decision (admin ACL, router, resource store, policy input) sees the same string.
 *
 * Each segment is percent-decoded exactly once. Spellings that could mean two different
 * things to two different readers are refused rather than normalised: encoded separators
 * (`%2F`, `%5C`) and other characters that are not plain printable ASCII once decoded,
 * `%25` (a second decoding would see a new escape), dot segments (`.`, `..`, `%2e`), empty
 * segments (double or trailing slashes), fragments, and anything that is not origin-form.
 * An encoded unreserved character (`%2D` for `-`) is unambiguous and is decoded.
 */
import { KbsProtocolError } from "./errors.js";

/** A request target in canonical form. */
export interface CanonicalRequestPath {
  /** `/` followed by the decoded segments joined with `/` (just `/` for the root). */
  path: string;
  /** The decoded segments (none for the root). */
  segments: string[];
  /** The query string as sent, without `?` (undefined when there is none). */
  rawQuery?: string;
  /** The query decoded into a map (`{}` when there is none). */
  query: Record<string, string>;
}

/** Longest request target accepted. */
export const MAX_REQUEST_TARGET = 4096;
/** Most query parameters accepted. */
export const MAX_QUERY_PARAMS = 32;

function refuse(why: string): never {
  throw new KbsProtocolError("ERR_KBS_PATH", `Invalid request path: ${why}`);
}

/**
 * True for a character a decoded segment may hold: printable ASCII other than the separators
 * and escape characters `/ \ % ? #`.
 */
function allowed(code: number): boolean {
  return (
    code >= 0x21 &&
    code <= 0x7e &&
    code !== 0x2f && // /
    code !== 0x5c && // \
    code !== 0x25 && // %
    code !== 0x3f && // ?
    code !== 0x23 // #
  );
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function decodeSegment(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX.test(hex)) refuse("a % is not followed by two hex digits");
      const b = Number.parseInt(hex, 16);
      if (!allowed(b)) {
        refuse(
          b === 0x2f || b === 0x5c
            ? "an encoded path separator (%2F or %5C) is ambiguous"
            : b === 0x25
              ? "an encoded % (%25) is ambiguous"
              : "an encoded character must be printable ASCII other than / \\ % ? #",
        );
      }
      out += String.fromCharCode(b);
      i += 2;
      continue;
    }
    if (!allowed(c)) refuse("a path segment holds a character that is not printable ASCII");
    out += raw[i];
  }
  return out;
}

/**
 * Canonicalises a request target (`req.url`: origin-form `/a/b?q`). Every refusal is
 * ERR_KBS_PATH naming the rule; the input itself is never echoed.
 */
export function canonicalRequestPath(target: string): CanonicalRequestPath {
  if (target.length > MAX_REQUEST_TARGET) refuse(`longer than ${MAX_REQUEST_TARGET} characters`);
  if (!target.startsWith("/")) refuse("the request target must start with /");
  if (target.includes("#")) refuse("fragments are not allowed");
  const q = target.indexOf("?");
  const rawPath = q >= 0 ? target.slice(0, q) : target;
  const segments: string[] = [];
  if (rawPath !== "/") {
    for (const raw of rawPath.slice(1).split("/")) {
      if (raw === "") refuse("empty path segment (double or trailing slash)");
      const seg = decodeSegment(raw);
      if (seg === "." || seg === "..") refuse("dot segments (. and ..) are not allowed");
      segments.push(seg);
    }
  }
  const out: CanonicalRequestPath = { path: `/${segments.join("/")}`, segments, query: {} };
  if (q >= 0) {
    const rawQuery = target.slice(q + 1);
    out.rawQuery = rawQuery;
    const seen = new Set<string>();
    const entries: Array<[string, string]> = [];
    for (const [k, v] of new URLSearchParams(rawQuery)) {
      if (entries.length >= MAX_QUERY_PARAMS) {
        refuse(`more than ${MAX_QUERY_PARAMS} query parameters`);
      }
      if (seen.has(k)) refuse("a query parameter is given twice");
      seen.add(k);
      entries.push([k, v]);
    }
    // fromEntries defines own properties: a "__proto__" key stays a plain key.
    out.query = Object.fromEntries(entries);
  }
  return out;
}
