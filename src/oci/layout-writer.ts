/** Writes OCI image layout directories (`oci:DIR[:TAG]` destinations). */

import { createHash, randomBytes } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sha256Digest } from "./digest.js";
import type { Descriptor } from "./manifest.js";
import { REF_NAME_ANNOTATION } from "./source.js";

function atomicWrite(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Creates the layout skeleton if needed. */
export function initLayout(dir: string): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  if (!existsSync(join(dir, "oci-layout")))
    atomicWrite(join(dir, "oci-layout"), Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  if (!existsSync(join(dir, "index.json")))
    atomicWrite(join(dir, "index.json"), Buffer.from('{"schemaVersion":2,"manifests":[]}'));
}

/** Stores a blob; returns its sha256 digest. */
export function writeLayoutBlob(dir: string, bytes: Uint8Array): string {
  const digest = sha256Digest(bytes);
  const p = join(dir, "blobs", "sha256", digest.slice(7));
  if (!existsSync(p)) atomicWrite(p, bytes);
  return digest;
}

/** Points `tag` in index.json at a manifest descriptor (replacing an older entry with that tag). */
export function tagLayoutManifest(dir: string, tag: string, manifest: Descriptor): void {
  const indexPath = join(dir, "index.json");
  const index = JSON.parse(readFileSync(indexPath, "utf8")) as {
    schemaVersion: number;
    manifests: Descriptor[];
  };
  index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag);
  index.manifests.push({
    ...manifest,
    annotations: { ...manifest.annotations, [REF_NAME_ANNOTATION]: tag },
  });
  atomicWrite(indexPath, Buffer.from(JSON.stringify(index)));
}

/** Streams a blob into the layout (temporary file, then renamed to its sha256 digest). */
export async function writeLayoutBlobStream(dir: string, data: Readable): Promise<string> {
  const tmp = join(dir, "blobs", "sha256", `.upload-${randomBytes(6).toString("hex")}`);
  const hash = createHash("sha256");
  try {
    await pipeline(
      data,
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp, { mode: 0o644 }),
    );
    const digest = `sha256:${hash.digest("hex")}`;
    renameSync(tmp, join(dir, "blobs", "sha256", digest.slice(7)));
    return digest;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
