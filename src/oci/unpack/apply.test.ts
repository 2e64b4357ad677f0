import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildTar, type TestEntry } from "../testing.js";
import { defaultUnpackRules } from "./rules.js";
import { createInProcessSink } from "./sink.js";

const root = process.getuid?.() === 0;

async function unpack(dir: string, entries: TestEntry[]): Promise<void> {
  mkdirSync(dir);
  const sink = createInProcessSink(dir, defaultUnpackRules(), "sha256");
  await sink.write(await buildTar(entries));
  await sink.end();
}

describe("LayerApplier ownership", () => {
  let base: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), "coco-apply-"));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  it("gives every file the owner its entry names, whether or not the chown is skipped", {
    skip: root ? false : "needs root to set owners",
  }, async () => {
    const dir = join(base, "owners");
    await unpack(dir, [
      // A plain directory of ours: files with our ids skip the chown.
      { name: "plain/", type: "directory", mode: 0o755 },
      { name: "plain/ours", content: "a" },
      { name: "plain/theirs", content: "b", uid: 1000, gid: 1001 },
      // A setgid directory hands its group down: our-ids files still need the chown.
      { name: "sgid/", type: "directory", mode: 0o2775, gid: 50 },
      { name: "sgid/ours", content: "c" },
      { name: "sgid/grp", content: "d", gid: 50 },
      // A directory of another group (a grpid mount would hand that down too).
      { name: "other/", type: "directory", mode: 0o755, gid: 7 },
      { name: "other/ours", content: "e" },
      // A directory made implicitly for a deeper entry: its group is not known.
      { name: "implicit/deep/ours", content: "f" },
    ]);
    const owner = (p: string) => {
      const st = lstatSync(join(dir, p));
      return [st.uid, st.gid];
    };
    assert.deepEqual(owner("plain/ours"), [0, 0]);
    assert.deepEqual(owner("plain/theirs"), [1000, 1001]);
    assert.deepEqual(owner("sgid"), [0, 50]);
    assert.equal(lstatSync(join(dir, "sgid")).mode & 0o7777, 0o2775);
    assert.deepEqual(owner("sgid/ours"), [0, 0]);
    assert.deepEqual(owner("sgid/grp"), [0, 50]);
    assert.deepEqual(owner("other/ours"), [0, 0]);
    assert.deepEqual(owner("implicit/deep/ours"), [0, 0]);
  });
});
