/**
 * The embedded default store: one directory per namespace, one file per key (upstream
 * `LocalFs` layout: a `/` in the key is the literal `\x2F` in the file name). Writes go to a
 * temporary file with mode 0600, are fsynced, then renamed (or hard-linked for
 * no-overwrite puts), so a crash never leaves a partial value and no other user can read it.
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

const SLASH = "\\x2F";

function encodeKey(key: string): string {
  return key.split("/").join(SLASH);
}

function decodeKey(name: string): string {
  return name.split(SLASH).join("/");
}

function ioError(op: string, ns: string, key: string, err: unknown): StorageError {
  const code = (err as NodeJS.ErrnoException).code ?? "unknown";
  return new StorageError("ERR_STORAGE_IO", `${op} ${ns}/${key} failed (${code})`, { cause: err });
}

/** Options of {@link createFileStore} and the LocalJson store. */
export interface FileStoreOptions {
  /** Where warnings go (a storage root that others could read, made private). */
  log?: (line: string) => void;
}

/**
 * A file-backed store rooted at `dir` (created with mode 0700; an existing root that group or
 * others can read is made 0700, with a warning). Temporary files a crash left are removed.
 */
export async function createFileStore(
  dir: string,
  opts: FileStoreOptions = {},
): Promise<KeyValueStore> {
  await prepareStorageRoot(dir, opts.log);
  for (const ns of await fs.readdir(dir)) await removeStaleTemps(join(dir, ns));
  const ready = new Set<string>();
  const nsDir = async (ns: string) => {
    assertNamespace(ns);
    const d = join(dir, ns);
    if (!ready.has(ns)) {
      await fs.mkdir(d, { recursive: true, mode: 0o700 });
      ready.add(ns);
    }
    return d;
  };
  const writeTemp = async (d: string, value: Uint8Array): Promise<string> => {
    const tmp = join(d, `.tmp-${process.pid}-${randomBytes(8).toString("hex")}`);
    const fh = await fs.open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(value);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  };
  return {
    async get(ns, key) {
      assertKey(key);
      const p = join(await nsDir(ns), encodeKey(key));
      try {
        return new Uint8Array(await fs.readFile(p));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw ioError("read", ns, key, err);
      }
    },
    async put(ns, key, value, opts: PutOptions = {}) {
      assertKey(key);
      assertValue(value);
      const d = await nsDir(ns);
      const p = join(d, encodeKey(key));
      let tmp: string | undefined;
      try {
        tmp = await writeTemp(d, value);
        if (opts.overwrite === false) {
          try {
            await fs.link(tmp, p);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
            throw err;
          }
          return true;
        }
        await fs.rename(tmp, p);
        tmp = undefined;
        return true;
      } catch (err) {
        throw ioError("write", ns, key, err);
      } finally {
        if (tmp !== undefined) await fs.rm(tmp, { force: true });
      }
    },
    async delete(ns, key) {
      assertKey(key);
      try {
        await fs.unlink(join(await nsDir(ns), encodeKey(key)));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw ioError("delete", ns, key, err);
      }
    },
    async list(ns) {
      const names = await fs.readdir(await nsDir(ns));
      return names
        .filter((n) => !n.startsWith(".tmp-"))
        .map(decodeKey)
        .sort();
    },
    async close() {},
  };
}
