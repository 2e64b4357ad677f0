import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  buildInitDataDisk,
  decodeInitDataAnnotation,
  encodeInitDataAnnotation,
  MAX_INITDATA_TOML,
  parseInitDataDisk,
} from "./index.js";

const toml =
  "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n\"policy.rego\" = '''package agent_policy'''\n";
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test("annotation round-trips the exact TOML bytes", () => {
  const back = decodeInitDataAnnotation(encodeInitDataAnnotation(toml));
  assert.equal(Buffer.from(back).toString(), toml);
});

test("disk image has the magic, the LE length and 512-byte padding", () => {
  const disk = buildInitDataDisk(toml);
  assert.equal(disk.length % 512, 0);
  assert.equal(Buffer.from(disk.subarray(0, 8)).toString(), "initdata");
  assert.equal(Buffer.from(parseInitDataDisk(disk)!).toString(), toml);
});

test("a disk without the magic is not init-data", () => {
  assert.equal(parseInitDataDisk(new Uint8Array(512)), undefined);
});

test("rejects garbage, truncated and oversized inputs", () => {
  assert.throws(() => decodeInitDataAnnotation("not base64!"), code("ERR_AGENT_PROTO_DECODE"));
  assert.throws(
    () => decodeInitDataAnnotation(Buffer.from("plain").toString("base64")),
    code("ERR_AGENT_PROTO_DECODE"),
  );
  const gz = gzipSync(Buffer.alloc(MAX_INITDATA_TOML + 10, 0x61));
  assert.throws(
    () => decodeInitDataAnnotation(gz.toString("base64")),
    code("ERR_AGENT_PROTO_DECODE"),
  );
  const disk = buildInitDataDisk(toml);
  assert.throws(() => parseInitDataDisk(disk.subarray(0, 20)), code("ERR_AGENT_PROTO_DECODE"));
  const lying = new Uint8Array(disk);
  new DataView(lying.buffer).setBigUint64(8, 1n << 40n, true);
  assert.throws(() => parseInitDataDisk(lying), code("ERR_AGENT_PROTO_DECODE"));
});
