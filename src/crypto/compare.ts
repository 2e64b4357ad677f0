import { timingSafeEqual } from "node:crypto";

/**
 * Constant-time equality of two byte strings. Different lengths return false at once (the
 * length is not secret in any use here: digests and MACs have fixed sizes).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Constant-time equality of two strings compared as UTF-8 bytes. */
export function constantTimeEqualString(a: string, b: string): boolean {
  return constantTimeEqual(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
