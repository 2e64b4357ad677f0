import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { hasCode } from "../errors.js";
import { spoolToFile } from "./spool.js";

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
