/**
 * Upstream's `LocalJson` layout: one file per namespace, `<dir>/<namespace>`, holding a JSON
 * object of key → URL-safe base64 (padded) value. Every change rewrites the file atomically
 * (temporary file with mode 0600, fsync, rename); changes within this process are serialized.
 * Several processes must not share one directory (use LocalFs or PostgreSQL for that).
 */

import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { prepareStorageRoot, removeStaleTemps } from "./root.js";
import {
  assertKey,
  assertNamespace,
  assertValue,
  type KeyValueStore,
  type PutOptions,
  StorageError,
} from "./types.js";

/** A LocalJson store rooted at `dir`. */
export async function createLocalJsonStore(
  dir: string,
  opts: { log?: (line: string) => void } = {},
): Promise<KeyValueStore> {
  await prepareStorageRoot(dir, opts.log);
  await removeStaleTemps(dir);
  const locks = new Map<string, Promise<unknown>>();
  const serialize = <T>(ns: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(ns) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    locks.set(
      ns,
      next.catch(() => {}),
    );
    return next;
  };
  const read = async (ns: string): Promise<Record<string, string>> => {
    assertNamespace(ns);
    let text: string;
    try {
      text = await fs.readFile(join(dir, ns), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw new StorageError("ERR_STORAGE_IO", `read ${ns} failed`, { cause: err });
    }
    try {
      const obj = JSON.parse(text) as unknown;
      if (typeof obj !== "object" || obj === null || Array.isArray(obj))
        throw new Error("not an object");
      return obj as Record<string, string>;
    } catch (err) {
      throw new StorageError("ERR_STORAGE_IO", `${join(dir, ns)} is not a LocalJson object`, {
        cause: err,
      });
    }
  };
  const write = async (ns: string, items: Record<string, string>): Promise<void> => {
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(8).toString("hex")}`);
    try {
      const fh = await fs.open(tmp, "wx", 0o600);
      try {
        await fh.writeFile(JSON.stringify(items));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, join(dir, ns));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw new StorageError("ERR_STORAGE_IO", `write ${ns} failed`, { cause: err });
    }
  };
  const decode = (v: string) => new Uint8Array(Buffer.from(v, "base64url"));
  const encode = (v: Uint8Array) =>
    Buffer.from(v).toString("base64").replaceAll("+", "-").replaceAll("/", "_");
  return {
    async get(ns, key) {
      assertKey(key);
      const items = await read(ns);
      const v = Object.hasOwn(items, key) ? items[key] : undefined;
      return typeof v === "string" ? decode(v) : undefined;
    },
    async put(ns, key, value, opts: PutOptions = {}) {
      assertKey(key);
      assertValue(value);
      return serialize(ns, async () => {
        const items = await read(ns);
        if (opts.overwrite === false && Object.hasOwn(items, key)) return false;
        items[key] = encode(value);
        await write(ns, items);
        return true;
      });
    },
    async delete(ns, key) {
      assertKey(key);
      return serialize(ns, async () => {
        const items = await read(ns);
        if (!Object.hasOwn(items, key)) return false;
        delete items[key];
        await write(ns, items);
        return true;
      });
    },
    async list(ns) {
      return Object.keys(await read(ns)).sort();
    },
    async close() {},
  };
}
