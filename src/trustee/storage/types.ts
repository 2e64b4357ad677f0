/**
 * The one storage seam of Trustee: a namespaced key-value store (upstream's `KeyValueStorage`).
 * Namespaces used: `kbs` (resource policy), `repository` (resources, key `repo/type/tag`),
 * `attestation_service_policy`, `reference_value`, `kbs_used_challenge` (replay ledger).
 * Every backend runs the shared conformance suite in `conformance.suite.ts`.
 */
import { CocoError } from "../../errors.js";

/** Options for {@link KeyValueStore.put}. */
export interface PutOptions {
  /** Replace an existing value (default true). When false, an existing key is left alone. */
  overwrite?: boolean;
}

/** A namespaced key-value store. Values are opaque bytes. */
export interface KeyValueStore {
  /** The value under `key`, or undefined. */
  get(namespace: string, key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `value`; returns true when written, false when `overwrite: false` and the key
   * existed (the check and the write are one atomic step).
   */
  put(namespace: string, key: string, value: Uint8Array, opts?: PutOptions): Promise<boolean>;
  /** Removes `key`; returns whether it existed. */
  delete(namespace: string, key: string): Promise<boolean>;
  /** All keys of a namespace, sorted. */
  list(namespace: string): Promise<string[]>;
  /** Releases connections and handles. */
  close(): Promise<void>;
}

/** Codes for storage failures. */
export type StorageErrorCode =
  | "ERR_STORAGE_KEY"
  | "ERR_STORAGE_NAMESPACE"
  | "ERR_STORAGE_TOO_LARGE"
  | "ERR_STORAGE_IO"
  | "ERR_STORAGE_CONFIG";

/** A storage failure. Messages name the namespace and key, never the value. */
export class StorageError extends CocoError<StorageErrorCode> {}

/** Largest value any backend accepts (resources are secrets, not images). */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;

const NAMESPACE = /^[a-z][a-z0-9_]{0,62}$/;
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,511}$/;

/** Checks a namespace name (lowercase identifier). */
export function assertNamespace(ns: string): void {
  if (!NAMESPACE.test(ns)) {
    throw new StorageError(
      "ERR_STORAGE_NAMESPACE",
      `invalid storage namespace ${JSON.stringify(ns.slice(0, 64))}`,
    );
  }
}

/**
 * Checks a key as upstream does (`[A-Za-z0-9-_./]`, not starting with `.` or `/`), and also
 * refuses `..` and empty segments so no backend can be walked out of its namespace.
 */
export function assertKey(key: string): void {
  const bad = !KEY.test(key) || key.split("/").some((s) => s === "" || s === "." || s === "..");
  if (bad) {
    throw new StorageError(
      "ERR_STORAGE_KEY",
      `invalid storage key ${JSON.stringify(key.slice(0, 64))}`,
    );
  }
}

/** Checks a value's size. */
export function assertValue(value: Uint8Array): void {
  if (value.length > MAX_VALUE_BYTES) {
    throw new StorageError(
      "ERR_STORAGE_TOO_LARGE",
      `value is larger than ${MAX_VALUE_BYTES} bytes`,
    );
  }
}
