/**
 * Mutation fuzzing of the hand-written tar reader, alone and feeding the layer applier into a
 * real directory. Mutated headers get their checksum recomputed so mutations reach the field
 * parsers; pax records get huge, negative and garbage lengths; GNU long names and sparse headers
 * are in the seeds. Property: a clean result or an `OciError` with a code, no hang, and nothing
 * written outside the target directory.
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { describeStats, fuzz, mutate, Rng } from "../../../test/helpers/fuzz.js";
import { OciError } from "../errors.js";
import { LayerApplier } from "./apply.js";
import { defaultUnpackRules } from "./rules.js";
import { TarReader } from "./tar-reader.js";

const BLOCK = 512;

interface HeaderSpec {
  name: string;
  flag: string;
  size?: number;
  linkname?: string;
  mode?: number;
  /** Raw size field bytes (12), e.g. base-256. */
  rawSize?: Uint8Array;
  prefix?: string;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

/** Recomputes the checksum of the 512-byte header at `off`. */
function fixChecksum(t: Uint8Array, off: number): void {
  t.fill(0x20, off + 148, off + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += t[off + i]!;
  Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `, "ascii").forEach((c, i) => {
    t[off + 148 + i] = c;
  });
}

function header(h: HeaderSpec): Uint8Array {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, "utf8");
  b.write(octal(h.mode ?? 0o644, 8), 100, "ascii");
  b.write(octal(0, 8), 108, "ascii");
  b.write(octal(0, 8), 116, "ascii");
  if (h.rawSize) b.set(h.rawSize, 124);
  else b.write(octal(h.size ?? 0, 12), 124, "ascii");
  b.write(octal(1_700_000_000, 12), 136, "ascii");
  b[156] = h.flag.charCodeAt(0);
  if (h.linkname) b.write(h.linkname, 157, 100, "utf8");
  b.write("ustar\0", 257, "ascii");
  b.write("00", 263, "ascii");
  if (h.prefix) b.write(h.prefix, 345, 155, "utf8");
  const u = new Uint8Array(b);
  fixChecksum(u, 0);
  return u;
}

function padded(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(body.length / BLOCK) * BLOCK);
  out.set(body);
  return out;
}

function paxBody(records: Record<string, string>): Uint8Array {
  let s = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (`${len}${rest}`.length !== len) len++;
    s += `${len}${rest}`;
  }
  return Buffer.from(s, "utf8");
}

/** A seed archive plus the offsets of its headers (for checksum-fixing mutation). */
interface Seed {
  bytes: Uint8Array;
  headers: number[];
}

function archive(parts: { h: HeaderSpec; body?: Uint8Array }[]): Seed {
  const chunks: Uint8Array[] = [];
  const headers: number[] = [];
  let off = 0;
  for (const p of parts) {
    const body = p.body ?? new Uint8Array(0);
    const h = header({ ...p.h, size: p.h.size ?? body.length });
    headers.push(off);
    chunks.push(h);
    off += BLOCK;
    const pb = padded(body);
    chunks.push(pb);
    off += pb.length;
  }
  chunks.push(new Uint8Array(2 * BLOCK));
  return { bytes: Buffer.concat(chunks), headers };
}

const txt = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

function seeds(): Seed[] {
  const base256 = new Uint8Array(12);
  base256[0] = 0x80;
  base256[11] = 5;
  return [
    archive([
      { h: { name: "etc/", flag: "5", mode: 0o755 } },
      { h: { name: "etc/hosts", flag: "0" }, body: txt("127.0.0.1 localhost\n") },
      { h: { name: "etc/link", flag: "2", linkname: "hosts" } },
      { h: { name: "etc/hard", flag: "1", linkname: "etc/hosts" } },
      { h: { name: "etc/.wh.gone", flag: "0" } },
    ]),
    archive([
      {
        h: { name: "PaxHeaders/x", flag: "x" },
        body: paxBody({
          path: `${"a/".repeat(60)}f`,
          size: "3",
          mtime: "1700000000.5",
          "SCHILY.xattr.user.k": "v",
        }),
      },
      { h: { name: "short", flag: "0", size: 3 }, body: txt("abc") },
      { h: { name: "g", flag: "g" }, body: paxBody({ comment: "global" }) },
      { h: { name: "d/", flag: "5" } },
    ]),
    archive([
      { h: { name: "././@LongLink", flag: "L" }, body: txt(`${"long/".repeat(40)}name\0`) },
      { h: { name: "././@LongLink", flag: "K" }, body: txt(`${"t/".repeat(70)}x\0`) },
      { h: { name: "trunc", flag: "2" } },
      { h: { name: "b256", flag: "0", rawSize: base256, size: 5 }, body: txt("12345") },
    ]),
    archive([
      { h: { name: "sparse", flag: "S", size: 16 }, body: txt("0123456789abcdef") },
      { h: { name: "fifo", flag: "6" } },
      { h: { name: "name", flag: "0", prefix: "pre/fix" }, body: txt("p") },
      { h: { name: "cont", flag: "7" }, body: txt("c") },
    ]),
  ];
}

const PAX_KEYS = [
  "path",
  "linkpath",
  "size",
  "uid",
  "gid",
  "mtime",
  "atime",
  "SCHILY.xattr.user.a",
  "GNU.sparse.size",
  "uname",
];
const PAX_VALUES = [
  "0",
  "1",
  "-1",
  "1.5",
  "1e12",
  "1e300",
  "NaN",
  "Infinity",
  "0x10",
  "4294967295",
  "4294967296",
  "9007199254740993",
  "99999999999999999999",
  "",
  " ",
  "../x",
  "/abs",
  "a\u0000b",
  "x".repeat(300),
  "1700000000.123456789",
  "-1700000000",
];

/** A pax header with random keys and odd values, followed by a small file entry. */
function paxCase(rng: Rng): Uint8Array {
  const rec: Record<string, string> = {};
  const n = 1 + rng.int(4);
  for (let i = 0; i < n; i++) rec[rng.pick(PAX_KEYS)] = rng.pick(PAX_VALUES);
  const flag = rng.pick(["0", "5", "2", "1", "0"]);
  return archive([
    { h: { name: "PaxHeaders/p", flag: rng.chance(0.8) ? "x" : "g" }, body: paxBody(rec) },
    {
      h: { name: "f", flag, linkname: flag === "1" ? "f" : "t", size: flag === "0" ? 2 : 0 },
      body: flag === "0" ? txt("hi") : undefined,
    },
  ]).bytes;
}

/** Mutates a seed; header mutations recompute the checksum so they reach field parsing. */
function mutateTar(rng: Rng, seed: Seed, all: Seed[]): Uint8Array {
  const kind = rng.int(12);
  if (kind >= 10) return paxCase(rng);
  if (kind < 5 && seed.headers.length > 0) {
    const out = Uint8Array.from(seed.bytes);
    const off = rng.pick(seed.headers);
    const fieldOffsets = [0, 100, 108, 116, 124, 136, 156, 157, 257, 263, 329, 337, 345];
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      const f = rng.pick(fieldOffsets);
      const choice = rng.int(6);
      if (choice === 0) out[off + f + rng.int(8)] = rng.u32() & 0xff;
      else if (choice === 1) {
        // size field: huge octal, base-256 (positive or negative), garbage
        const variants = [
          "77777777777\0",
          "99999999999\0",
          "-0000000001\0",
          "           \0",
          "00000001000 ",
        ];
        const v = rng.pick(variants);
        Buffer.from(v, "ascii").forEach((c, i) => {
          out[off + 124 + i] = c;
        });
        if (rng.chance(0.3)) {
          out[off + 124] = rng.pick([0x80, 0xff, 0x81]);
          for (let i = 1; i < 12; i++) out[off + 124 + i] = rng.chance(0.5) ? 0xff : 0;
        }
      } else if (choice === 2)
        out[off + 156] = rng.pick([
          0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x53, 0x4c, 0x4b, 0x78, 0x67, 0x56, 0x4d,
          0, 0xff,
        ]);
      else if (choice === 3) {
        const names = [
          "../escape",
          "/abs",
          "a/../../b",
          "x\0y",
          "",
          ".",
          "..",
          ".wh...",
          ".wh..wh..opq",
          "etc/link/through",
        ];
        const nm = Buffer.from(rng.pick(names), "utf8");
        out.fill(0, off, off + 100);
        out.set(nm.subarray(0, 100), off);
      } else if (choice === 4) {
        const links = ["/", "..", "../../..", "/etc/passwd", "etc", "etc/hosts", ""];
        const nm = Buffer.from(rng.pick(links), "utf8");
        out.fill(0, off + 157, off + 257);
        out.set(nm, off + 157);
      } else {
        // pax/long-name body garbage just after the header
        const at = off + BLOCK + rng.int(BLOCK);
        if (at < out.length) {
          const junk = rng.pick([
            "99999999999999999999 path=x\n",
            "-5 path=x\n",
            "0 =\n",
            "12 path=x\n",
            "abc",
            "1e9 a=b\n",
            "18446744073709551616 a=b\n",
          ]);
          Buffer.from(junk).forEach((c, i) => {
            if (at + i < out.length) out[at + i] = c;
          });
        }
      }
    }
    fixChecksum(out, off);
    return out;
  }
  return mutate(rng, seed.bytes, {
    boundaries: seed.headers.flatMap((h) => [h, h + 124, h + 148, h + 156, h + BLOCK]),
    lengthOffsets: seed.headers.map((h) => h + 124),
    donors: all.map((s) => s.bytes),
  });
}

/** Feeds bytes in random-sized chunks (exercises split reads). */
function feed(reader: TarReader, bytes: Uint8Array, rng: Rng | null): void {
  if (rng === null) {
    reader.push(bytes);
    return;
  }
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + rng.int(rng.chance(0.5) ? 17 : 1500);
    reader.push(bytes.subarray(i, i + n));
    i += n;
  }
}

const work = mkdtempSync(join(tmpdir(), "coco-tarfuzz-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Reads one archive, returning the headers or the thrown error. */
function readAll(bytes: Uint8Array): unknown {
  try {
    const r = new TarReader(() => null);
    r.push(bytes);
    r.end();
    return null;
  } catch (e) {
    return e;
  }
}

describe("tar reader regressions found by fuzzing", () => {
  const withPax = (rec: Record<string, string>) =>
    archive([
      { h: { name: "PaxHeaders/p", flag: "x" }, body: paxBody(rec) },
      { h: { name: "f", flag: "0", size: 2 }, body: txt("hi") },
    ]).bytes;

  // Found: pax uid=1e300 reached chown() as a RangeError (uncoded) instead of a tar error.
  for (const [k, v] of [
    ["uid", "1e300"],
    ["gid", "4294967296"],
    ["uid", "1.5"],
    ["size", "0x10"],
    ["mtime", "1e300"],
    ["mtime", "Infinity"],
  ] as const) {
    test(`rejects pax ${k}=${v} with ERR_OCI_TAR`, () => {
      const err = readAll(withPax({ [k]: v }));
      assert.ok(err instanceof OciError, String(err));
      assert.equal(err.code, "ERR_OCI_TAR");
    });
  }

  test("rejects a base-256 uid above 32 bits", () => {
    const { bytes } = archive([{ h: { name: "f", flag: "0" } }]);
    bytes.fill(0, 108, 116);
    bytes[108] = 0x80;
    bytes[110] = 1; // 2^40
    fixChecksum(bytes, 0);
    const err = readAll(bytes);
    assert.ok(err instanceof OciError && err.code === "ERR_OCI_TAR", String(err));
  });

  test("still accepts pax uid 4294967295, fractional mtime and a 3,000,000 uid", () => {
    assert.equal(
      readAll(withPax({ uid: "3000000", gid: "4294967295", mtime: "1700000000.25" })),
      null,
    );
  });
});

describe("tar reader fuzzing", () => {
  const all = seeds();

  test("every seed parses cleanly (the corpus itself is valid)", () => {
    for (const s of all) {
      const names: string[] = [];
      const r = new TarReader((h) => {
        names.push(h.name);
        return null;
      });
      r.push(s.bytes);
      r.end();
      assert.ok(names.length > 0);
    }
  });

  test("mutated archives give a result or a coded OciError (reader only, split reads)", async (t) => {
    const stats = await fuzz({
      name: "tar-reader",
      seed: 0x7a12,
      iterations: 12000,
      errorClass: OciError,
      gen: (rng) => ({
        bytes: mutateTar(rng, rng.pick(all), all),
        split: rng.chance(0.5) ? rng.u32() : -1,
      }),
      show: (x) =>
        `${x.bytes.length} bytes, split=${x.split}, b64 ${Buffer.from(x.bytes).toString("base64").slice(0, 400)}`,
      target: ({ bytes, split }) => {
        const r = new TarReader((h) => {
          assert.equal(typeof h.name, "string");
          assert.ok(Number.isSafeInteger(h.size) && (h.size ?? 0) >= 0, `size ${h.size}`);
          return {
            write: () => {},
            end: () => {},
            abort: () => {},
          };
        });
        feed(r, bytes, split < 0 ? null : new Rng(split));
        r.end();
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.coded.size > 0, "mutations must reach error paths");
    assert.ok(stats.ok > 0, "some mutations must still parse");
  });

  test("mutated archives applied to disk stay inside the root", async (t) => {
    const parent = join(work, "apply");
    mkdirSync(parent);
    writeFileSync(join(parent, "sentinel"), "keep");
    const root = join(parent, "root");
    const rules = { ...defaultUnpackRules(), preserveOwnership: true, maxPathLength: 1024 };
    const stats = await fuzz({
      name: "tar-apply",
      seed: 0xa991,
      iterations: 800,
      errorClass: OciError,
      // The layer pipeline classifies errno failures (ENAMETOOLONG, EEXIST...) as ERR_OCI_UNPACK.
      accept: (e) => /^E[A-Z]+$/.test(String((e as { code?: unknown })?.code)),
      gen: (rng) => mutateTar(rng, rng.pick(all), all),
      target: (bytes) => {
        rmSync(root, { recursive: true, force: true });
        mkdirSync(root);
        const applier = new LayerApplier(root, rules);
        const r = new TarReader((h) => applier.begin(h));
        try {
          r.push(bytes);
          r.end();
          applier.finish();
        } finally {
          r.abort();
          assert.deepEqual(readdirSync(parent).sort(), ["root", "sentinel"], "wrote outside root");
        }
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0);
  });

  test("random entry sequences (symlinks, hard links, whiteouts) never touch anything outside the root", async (t) => {
    const parent = join(work, "grammar");
    const outside = join(parent, "outside");
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "secret"), "keep");
    writeFileSync(join(parent, "sentinel"), "keep");
    const root = join(parent, "root");
    const rules = { ...defaultUnpackRules(), preserveOwnership: true, devices: "skip" as const };
    const NAMES = [
      "a",
      "a/b",
      "a/b/c",
      "l",
      "l/x",
      "l/l2/x",
      "d/",
      "d/e",
      "h",
      ".wh.a",
      "a/.wh..wh..opq",
      "l/.wh.secret",
      "./a",
      "a//b",
      "l/../x",
    ];
    const TARGETS = [
      "/",
      "..",
      "../..",
      "../outside",
      "../outside/secret",
      "/../outside",
      "a",
      "l",
      "l/l2",
      "d",
      "/a/b",
      ".",
      "./l",
      "a/../..",
    ];
    const FLAGS = ["0", "0", "5", "2", "2", "2", "1", "6", "3"];
    const stats = await fuzz({
      name: "tar-grammar",
      seed: 0x9a11,
      iterations: 1000,
      errorClass: OciError,
      accept: (e) => /^E[A-Z]+$/.test(String((e as { code?: unknown })?.code)),
      gen: (rng) => {
        const n = 1 + rng.int(6);
        const parts: { h: HeaderSpec; body?: Uint8Array }[] = [];
        for (let i = 0; i < n; i++) {
          const flag = rng.pick(FLAGS);
          const name = rng.pick(NAMES);
          const linkname =
            flag === "1" || flag === "2" ? rng.pick([...TARGETS, ...NAMES]) : undefined;
          const body = flag === "0" ? txt("pwned") : undefined;
          parts.push({
            h: { name, flag, linkname, mode: rng.pick([0o644, 0o755, 0o4755, 0o000]) },
            body,
          });
        }
        return archive(parts).bytes;
      },
      target: (bytes) => {
        rmSync(root, { recursive: true, force: true });
        mkdirSync(root);
        const applier = new LayerApplier(root, rules);
        const r = new TarReader((h) => applier.begin(h));
        try {
          r.push(bytes);
          r.end();
          applier.finish();
        } finally {
          r.abort();
          assert.deepEqual(readdirSync(parent).sort(), ["outside", "root", "sentinel"]);
          assert.deepEqual(readdirSync(outside), ["secret"], "wrote into a sibling directory");
          assert.equal(
            readFileSync(join(outside, "secret"), "utf8"),
            "keep",
            "overwrote a file outside",
          );
          assert.equal(
            statSync(join(outside, "secret")).nlink,
            1,
            "hard-linked a file from outside",
          );
        }
      },
    });
    t.diagnostic(describeStats(stats));
    assert.ok(stats.ok > 0);
  });
});
