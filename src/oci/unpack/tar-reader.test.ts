import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chownSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { after, before, describe, test } from "node:test";
import { hasCode } from "../../errors.js";
import { acceptAnything, pullImage } from "../pull.js";
import { createLayoutSource } from "../source.js";
import { buildTar, snapshotTree, writeTestImage } from "../testing.js";
import type { TarEntryHeader } from "./apply.js";
import { createTarParser } from "./tar.js";
import { TarReader } from "./tar-reader.js";

interface Seen {
  name: string;
  type: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  sha: string;
}

function norm(h: TarEntryHeader, body: Buffer): Seen {
  return {
    name: h.name,
    type: h.type,
    mode: (h.mode ?? 0) & 0o7777,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size: body.length,
    mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
    linkname: h.linkname ?? "",
    sha: createHash("sha256").update(body).digest("hex"),
  };
}

/** Parses with our reader, feeding chunks of the given sizes. */
function ours(tar: Buffer, chunk: number | "random" = 65536): Seen[] {
  const out: Seen[] = [];
  const r = new TarReader((h) => {
    const parts: Buffer[] = [];
    return {
      write: (c) => parts.push(Buffer.from(c)),
      end: () => out.push(norm(h, Buffer.concat(parts))),
      abort: () => {},
    };
  });
  let i = 0;
  let seed = 7;
  while (i < tar.length) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const n = chunk === "random" ? 1 + (seed % 3000) : chunk;
    r.push(tar.subarray(i, i + n));
    i += n;
  }
  r.end();
  return out.filter((e) => e.type !== "pax-global-header");
}

/** Parses with tar-stream (the library) for comparison. */
async function library(tar: Buffer): Promise<Seen[]> {
  const out: Seen[] = [];
  await pipeline(
    Readable.from([tar]),
    createTarParser(async (h, data) => {
      const parts: Buffer[] = [];
      for await (const c of data) parts.push(Buffer.from(c));
      const body = [
        "link",
        "symlink",
        "directory",
        "fifo",
        "character-device",
        "block-device",
      ].includes(h.type ?? "")
        ? Buffer.alloc(0)
        : Buffer.concat(parts);
      out.push(norm(h, body));
    }),
  );
  return out.filter((e) => e.type !== "pax-global-header");
}

const tarMissing = spawnSync("tar", ["--version"]).status === 0 ? false : "GNU tar not installed";

describe("synchronous tar reader", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "coco-tar-"));
    const t = join(dir, "tree");
    const long = "d".repeat(120);
    mkdirSync(join(t, long, "e".repeat(150)), { recursive: true });
    writeFileSync(join(t, long, "e".repeat(150), `${"f".repeat(200)}.txt`), "long path");
    for (const size of [0, 1, 511, 512, 513, 100_000])
      writeFileSync(join(t, `size-${size}`), Buffer.alloc(size, size % 251));
    writeFileSync(join(t, "ünïcødé ☃.txt"), "unicode");
    symlinkSync("x".repeat(180), join(t, "long-symlink"));
    symlinkSync("size-1", join(t, "short-symlink"));
    linkSync(join(t, "size-513"), join(t, "hardlink"));
    writeFileSync(join(t, "big-ids"), "ids");
    chownSync(join(t, "big-ids"), 3_000_000, 4_000_000);
    spawnSync("mkfifo", [join(t, "fifo")]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ["gnu", "pax", "posix", "oldgnu"]) {
    test(`agrees with tar-stream on a GNU tar --format=${format} archive (long names, links, big ids, fifo)`, {
      skip: tarMissing,
    }, async () => {
      const r = spawnSync("tar", [`--format=${format}`, "-C", join(dir, "tree"), "-cf", "-", "."], {
        maxBuffer: 1 << 26,
      });
      assert.equal(r.status, 0, r.stderr?.toString());
      const tar = r.stdout as Buffer;
      const a = ours(tar);
      // tar-stream ignores pax `uid`/`gid` records (GNU tar writes them for ids above 2097151 and
      // puts 0 in the header), so it reports root for big-ids; we follow the records.
      const fixLibrary = (e: Seen) =>
        e.name.endsWith("big-ids") ? { ...e, uid: 3_000_000, gid: 4_000_000 } : e;
      assert.deepEqual(a, (await library(tar)).map(fixLibrary));
      assert.ok(a.some((e) => e.name.endsWith(`${"f".repeat(200)}.txt`) && e.size === 9));
      assert.ok(a.some((e) => e.type === "symlink" && e.linkname === "x".repeat(180)));
      assert.ok(a.some((e) => e.type === "link"));
      assert.ok(a.some((e) => e.uid === 3_000_000 && e.gid === 4_000_000));
      assert.deepEqual(ours(tar, 1), a, "byte-by-byte feeding");
      assert.deepEqual(ours(tar, "random"), a, "random chunking");
    });
  }

  test("a GNU tar pax layer unpacks exactly as umoci unpacks it", {
    skip:
      tarMissing ||
      (spawnSync("umoci", ["--version"]).status === 0 ? false : "umoci not installed"),
  }, async () => {
    const r = spawnSync("tar", ["--format=pax", "-C", join(dir, "tree"), "-cf", "-", "."], {
      maxBuffer: 1 << 26,
    });
    const layout = join(dir, "gnu-layout");
    writeTestImage(layout, "t", [{ tar: r.stdout as Buffer }]);
    await pullImage({
      source: createLayoutSource(layout),
      selector: "t",
      bundleDir: join(dir, "ours"),
      verify: acceptAnything,
    });
    const u = spawnSync("umoci", ["unpack", "--image", `${layout}:t`, join(dir, "umoci")], {
      encoding: "utf8",
    });
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(
      snapshotTree(join(dir, "ours/rootfs")),
      snapshotTree(join(dir, "umoci/rootfs")),
    );
  });

  test("agrees with tar-stream on archives tar-stream writes (pax records, prefix split)", async () => {
    const tar = await buildTar([
      { name: `${"p".repeat(140)}/file`, content: "prefix" },
      { name: "pax-entry", content: "x", pax: { "SCHILY.xattr.user.k": "v" } },
      { name: "dir/", type: "directory", mode: 0o1777 },
      { name: "dev", type: "character-device", devmajor: 1, devminor: 3 },
    ]);
    assert.deepEqual(ours(tar), await library(tar));
  });

  test("refuses truncation at every point, checksum damage, bad numbers and oversize extended headers", async () => {
    const tar = await buildTar([
      { name: "a", content: Buffer.alloc(1500, 1) },
      { name: `${"l".repeat(300)}`, content: "long" },
    ]);
    const dataEnd = tar.length - 1024; // the two zero blocks at the end are optional
    for (let cut = 1; cut < dataEnd; cut += 97) {
      assert.throws(
        () => ours(tar.subarray(0, cut)),
        (e) => hasCode(e, "ERR_OCI_TAR"),
        `cut at ${cut}`,
      );
    }
    const damaged = Buffer.from(tar);
    damaged[10]! ^= 0xff;
    assert.throws(
      () => ours(damaged),
      (e) => hasCode(e, "ERR_OCI_TAR"),
    );
    const badSize = Buffer.from(tar);
    badSize.write("9999", 124, "latin1");
    assert.throws(
      () => ours(badSize),
      (e) => hasCode(e, "ERR_OCI_TAR"),
    );
    assert.throws(
      () => ours(Buffer.alloc(512, 0x41)),
      (e) => hasCode(e, "ERR_OCI_TAR"),
    );
    // A pax header declaring 2 MiB of records.
    const pax = Buffer.alloc(512);
    pax.write("PaxHeaders/x", 0);
    pax.write("0000644\0", 100);
    pax.write("0000000\0", 108);
    pax.write("0000000\0", 116);
    pax.write("00010000000\0", 124);
    pax.write("00000000000\0", 136);
    pax[156] = 0x78;
    pax.write("ustar\x0000", 257, "latin1");
    pax.fill(0x20, 148, 156);
    let sum = 0;
    for (const c of pax) sum += c;
    pax.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    assert.throws(
      () => ours(pax),
      (e) => hasCode(e, "ERR_OCI_TAR") && /extended header/.test((e as Error).message),
    );
  });

  test("reads past zero blocks (concatenated archives), like image-rs's ignore_zeros", async () => {
    const a = await buildTar([{ name: "one", content: "1" }]);
    const b = await buildTar([{ name: "two", content: "2" }]);
    assert.deepEqual(
      ours(Buffer.concat([a, b])).map((e) => e.name),
      ["one", "two"],
    );
  });
});
