/** Trustee storage: the KeyValueStore seam and its backends. */
export { createFileStore } from "./file.js";
export { createLocalJsonStore } from "./local-json.js";
export { createMemoryStore } from "./memory.js";
export { createPostgresStore, type PostgresConfig } from "./postgres.js";
export {
  assertKey,
  assertNamespace,
  type KeyValueStore,
  MAX_VALUE_BYTES,
  type PutOptions,
  StorageError,
  type StorageErrorCode,
} from "./types.js";
