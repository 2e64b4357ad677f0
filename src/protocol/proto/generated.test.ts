// The committed *_pb.ts files must be exactly what protoc + protoc-gen-es make from the .proto
// files beside them: this regenerates into a temp folder and compares every file.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";

const root = new URL("../../../../", import.meta.url).pathname;
const protoRoot = join(root, "src/protocol/proto");

function list(dir: string, suffix: string, base = dir, acc: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) list(p, suffix, base, acc);
    else if (e.name.endsWith(suffix)) acc.push(relative(base, p));
  }
  return acc.sort();
}

const hasProtoc = spawnSync("protoc", ["--version"]).status === 0;

test("generated TypeScript matches the .proto files (npm run proto regenerates it)", {
  skip: hasProtoc ? false : "protoc is not installed (scripts/setup installs protobuf-compiler)",
}, () => {
  const out = mkdtempSync(join(tmpdir(), "coco-proto-"));
  try {
    const r = spawnSync(process.execPath, [join(root, "scripts/gen-proto.mjs"), "--out", out], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, `gen-proto failed: ${r.stderr}`);
    const fresh = list(out, "_pb.ts");
    const committed = list(protoRoot, "_pb.ts");
    assert.deepEqual(committed, fresh, "a .proto has no committed *_pb.ts or the reverse");
    assert.equal(fresh.length, list(protoRoot, ".proto").length, "every .proto yields one _pb.ts");
    for (const f of fresh) {
      assert.equal(
        readFileSync(join(protoRoot, f), "utf8"),
        readFileSync(join(out, f), "utf8"),
        `${f} differs from protoc's output: run npm run proto`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
