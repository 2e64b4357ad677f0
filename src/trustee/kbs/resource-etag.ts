/**
 * Conditional revalidation of resource GETs (an extension; upstream Trustee sends no ETag and
 * ignores If-None-Match). A 200 carries `ETag: "<tag>"`, where the tag is an HMAC-SHA-256
 * under a random key this process made at start-up over the resource path, the resource bytes
 * and the requesting TEE public key. A GET that passed the full authorization (token, resource
 * policy, resource present) and sends that tag back in `If-None-Match` is answered
 * `304 Not Modified` with no body: the guest already holds the plaintext, so no JWE is built.
 *
 * The tag reveals nothing of the secret (a keyed MAC, key never leaves the process) and cannot
 * be compared across guests or resources (the TEE key and the path are inside the MAC). Only
 * tags this process issued match: `*`, weak tags of other shapes, anything oversized or
 * malformed is ignored and the GET answers 200 as usual. Workers of a cluster each have their
 * own key, so a guest served by another worker gets a 200 (correct, only slower).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TeePublicJwk } from "../../crypto/jwe.js";

/** Longest If-None-Match header looked at (a few of our tags); longer ones are ignored. */
export const MAX_IF_NONE_MATCH = 512;
/** Entity tags looked at in one If-None-Match list. */
const MAX_TAGS = 8;
/** Domain separation of the MAC input. */
const DOMAIN = Buffer.from("coco-ts resource etag v1");
/** `"` + 43 base64url characters (32 bytes) + `"`. */
const TAG_LENGTH = 45;
/** Tags remembered (by resource path and TEE key), each with the bytes it was computed over. */
export const MAX_REMEMBERED_TAGS = 1024;
/** The tag of a value larger than this is computed afresh on every GET (no copy is kept). */
export const MAX_REMEMBERED_VALUE_BYTES = 4096;

/** Issues and checks resource entity tags. */
export interface ResourceTagger {
  /** The quoted entity tag of `value` at `path` released to `tee`. */
  tagOf(path: string, value: Uint8Array, tee: TeePublicJwk): string;
  /** True when `ifNoneMatch` (the request header) lists `tag`; compared in constant time. */
  matches(ifNoneMatch: string | string[] | undefined, tag: string): boolean;
}

/** The TEE key's identity: its public members in a fixed order. */
function teeIdentity(tee: TeePublicJwk): string {
  return tee.kty === "EC" ? `EC|${tee.crv}|${tee.x}|${tee.y}` : `RSA|${tee.alg}|${tee.n}|${tee.e}`;
}

/** Creates a tagger with a fresh random key (`key` only for tests). */
export function createResourceTagger(key: Uint8Array = randomBytes(32)): ResourceTagger {
  const k = Buffer.from(key);
  const compute = (path: string, id: string, value: Uint8Array): string => {
    // One buffer, one update: domain | len path | path | len tee | tee | len value | value.
    const pathLen = Buffer.byteLength(path);
    const idLen = Buffer.byteLength(id);
    const m = Buffer.allocUnsafe(DOMAIN.length + 12 + pathLen + idLen + value.length);
    let o = DOMAIN.copy(m, 0);
    o = m.writeUInt32BE(pathLen, o);
    o += m.write(path, o);
    o = m.writeUInt32BE(idLen, o);
    o += m.write(id, o);
    o = m.writeUInt32BE(value.length, o);
    m.set(value, o);
    return `"${createHmac("sha256", k).update(m).digest("base64url")}"`;
  };
  // A guest that revalidates asks for the same path with the same key again and again: the
  // tag of the bytes it was last given is remembered (least recently used dropped first) and
  // given again only while the stored bytes are exactly those (compared in full on each GET).
  const remembered = new Map<string, { value: Buffer; tag: string }>();
  return {
    tagOf(path, value, tee) {
      const id = teeIdentity(tee);
      const memoKey = `${path.length}:${path}${id}`;
      const hit = remembered.get(memoKey);
      if (hit !== undefined) {
        remembered.delete(memoKey);
        if (hit.value.equals(value)) {
          remembered.set(memoKey, hit); // most recently used last
          return hit.tag;
        }
      }
      const tag = compute(path, id, value);
      if (value.length <= MAX_REMEMBERED_VALUE_BYTES) {
        while (remembered.size >= MAX_REMEMBERED_TAGS) {
          remembered.delete(remembered.keys().next().value as string);
        }
        remembered.set(memoKey, { value: Buffer.from(value), tag });
      }
      return tag;
    },
    matches(ifNoneMatch, tag) {
      // node:http joins repeated If-None-Match headers with ", " (one list).
      if (typeof ifNoneMatch !== "string" || ifNoneMatch.length > MAX_IF_NONE_MATCH) return false;
      if (tag.length !== TAG_LENGTH) return false;
      const want = Buffer.from(tag, "latin1");
      let found = false;
      const parts = ifNoneMatch.split(",", MAX_TAGS);
      for (const raw of parts) {
        let t = raw.trim();
        // If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
        if (t.startsWith("W/")) t = t.slice(2);
        if (t.length !== TAG_LENGTH) continue;
        // No early exit: every listed candidate is compared.
        if (timingSafeEqual(Buffer.from(t, "latin1"), want)) found = true;
      }
      return found;
    },
  };
}
