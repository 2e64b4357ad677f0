import {
  assertKey,
  assertNamespace,
  assertValue,
  type KeyValueStore,
  type PutOptions,
} from "./types.js";

/** An in-process store (upstream `Memory`): nothing survives a restart. */
export function createMemoryStore(): KeyValueStore {
  const spaces = new Map<string, Map<string, Uint8Array>>();
  const space = (ns: string) => {
    assertNamespace(ns);
    let m = spaces.get(ns);
    if (m === undefined) {
      m = new Map();
      spaces.set(ns, m);
    }
    return m;
  };
  return {
    async get(ns, key) {
      assertKey(key);
      const v = space(ns).get(key);
      return v === undefined ? undefined : new Uint8Array(v);
    },
    async put(ns, key, value, opts: PutOptions = {}) {
      assertKey(key);
      assertValue(value);
      const m = space(ns);
      if (opts.overwrite === false && m.has(key)) return false;
      m.set(key, new Uint8Array(value));
      return true;
    },
    async delete(ns, key) {
      assertKey(key);
      return space(ns).delete(key);
    },
    async list(ns) {
      return [...space(ns).keys()].sort();
    },
    async close() {},
  };
}
