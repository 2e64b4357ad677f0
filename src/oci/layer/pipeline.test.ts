import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { hasCode } from "../../errors.js";
import { sha256Digest } from "../digest.js";
import { encryptLayer } from "../encrypt.js";
import { buildTar } from "../testing.js";
import { defaultUnpackRules } from "../unpack/rules.js";
import { startUnpackWorker } from "../unpack/worker.js";
import type { DecryptionKeys } from "./keys.js";
import { applyLayer } from "./pipeline.js";

const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

/** `bytes` as a stream of uneven chunks (1 byte to ~96 KiB), as a connection delivers them. */
function chunked(bytes: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.min(bytes.length - off, i % 7 === 0 ? 1 : 1 + ((i * 40_503) % 98_304));
    parts.push(bytes.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts, { objectMode: false });
}

// Layers of several MiB of incompressible data, so that the blob passes the 1 MiB pieces the
// pipeline hashes, decrypts and inflates in several times, with a remainder at the end.
describe("layer pipeline across many 1 MiB pieces", () => {
  let base: string;
  let n = 0;
  let content: Buffer;
  let tar: Buffer;
  let gz: Buffer;
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keys: DecryptionKeys = { privateKeys: [privateKey] };
  before(async () => {
    base = mkdtempSync(join(tmpdir(), "coco-pipeline-"));
    content = randomBytes(3 * 1048576 + 12_345);
    tar = await buildTar([{ name: "big.bin", content }]);
    gz = gzipSync(tar);
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  const root = () => {
    const r = join(base, `r${n++}`);
    mkdirSync(r);
    return r;
  };

  for (const onWorker of [false, true]) {
    const where = onWorker ? "worker thread" : "in process";
    test(`plain and encrypted layers unpack byte-exact (${where})`, async () => {
      const worker = onWorker ? startUnpackWorker() : undefined;
      try {
        const enc = await encryptLayer(gz, GZIP, { jwe: [publicKey] });
        for (const [blob, mediaType, annotations] of [
          [gz, GZIP, undefined],
          [enc.blob, enc.mediaType, enc.annotations],
        ] as const) {
          const r = root();
          const res = await applyLayer({
            blob: chunked(blob),
            descriptor: { mediaType, digest: sha256Digest(blob), size: blob.length, annotations },
            diffId: sha256Digest(tar),
            root: r,
            rules: defaultUnpackRules(),
            keys,
            ...(worker ? { worker } : {}),
          });
          assert.equal(res.tarBytes, tar.length);
          assert.equal(res.encrypted, annotations !== undefined);
          const got = readFileSync(join(r, "big.bin"));
          assert.equal(
            createHash("sha256").update(got).digest("hex"),
            createHash("sha256").update(content).digest("hex"),
          );
        }
      } finally {
        await worker?.close();
      }
    });

    // The pipeline reuses its 1 MiB pieces once the decompressor has consumed them: a piece
    // refilled too early would change the tar and fail the diff_id. The source hands over
    // everything at once (far faster than gunzip consumes it), in uneven chunks and in whole
    // 1 MiB chunks (passed on without a copy, and never reused: the source must stay intact).
    test(`a layer of many pieces unpacks byte-exact while its pieces are reused (${where})`, async () => {
      const worker = onWorker ? startUnpackWorker() : undefined;
      try {
        const many = Buffer.concat([randomBytes(9 * 1048576), Buffer.alloc(4 * 1048576, 7)]);
        const bigTar = await buildTar([{ name: "many.bin", content: many }]);
        for (const [mediaType, blob] of [
          [GZIP, gzipSync(bigTar)],
          [ZSTD, zstdCompressSync(bigTar)],
        ] as const) {
          for (const whole of [false, true]) {
            const before = sha256Digest(blob);
            const parts: Buffer[] = [];
            for (let off = 0; off < blob.length; off += 1048576)
              parts.push(blob.subarray(off, off + 1048576));
            const r = root();
            await applyLayer({
              blob: whole ? Readable.from(parts) : chunked(blob),
              descriptor: { mediaType, digest: before, size: blob.length },
              diffId: sha256Digest(bigTar),
              root: r,
              rules: defaultUnpackRules(),
              ...(worker ? { worker } : {}),
            });
            assert.ok(readFileSync(join(r, "many.bin")).equals(many));
            assert.equal(sha256Digest(blob), before, "the source's buffers were not written to");
          }
        }
      } finally {
        await worker?.close();
      }
    });

    test(`a ciphertext altered after several MiB fails the HMAC (${where})`, async () => {
      const worker = onWorker ? startUnpackWorker() : undefined;
      try {
        const enc = await encryptLayer(gz, GZIP, { jwe: [publicKey] });
        // Flip one bit of the gzip trailer's CRC (AES-CTR maps it to the same plaintext bit):
        // every MiB before it decrypts and unpacks as usual, and the descriptor digest is of
        // the altered blob, so only the MAC, checked at the end, can catch it.
        const bad = Buffer.from(enc.blob);
        bad[bad.length - 6]! ^= 1;
        const r = root();
        await assert.rejects(
          applyLayer({
            blob: chunked(bad),
            descriptor: {
              mediaType: enc.mediaType,
              digest: sha256Digest(bad),
              size: bad.length,
              annotations: enc.annotations,
            },
            diffId: sha256Digest(tar),
            root: r,
            rules: defaultUnpackRules(),
            keys,
            ...(worker ? { worker } : {}),
          }),
          (e) => hasCode(e, "ERR_OCI_HMAC"),
        );
      } finally {
        await worker?.close();
      }
    });

    test(`a blob longer or shorter than its descriptor is refused (${where})`, async () => {
      const worker = onWorker ? startUnpackWorker() : undefined;
      try {
        for (const [blob, code] of [
          [Buffer.concat([gz, Buffer.alloc(10)]), "ERR_OCI_TOO_LARGE"],
          [gz.subarray(0, gz.length - 1_100_000), "ERR_OCI_DIGEST_MISMATCH"],
        ] as const) {
          const r = root();
          await assert.rejects(
            applyLayer({
              blob: chunked(blob),
              descriptor: { mediaType: GZIP, digest: sha256Digest(gz), size: gz.length },
              diffId: sha256Digest(tar),
              root: r,
              rules: defaultUnpackRules(),
              ...(worker ? { worker } : {}),
            }),
            (e) => hasCode(e, code),
          );
        }
      } finally {
        await worker?.close();
      }
    });
  }
});
