/**
 * The decrypted resources the token client keeps for conditional revalidation: the plaintext
 * of the last 200 for a path, with its ETag and the token it was fetched with. The next GET of
 * that path with the same token sends `If-None-Match`; Trustee still authorizes the call in
 * full and answers 304 only when the resource is unchanged for this TEE key. Held in memory
 * only (never logged or written), bounded in entries and bytes, least recently used dropped.
 */

/** Entries kept at most. */
export const MAX_CACHED_RESOURCES = 256;
/** A resource larger than this is not kept (it is fetched in full every time). */
export const MAX_CACHED_RESOURCE_BYTES = 64 << 10;
/** Bytes of plaintext kept at most. */
export const MAX_CACHED_TOTAL_BYTES = 4 << 20;
/** An ETag longer than this, or not a quoted entity tag, is not kept (nor sent back). */
const MAX_ETAG = 128;
const ETAG = /^(?:W\/)?"[\x21\x23-\x7e]*"$/;

/** One kept resource. */
export interface CachedResource {
  /** What the plaintext was fetched with (the token and key it is bound to). */
  owner: object;
  etag: string;
  value: Uint8Array;
}

/** True when `etag` is a quoted entity tag short enough to keep and send back. */
export function isKeepableEtag(etag: string | undefined): etag is string {
  return etag !== undefined && etag.length <= MAX_ETAG && ETAG.test(etag);
}

/** The opaque part of an entity tag (RFC 9110 weak comparison ignores `W/`). */
export function opaqueTag(etag: string): string {
  return etag.startsWith("W/") ? etag.slice(2) : etag;
}

/** A bounded LRU of decrypted resources by KBS path. */
export class ResourceCache {
  readonly #entries = new Map<string, CachedResource>();
  #bytes = 0;

  /** The entry for `path` fetched by `owner`, if any (an entry of another owner is dropped). */
  lookup(path: string, owner: object): CachedResource | undefined {
    const e = this.#entries.get(path);
    if (e === undefined) return undefined;
    if (e.owner !== owner) {
      this.drop(path);
      return undefined;
    }
    // Most recently used last.
    this.#entries.delete(path);
    this.#entries.set(path, e);
    return e;
  }

  /** Keeps a copy of `value` for `path` when its tag and size allow; otherwise forgets `path`. */
  store(path: string, owner: object, etag: string | undefined, value: Uint8Array): void {
    this.drop(path);
    if (!isKeepableEtag(etag) || value.length > MAX_CACHED_RESOURCE_BYTES) return;
    while (
      this.#entries.size >= MAX_CACHED_RESOURCES ||
      this.#bytes + value.length > MAX_CACHED_TOTAL_BYTES
    ) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
    this.#entries.set(path, { owner, etag, value: Buffer.from(value) });
    this.#bytes += value.length;
  }

  /** Forgets `path`. */
  drop(path: string): void {
    const e = this.#entries.get(path);
    if (e === undefined) return;
    this.#entries.delete(path);
    this.#bytes -= e.value.length;
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
