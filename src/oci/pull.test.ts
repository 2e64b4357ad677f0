import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hasCode } from "../errors.js";
import { acceptAnything, pullImage } from "./pull.js";
import { createLayoutSource } from "./source.js";
import { buildTar, snapshotTree, type TestEntry, writeTestImage } from "./testing.js";

const umociMissing =
  spawnSync("umoci", ["--version"]).status === 0 ? false : "umoci is not installed";

// Three layers with files, links, deletions (whiteouts) and an opaque directory.
const layer1: TestEntry[] = [
  { name: "bin/", type: "directory" },
  { name: "bin/tool", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
  { name: "bin/suid", content: "x", mode: 0o4755 },
  { name: "etc/", type: "directory", mode: 0o755 },
  {
    name: "etc/passwd",
    content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
  },
  { name: "etc/hosts", content: "127.0.0.1 localhost\n", uid: 1000, gid: 1000, mode: 0o600 },
  { name: "data/", type: "directory", mode: 0o750, uid: 1000, gid: 1000 },
  { name: "data/a.txt", content: "a" },
  { name: "data/sub/", type: "directory" },
  { name: "data/sub/deep.txt", content: "deep" },
  { name: "opq/", type: "directory" },
  { name: "opq/old1", content: "old1" },
  { name: "opq/olddir/", type: "directory" },
  { name: "opq/olddir/x", content: "x" },
  { name: "link-to-tool", type: "symlink", linkname: "bin/tool" },
  { name: "abs-link", type: "symlink", linkname: "/etc/hosts" },
  { name: "hard-tool", type: "link", linkname: "bin/tool" },
  { name: "gone.txt", content: "will be deleted" },
  { name: "gonedir/", type: "directory" },
  { name: "gonedir/f", content: "f" },
  { name: "fifo", type: "fifo" },
];
const layer2: TestEntry[] = [
  { name: ".wh.gone.txt" },
  { name: ".wh.gonedir" },
  { name: "opq/", type: "directory", mode: 0o700 },
  { name: "opq/.wh..wh..opq" },
  { name: "opq/new", content: "new" },
  { name: "data/a.txt", content: "a replaced", mode: 0o640 },
  { name: "bin/tool", content: "#!/bin/sh\necho v2\n", mode: 0o755 },
];
const layer3: TestEntry[] = [
  { name: "data/sub", type: "symlink", linkname: "../bin" },
  { name: "etc/hosts", type: "directory" },
  { name: "etc/hosts/inner", content: "file became dir" },
  { name: "opq/new2", content: "n2" },
];

describe("pull from an OCI layout", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "coco-oci-pull-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const unpackWorker of [false, true]) {
    test(`unpacks a 3-layer image with whiteouts and opaque dirs exactly as umoci does (${unpackWorker ? "worker thread" : "in process"})`, {
      skip: umociMissing,
    }, async () => {
      const layout = join(dir, `layout-${unpackWorker}`);
      writeTestImage(layout, "v1", [
        { tar: await buildTar(layer1) },
        { tar: await buildTar(layer2), compression: "none" },
        { tar: await buildTar(layer3) },
      ]);
      const ours = join(dir, `ours-${unpackWorker}`);
      const res = await pullImage({
        source: createLayoutSource(layout),
        selector: "v1",
        bundleDir: ours,
        verify: acceptAnything,
        rules: { devices: "create" },
        unpackWorker,
      });
      assert.equal(res.layers.length, 3);
      const theirs = join(dir, `umoci-${unpackWorker}`);
      const r = spawnSync("umoci", ["unpack", "--image", `${layout}:v1`, theirs], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      const a = snapshotTree(join(ours, "rootfs"));
      const b = snapshotTree(join(theirs, "rootfs"));
      assert.deepEqual([...a.keys()], [...b.keys()]);
      for (const [k, v] of a) assert.deepEqual(v, b.get(k), k);
      assert.equal(readFileSync(join(ours, "rootfs/bin/tool"), "utf8"), "#!/bin/sh\necho v2\n");
      assert.ok(!existsSync(join(ours, "rootfs/gone.txt")));
      assert.deepEqual(readdirSync(join(ours, "rootfs/opq")).sort(), ["new", "new2"]);
      assert.equal(lstatSync(join(ours, "rootfs/data/sub")).isSymbolicLink(), true);
      assert.equal(statSync(join(ours, "rootfs/etc/hosts")).isDirectory(), true);
      const spec = JSON.parse(readFileSync(join(ours, "config.json"), "utf8"));
      assert.deepEqual(spec.process.args, ["/bin/sh"]);
      assert.equal(spec.root.path, "rootfs");
      assert.deepEqual(readdirSync(ours).sort(), ["config.json", "rootfs"]);
    });
  }

  test("reads ahead into memory, spools, or streams in turn, as the budgets allow", async () => {
    const layout = join(dir, "budget");
    const layers = await Promise.all(
      [1, 2, 3].map((n) => buildTar([{ name: `f${n}`, content: String(n).repeat(5000) }])),
    );
    const { manifest } = writeTestImage(
      layout,
      "b",
      layers.map((tar) => ({ tar })),
    );
    const sizes = (JSON.parse(manifest.toString()) as { layers: { size: number }[] }).layers.map(
      (l) => l.size,
    );
    // Streamed, spooled, read into memory, and layer 2 in memory while layer 3 is spooled.
    for (const [prefetchMemoryBytes, prefetchMaxBytes] of [
      [0, 0],
      [0, 1 << 20],
      [1 << 20, 0],
      [sizes[1]!, 1 << 20],
    ] as const) {
      const out = join(dir, `budget-${prefetchMemoryBytes}-${prefetchMaxBytes}`);
      await pullImage({
        source: createLayoutSource(layout),
        selector: "b",
        bundleDir: out,
        verify: acceptAnything,
        prefetchMaxBytes,
        prefetchMemoryBytes,
      });
      assert.deepEqual(readdirSync(join(out, "rootfs")).sort(), ["f1", "f2", "f3"]);
      assert.equal(readFileSync(join(out, "rootfs/f3"), "utf8"), "3".repeat(5000));
      assert.deepEqual(readdirSync(out).sort(), ["config.json", "rootfs"]);
    }
  });

  test("unpacks on the worker thread in a process started with node --input-type=module -e", async () => {
    const layout = join(dir, "eval");
    writeTestImage(layout, "e", [{ tar: await buildTar([{ name: "hello", content: "hi" }]) }]);
    const out = join(dir, "eval-bundle");
    const pull = new URL("./pull.js", import.meta.url).href;
    const source = new URL("./source.js", import.meta.url).href;
    const script = `
const { pullImage, acceptAnything } = await import(${JSON.stringify(pull)});
const { createLayoutSource } = await import(${JSON.stringify(source)});
await pullImage({ source: createLayoutSource(${JSON.stringify(layout)}), selector: "e", bundleDir: ${JSON.stringify(out)}, verify: acceptAnything, unpackWorker: true });`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(out, "rootfs/hello"), "utf8"), "hi");
  });

  test("unpacks a zstd layer and checks its diff_id", async () => {
    const layout = join(dir, "zstd");
    writeTestImage(
      layout,
      "z",
      [{ tar: await buildTar([{ name: "hello", content: "zstd!" }]), compression: "zstd" }],
      { User: "0:0" },
    );
    const out = join(dir, "zstd-bundle");
    await pullImage({
      source: createLayoutSource(layout),
      selector: "z",
      bundleDir: out,
      verify: acceptAnything,
    });
    assert.equal(readFileSync(join(out, "rootfs/hello"), "utf8"), "zstd!");
  });

  test("the policy step runs before any layer and its refusal leaves no rootfs", async () => {
    const layout = join(dir, "denied");
    writeTestImage(layout, "d", [{ tar: await buildTar([{ name: "f", content: "x" }]) }]);
    const out = join(dir, "denied-bundle");
    await assert.rejects(
      pullImage({
        source: createLayoutSource(layout),
        selector: "d",
        bundleDir: out,
        verify: async () => {
          const { OciError } = await import("./errors.js");
          throw new OciError("ERR_OCI_POLICY_DENIED", "denied");
        },
      }),
      (e) => hasCode(e, "ERR_OCI_POLICY_DENIED"),
    );
    assert.ok(!existsSync(join(out, "rootfs")));
  });
});

describe("content-addressed blob store", () => {
  test("a second pull reuses stored blobs, still verifies them, and evicts a damaged one", async () => {
    const { createBlobStore } = await import("./store.js");
    const { writeFileSync } = await import("node:fs");
    const dir = mkdtempSync(join(tmpdir(), "coco-oci-store-"));
    try {
      const layout = join(dir, "layout");
      writeTestImage(layout, "s", [
        { tar: await buildTar([{ name: "a", content: "A" }]) },
        { tar: await buildTar([{ name: "b", content: "B" }]) },
      ]);
      const store = createBlobStore(join(dir, "store"));
      const pull = (n: string) =>
        pullImage({
          source: createLayoutSource(layout),
          selector: "s",
          bundleDir: join(dir, n),
          verify: acceptAnything,
          store,
        });
      const first = await pull("b1");
      assert.deepEqual(
        first.layers.map((l) => l.cached),
        [false, false],
      );
      const second = await pull("b2");
      assert.deepEqual(
        second.layers.map((l) => l.cached),
        [true, true],
      );
      assert.equal(readFileSync(join(dir, "b2/rootfs/b"), "utf8"), "B");
      const d0 = first.layers[0]!.digest;
      const stored = join(dir, "store/blobs/sha256", d0.slice(7));
      const bytes = readFileSync(stored);
      bytes[4]! ^= 1; // still valid gzip, wrong digest
      writeFileSync(stored, bytes);
      await assert.rejects(pull("b3"), (e) => hasCode(e, "ERR_OCI_DIGEST_MISMATCH"));
      assert.ok(!existsSync(stored), "damaged blob evicted");
      const fourth = await pull("b4");
      assert.deepEqual(
        fourth.layers.map((l) => l.cached),
        [false, true],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("blob store bound", () => {
  test("keeps the store under maxBytes by dropping the least recently used blobs", async () => {
    const { createBlobStore } = await import("./store.js");
    const { readdirSync, statSync } = await import("node:fs");
    const { randomBytes } = await import("node:crypto");
    const dir = mkdtempSync(join(tmpdir(), "coco-oci-lru-"));
    try {
      const layout = join(dir, "layout");
      // Three single-layer images of ~40 KiB incompressible layers; the bound fits two.
      const tags = ["a", "b", "c"];
      for (const t of tags)
        writeTestImage(layout, t, [
          { tar: await buildTar([{ name: t, content: randomBytes(40_000) }]) },
        ]);
      const store = createBlobStore(join(dir, "store"), { maxBytes: 100_000 });
      const pull = (t: string, n: string) =>
        pullImage({
          source: createLayoutSource(layout),
          selector: t,
          bundleDir: join(dir, n),
          verify: acceptAnything,
          store,
        });
      await pull("a", "1");
      await new Promise((r) => setTimeout(r, 20));
      await pull("b", "2");
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        (await pull("a", "3")).layers.map((l) => l.cached),
        [true],
      );
      await new Promise((r) => setTimeout(r, 20));
      await pull("c", "4");
      const blobs = join(dir, "store/blobs/sha256");
      const total = readdirSync(blobs).reduce((acc, n) => acc + statSync(join(blobs, n)).size, 0);
      assert.ok(total <= 100_000, `store holds ${total} bytes`);
      // b was the least recently used, so it went; a (used again) and c stay.
      assert.deepEqual(
        (await pull("a", "5")).layers.map((l) => l.cached),
        [true],
      );
      assert.deepEqual(
        (await pull("b", "6")).layers.map((l) => l.cached),
        [false],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("no cached-image shortcut", () => {
  test("a re-pull of an image whose blobs are all stored still runs the policy and can be refused", async () => {
    const { createBlobStore } = await import("./store.js");
    const { OciError } = await import("./errors.js");
    const dir = mkdtempSync(join(tmpdir(), "coco-oci-recheck-"));
    try {
      const layout = join(dir, "layout");
      writeTestImage(layout, "s", [{ tar: await buildTar([{ name: "a", content: "A" }]) }]);
      const store = createBlobStore(join(dir, "store"));
      let calls = 0;
      await pullImage({
        source: createLayoutSource(layout),
        selector: "s",
        bundleDir: join(dir, "b1"),
        store,
        verify: async () => void calls++,
      });
      await assert.rejects(
        pullImage({
          source: createLayoutSource(layout),
          selector: "s",
          bundleDir: join(dir, "b2"),
          store,
          verify: async () => {
            calls++;
            throw new OciError("ERR_OCI_POLICY_DENIED", "policy changed: now refused");
          },
        }),
        (e) => hasCode(e, "ERR_OCI_POLICY_DENIED"),
      );
      assert.equal(calls, 2);
      assert.ok(!existsSync(join(dir, "b2/rootfs")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("progress", () => {
  test("reports the manifest, bytes as a large layer streams, and each finished layer", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coco-oci-progress-"));
    try {
      const layout = join(dir, "layout");
      const { randomBytes } = await import("node:crypto");
      writeTestImage(layout, "p", [
        { tar: await buildTar([{ name: "big", content: randomBytes(9 * 1024 * 1024) }]) },
      ]);
      const seen: string[] = [];
      await pullImage({
        source: createLayoutSource(layout),
        selector: "p",
        bundleDir: join(dir, "b"),
        verify: acceptAnything,
        onProgress: (p) => seen.push(p.kind),
      });
      assert.equal(seen[0], "manifest");
      assert.ok(seen.filter((k) => k === "layer-bytes").length >= 2);
      assert.equal(seen.at(-1), "layer-done");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
