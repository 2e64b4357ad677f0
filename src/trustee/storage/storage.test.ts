import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  postgresSkip,
  startPostgres,
  type TestPostgres,
} from "../../../test/e2e/trustee-postgres.js";
import { runKeyValueStoreSuite } from "./conformance.suite.js";
import { createFileStore } from "./file.js";
import { createLocalJsonStore } from "./local-json.js";
import { createMemoryStore } from "./memory.js";
import { createPostgresStore } from "./postgres.js";

const dir = mkdtempSync(join(tmpdir(), "coco-kv-"));
after(() => rmSync(dir, { recursive: true, force: true }));

runKeyValueStoreSuite("memory", async () => createMemoryStore());
runKeyValueStoreSuite("file", () => createFileStore(dir), { persistent: true });
runKeyValueStoreSuite("local-json", () => createLocalJsonStore(join(dir, "json")), {
  persistent: true,
});

test("local-json uses upstream's layout: <dir>/<namespace> with URL-safe base64 values", async () => {
  const d = mkdtempSync(join(tmpdir(), "coco-kv-json-"));
  try {
    const s = await createLocalJsonStore(d);
    await s.put("repository", "r/t/k", new Uint8Array([0xfb, 0xff, 0x01]));
    assert.deepEqual(JSON.parse(readFileSync(join(d, "repository"), "utf8")), { "r/t/k": "-_8B" });
    assert.equal(statSync(join(d, "repository")).mode & 0o777, 0o600);
    // A file written by upstream (padded URL-safe base64) reads back.
    writeFileSync(
      join(d, "kbs"),
      JSON.stringify({ "resource-policy.rego": `${Buffer.from("pkg").toString("base64url")}=` }),
    );
    assert.equal(Buffer.from((await s.get("kbs", "resource-policy.rego")) ?? []).toString(), "pkg");
    writeFileSync(join(d, "broken"), "[1,2");
    await assert.rejects(s.get("broken", "x"), { code: "ERR_STORAGE_IO" });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

let pg: TestPostgres | undefined;
before(async () => {
  if (!postgresSkip) pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});
runKeyValueStoreSuite(
  "postgres",
  () => {
    if (pg === undefined) throw new Error("postgres not started");
    return createPostgresStore({ url: pg.url });
  },
  { skip: postgresSkip, persistent: true },
);

test("file store writes values 0600 in 0700 directories and leaves no temp files", async () => {
  const d = mkdtempSync(join(tmpdir(), "coco-kv-mode-"));
  try {
    const s = await createFileStore(join(d, "store"));
    await s.put("repository", "r/t/k", new Uint8Array([1, 2, 3]));
    await s.put("repository", "r/t/k", new Uint8Array([4]), { overwrite: false });
    const file = join(d, "store", "repository", "r\\x2Ft\\x2Fk");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(d, "store")).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(d, "store", "repository")), ["r\\x2Ft\\x2Fk"]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test("postgres connection failures are ERR_STORAGE_IO without the password", async () => {
  await assert.rejects(
    createPostgresStore({ host: "127.0.0.1", port: 1, password: "hunter2-secret" }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "ERR_STORAGE_IO");
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    },
  );
});
