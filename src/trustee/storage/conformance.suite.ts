/**
 * The shared conformance suite every {@link KeyValueStore} backend runs (file, memory, postgres).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeyValueStore } from "./types.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** Registers the conformance tests for a backend; `open` may be called several times. */
export function runKeyValueStoreSuite(
  name: string,
  open: () => Promise<KeyValueStore>,
  opts: { skip?: string | false; persistent?: boolean } = {},
): void {
  const t = (title: string, fn: (s: KeyValueStore) => Promise<void>) =>
    test(`${name}: ${title}`, { skip: opts.skip ?? false }, async () => {
      const s = await open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });

  t("stores, reads, overwrites and deletes values with nested keys", async (s) => {
    assert.equal(await s.get("repository", "a/b/c"), undefined);
    assert.equal(await s.put("repository", "a/b/c", enc("one")), true);
    assert.deepEqual(await s.get("repository", "a/b/c"), enc("one"));
    assert.equal(await s.put("repository", "a/b/c", enc("two")), true);
    assert.deepEqual(await s.get("repository", "a/b/c"), enc("two"));
    assert.equal(await s.delete("repository", "a/b/c"), true);
    assert.equal(await s.delete("repository", "a/b/c"), false);
    assert.equal(await s.get("repository", "a/b/c"), undefined);
  });

  t("put without overwrite keeps the first value and reports it", async (s) => {
    assert.equal(await s.put("kbs", "once", enc("first"), { overwrite: false }), true);
    assert.equal(await s.put("kbs", "once", enc("second"), { overwrite: false }), false);
    assert.deepEqual(await s.get("kbs", "once"), enc("first"));
    await s.delete("kbs", "once");
  });

  t("concurrent no-overwrite puts of one key: exactly one wins", async (s) => {
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        s.put("kbs_used_challenge", "race", enc(String(i)), { overwrite: false }),
      ),
    );
    assert.equal(results.filter(Boolean).length, 1);
    await s.delete("kbs_used_challenge", "race");
  });

  t("namespaces are separate and list returns sorted keys", async (s) => {
    await s.put("reference_value", "z", enc("1"));
    await s.put("reference_value", "a/b", enc("2"));
    await s.put("kbs", "z", enc("3"));
    assert.deepEqual(await s.list("reference_value"), ["a/b", "z"]);
    assert.deepEqual(await s.get("kbs", "z"), enc("3"));
    await s.delete("reference_value", "z");
    await s.delete("reference_value", "a/b");
    await s.delete("kbs", "z");
    assert.deepEqual(await s.list("reference_value"), []);
  });

  t("binary values round-trip byte for byte", async (s) => {
    const v = new Uint8Array(256).map((_, i) => i);
    await s.put("repository", "bin/ary/all", v);
    assert.deepEqual(await s.get("repository", "bin/ary/all"), v);
    await s.delete("repository", "bin/ary/all");
  });

  t("refuses traversal, empty segments, odd characters and bad namespaces", async (s) => {
    for (const key of ["../x", "a/../b", "a//b", "/a", ".hidden", "a/b/", "a b", "a\0b", ""]) {
      await assert.rejects(s.put("repository", key, enc("x")), { code: "ERR_STORAGE_KEY" });
      await assert.rejects(s.get("repository", key), { code: "ERR_STORAGE_KEY" });
    }
    await assert.rejects(s.get("../etc", "x"), { code: "ERR_STORAGE_NAMESPACE" });
  });

  if (opts.persistent) {
    test(`${name}: values survive closing and reopening`, {
      skip: opts.skip ?? false,
    }, async () => {
      const a = await open();
      await a.put("repository", "keep/me/please", enc("kept"));
      await a.close();
      const b = await open();
      try {
        assert.deepEqual(await b.get("repository", "keep/me/please"), enc("kept"));
        await b.delete("repository", "keep/me/please");
      } finally {
        await b.close();
      }
    });
  }
}
