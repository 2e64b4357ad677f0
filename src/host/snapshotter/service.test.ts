import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createSnapshotter, parseFilter, TARGET_LABEL } from "./service.js";
import { SnapshotStore } from "./store.js";

const dir = mkdtempSync(join(tmpdir(), "coco-snap-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (name: string) => {
  const file = join(dir, `${name}.json`);
  return { file, s: createSnapshotter(new SnapshotStore(file), "/var/lib/coco-snapshotter/empty") };
};
const code = (c: string) => ({ code: c });

describe("coco-snapshotter semantics", () => {
  test("an image layer (unpack Prepare with a target) is recorded committed and answered ALREADY_EXISTS", () => {
    const { s } = fresh("layers");
    assert.throws(
      () => s.prepare("extract-1 sha256:aaa", "", { [TARGET_LABEL]: "sha256:aaa" }),
      code("ERR_SNAPSHOT_EXISTS"),
    );
    assert.equal(s.stat("sha256:aaa").kind, "committed");
    assert.throws(
      () =>
        s.prepare("extract-2 sha256:bbb", "sha256:aaa", {
          [TARGET_LABEL]: "sha256:bbb",
          "containerd.io/snapshot/cri.layer-digest": "sha256:1",
        }),
      code("ERR_SNAPSHOT_EXISTS"),
    );
    const b = s.stat("sha256:bbb");
    assert.equal(b.parent, "sha256:aaa");
    assert.equal(b.labels["containerd.io/snapshot/cri.layer-digest"], "sha256:1");
    // The unpack key itself is never kept.
    assert.throws(() => s.stat("extract-1 sha256:aaa"), code("ERR_SNAPSHOT_NOT_FOUND"));
    // Again: still ALREADY_EXISTS (a second image sharing the layer).
    assert.throws(
      () => s.prepare("extract-3 sha256:aaa", "", { [TARGET_LABEL]: "sha256:aaa" }),
      code("ERR_SNAPSHOT_EXISTS"),
    );
  });

  test("a container's rootfs is an active snapshot whose mounts bind an empty folder", () => {
    const { s } = fresh("rootfs");
    assert.throws(() => s.prepare("x", "", { [TARGET_LABEL]: "sha256:top" }));
    const m = s.prepare("ctr-1", "sha256:top", {});
    assert.deepEqual(m, [
      {
        type: "bind",
        source: "/var/lib/coco-snapshotter/empty",
        target: "",
        options: ["rw", "rbind"],
      },
    ]);
    assert.deepEqual(s.mounts("ctr-1"), m);
    assert.deepEqual(s.view("view-1", "sha256:top", {})[0]?.options, ["ro", "rbind"]);
    assert.deepEqual(s.usage("ctr-1"), { size: 0, inodes: 0 });
    assert.throws(() => s.prepare("ctr-1", "sha256:top", {}), code("ERR_SNAPSHOT_EXISTS"));
    assert.throws(() => s.mounts("sha256:top"), code("ERR_SNAPSHOT_PRECONDITION"));
  });

  test("parents must exist and be committed; a snapshot with children cannot go", () => {
    const { s } = fresh("parents");
    assert.throws(() => s.prepare("a", "missing", {}), code("ERR_SNAPSHOT_NOT_FOUND"));
    s.prepare("active", "", {});
    assert.throws(() => s.prepare("b", "active", {}), code("ERR_SNAPSHOT_PRECONDITION"));
    s.commit("base", "active", { l: "1" });
    assert.equal(s.stat("base").kind, "committed");
    assert.throws(() => s.stat("active"), code("ERR_SNAPSHOT_NOT_FOUND"));
    s.prepare("child", "base", {});
    assert.throws(() => s.remove("base"), code("ERR_SNAPSHOT_PRECONDITION"));
    assert.throws(() => s.commit("base", "child", {}), code("ERR_SNAPSHOT_EXISTS"));
    assert.throws(() => s.commit("x", "base", {}), code("ERR_SNAPSHOT_PRECONDITION"));
    s.remove("child");
    s.remove("base");
    assert.throws(() => s.remove("base"), code("ERR_SNAPSHOT_NOT_FOUND"));
  });

  test("Update changes labels only, whole or by path", () => {
    const { s } = fresh("update");
    s.prepare("a", "", { keep: "1", drop: "2" });
    assert.deepEqual(
      s.update({ key: "a", labels: { add: "3" } }, ["labels.add", "labels.drop"]).labels,
      { keep: "1", add: "3" },
    );
    assert.deepEqual(s.update({ key: "a", labels: { only: "x" } }, ["labels"]).labels, {
      only: "x",
    });
    assert.throws(
      () => s.update({ key: "a", labels: {} }, ["parent"]),
      code("ERR_SNAPSHOT_INVALID"),
    );
  });

  test("List filters by name, parent, kind and labels; unknown syntax is refused", () => {
    const { s } = fresh("list");
    assert.throws(() => s.prepare("u", "", { [TARGET_LABEL]: "L1", team: "a" }));
    s.prepare("c1", "L1", { team: "b" });
    assert.deepEqual(
      s
        .list([])
        .map((r) => r.key)
        .sort(),
      ["L1", "c1"],
    );
    assert.deepEqual(
      s.list(["kind==committed"]).map((r) => r.key),
      ["L1"],
    );
    assert.deepEqual(
      s.list(['labels."team"==b']).map((r) => r.key),
      ["c1"],
    );
    assert.deepEqual(
      s.list(["parent==L1,kind==active"]).map((r) => r.key),
      ["c1"],
    );
    assert.deepEqual(s.list(["name==L1", "name==c1"]).length, 2);
    assert.deepEqual(
      s.list(["name!=L1"]).map((r) => r.key),
      ["c1"],
    );
    for (const f of ["name~=x", "size>1", "", `name==${"x".repeat(5000)}`])
      assert.throws(() => parseFilter(f), code("ERR_SNAPSHOT_INVALID"));
  });

  test("empty, oversized keys and labels are refused", () => {
    const { s } = fresh("limits");
    assert.throws(() => s.prepare("", "", {}), code("ERR_SNAPSHOT_INVALID"));
    assert.throws(() => s.prepare("k".repeat(5000), "", {}), code("ERR_SNAPSHOT_INVALID"));
    assert.throws(() => s.prepare("a", "", { k: "v".repeat(5000) }), code("ERR_SNAPSHOT_INVALID"));
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, "v"]));
    assert.throws(() => s.prepare("a", "", many), code("ERR_SNAPSHOT_INVALID"));
    assert.throws(() => s.prepare("a", "", { "": "v" }), code("ERR_SNAPSHOT_INVALID"));
  });

  test("records survive a restart; a garbage state file is refused", () => {
    const { s, file } = fresh("persist");
    assert.throws(() => s.prepare("u", "", { [TARGET_LABEL]: "L" }));
    s.prepare("c", "L", { a: "b" });
    const again = createSnapshotter(new SnapshotStore(file), "/e");
    assert.equal(again.stat("c").labels.a, "b");
    assert.equal(again.stat("L").kind, "committed");
    for (const bad of ["{", '{"version":2,"snapshots":[]}', "null"]) {
      writeFileSync(join(dir, "bad.json"), bad);
      assert.throws(() => new SnapshotStore(join(dir, "bad.json")), code("ERR_SNAPSHOT_STATE"));
    }
  });
});
