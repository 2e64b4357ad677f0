import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { hasCode } from "../errors.js";
import { readAhead, spoolToFile } from "./spool.js";

describe("spoolToFile", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "coco-spool-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes every chunk to a new 0600 file", async () => {
    const file = join(dir, "ok");
    await spoolToFile(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), file, 4);
    assert.equal(readFileSync(file, "utf8"), "abcd");
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it("refuses more bytes than the descriptor says and leaves no file", async () => {
    const file = join(dir, "big");
    await assert.rejects(
      spoolToFile(Readable.from([Buffer.alloc(3), Buffer.alloc(3)]), file, 5),
      (e) => hasCode(e, "ERR_OCI_TOO_LARGE"),
    );
    assert.ok(!existsSync(file));
  });

  it("passes a download error on and leaves no file", async () => {
    const file = join(dir, "broken");
    const src = new Readable({
      read() {
        this.push(Buffer.from("x"));
        this.destroy(new Error("connection reset"));
      },
    });
    await assert.rejects(spoolToFile(src, file, 100), /connection reset/);
    assert.ok(!existsSync(file));
  });

  it("never writes through an existing file", async () => {
    const file = join(dir, "ok");
    await assert.rejects(spoolToFile(Readable.from([Buffer.from("zz")]), file, 10), {
      code: "EEXIST",
    });
    assert.equal(readFileSync(file, "utf8"), "abcd");
  });
});

describe("readAhead", () => {
  const readAll = async (r: Readable) => {
    const parts: Buffer[] = [];
    for await (const c of r) parts.push(c as Buffer);
    return Buffer.concat(parts).toString();
  };

  it("receives the whole blob before anyone reads, then yields it in order", async () => {
    const src = new PassThrough();
    const ahead = readAhead(src, 6);
    src.write("ab");
    src.write("cd");
    src.end("ef");
    await new Promise((r) => setImmediate(r));
    // Nothing waits for a reader: the source was drained into the read-ahead buffer.
    assert.equal(src.readableLength, 0);
    assert.equal(ahead.readableLength, 6);
    assert.equal(await readAll(ahead), "abcdef");
  });

  it("refuses more bytes than the descriptor says and closes the download", async () => {
    const src = new PassThrough();
    const ahead = readAhead(src, 5);
    src.write(Buffer.alloc(3));
    src.write(Buffer.alloc(3));
    await new Promise((r) => setImmediate(r));
    assert.ok(src.destroyed);
    await assert.rejects(readAll(ahead), (e) => hasCode(e, "ERR_OCI_TOO_LARGE"));
  });

  it("keeps a download error for the reader, without an unhandled error before", async () => {
    const src = new PassThrough();
    const ahead = readAhead(src, 100);
    src.write("x");
    src.destroy(new Error("connection reset"));
    await new Promise((r) => setImmediate(r));
    await assert.rejects(readAll(ahead), /connection reset/);
  });

  it("closes the download when destroyed", async () => {
    const src = new PassThrough();
    const ahead = readAhead(src, 100);
    ahead.destroy();
    await new Promise((r) => setImmediate(r));
    assert.ok(src.destroyed);
  });
});
