/**
 * PostgreSQL store for several Trustee replicas (upstream `Postgres` backend). One table holds
 * every namespace; `put` with `overwrite: false` is `INSERT ... ON CONFLICT DO NOTHING`, so the
 * check-and-write is atomic across replicas. The `pg` package is the wrapped dependency.
 */
import pg from "pg";
import {
  assertKey,
  assertNamespace,
  assertValue,
  type KeyValueStore,
  type PutOptions,
  StorageError,
} from "./types.js";

/** Connection settings (upstream `[storage_backend.backends.postgres]`). */
export interface PostgresConfig {
  host?: string;
  port?: number;
  db?: string;
  username?: string;
  password?: string;
  /** A `postgres://` URL; overrides the other fields (upstream's POSTGRES_URL). */
  url?: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Table name (default `coco_trustee_kv`). */
  table?: string;
}

const TABLE = /^[a-z_][a-z0-9_]{0,62}$/;

function wrap(op: string, err: unknown): StorageError {
  // pg error messages never contain the password; keep only the code and the message.
  const e = err as { code?: string; message?: string };
  return new StorageError(
    "ERR_STORAGE_IO",
    `postgres ${op} failed (${e.code ?? "error"}): ${e.message ?? ""}`,
    {
      cause: err,
    },
  );
}

/** Connects, creates the table if missing, and returns the store. */
export async function createPostgresStore(cfg: PostgresConfig): Promise<KeyValueStore> {
  const table = cfg.table ?? "coco_trustee_kv";
  if (!TABLE.test(table))
    throw new StorageError("ERR_STORAGE_CONFIG", "invalid postgres table name");
  const pool = new pg.Pool(
    cfg.url !== undefined
      ? { connectionString: cfg.url, max: cfg.maxConnections ?? 10 }
      : {
          host: cfg.host ?? "localhost",
          port: cfg.port ?? 5432,
          database: cfg.db ?? "postgres",
          user: cfg.username ?? "postgres",
          password: cfg.password ?? "",
          max: cfg.maxConnections ?? 10,
          connectionTimeoutMillis: 10_000,
        },
  );
  pool.on("error", () => {
    // An idle client died (server restart); the pool replaces it on next use.
  });
  try {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${table} (namespace TEXT NOT NULL, key TEXT NOT NULL, value BYTEA NOT NULL, PRIMARY KEY (namespace, key))`,
    );
  } catch (err) {
    // 23505: two replicas raced on CREATE TABLE IF NOT EXISTS; the table exists now.
    if ((err as { code?: string }).code !== "23505") {
      await pool.end().catch(() => {});
      throw wrap("connect", err);
    }
  }
  return {
    async get(ns, key) {
      assertNamespace(ns);
      assertKey(key);
      try {
        const r = await pool.query<{ value: Buffer }>(
          `SELECT value FROM ${table} WHERE namespace = $1 AND key = $2`,
          [ns, key],
        );
        const row = r.rows[0];
        return row === undefined ? undefined : new Uint8Array(row.value);
      } catch (err) {
        throw wrap("get", err);
      }
    },
    async put(ns, key, value, opts: PutOptions = {}) {
      assertNamespace(ns);
      assertKey(key);
      assertValue(value);
      const conflict =
        opts.overwrite === false ? "DO NOTHING" : "DO UPDATE SET value = EXCLUDED.value";
      try {
        const r = await pool.query(
          `INSERT INTO ${table} (namespace, key, value) VALUES ($1, $2, $3) ON CONFLICT (namespace, key) ${conflict}`,
          [ns, key, Buffer.from(value)],
        );
        return (r.rowCount ?? 0) > 0;
      } catch (err) {
        throw wrap("put", err);
      }
    },
    async delete(ns, key) {
      assertNamespace(ns);
      assertKey(key);
      try {
        const r = await pool.query(`DELETE FROM ${table} WHERE namespace = $1 AND key = $2`, [
          ns,
          key,
        ]);
        return (r.rowCount ?? 0) > 0;
      } catch (err) {
        throw wrap("delete", err);
      }
    },
    async list(ns) {
      assertNamespace(ns);
      try {
        const r = await pool.query<{ key: string }>(
          `SELECT key FROM ${table} WHERE namespace = $1 ORDER BY key COLLATE "C"`,
          [ns],
        );
        return r.rows.map((x) => x.key);
      } catch (err) {
        throw wrap("list", err);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
