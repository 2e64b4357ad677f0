/**
 * Image sources (transports): a registry repository (`docker://`) and an OCI image layout
 * directory (`oci:DIR[:TAG]`). Both hand out manifests and blob streams; callers verify digests.
 */

import { createHash } from "node:crypto";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { parseDigest, sha256Digest } from "./digest.js";
import { OciError } from "./errors.js";
import { type Descriptor, MANIFEST_MAX_BYTES, parseDescriptor } from "./manifest.js";
import type { FetchedManifest, RegistryClient } from "./registry/client.js";

/** Where manifests and blobs of one image come from. */
export interface ImageSource {
  /** A human-readable name for messages (no credentials). */
  readonly name: string;
  /** Fetches a manifest by tag or digest; a digest selector is verified. */
  getManifest(selector: string): Promise<FetchedManifest>;
  openBlob(d: Descriptor): Promise<Readable>;
  getBlobBytes(digest: string, limit: number): Promise<Buffer>;
  close(): void;
}

/** A source reading `repository` from a registry client. */
export function createRegistrySource(client: RegistryClient, repository: string): ImageSource {
  return {
    name: `${client.host}/${repository}`,
    getManifest: (sel) => client.getManifest(repository, sel),
    openBlob: (d) => client.openBlob(repository, d.digest),
    getBlobBytes: (digest, limit) => client.getBlobBytes(repository, digest, limit),
    close: () => client.close(),
  };
}

/** The annotation naming a tag in an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

function blobPath(dir: string, digest: string): string {
  const d = parseDigest(digest);
  return join(dir, "blobs", d.algorithm, d.hex);
}

/** A source reading an OCI image layout directory; `tag` selects an index.json entry. */
export function createLayoutSource(dir: string): ImageSource {
  const readIndex = (): Descriptor[] => {
    let j: { manifests?: unknown };
    try {
      const layout = JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")) as {
        imageLayoutVersion?: unknown;
      };
      if (typeof layout.imageLayoutVersion !== "string") throw new Error("no version");
      j = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as typeof j;
    } catch (err) {
      throw new OciError(
        "ERR_OCI_LAYOUT",
        `${dir} is not an OCI image layout (oci-layout and index.json)`,
        { cause: err },
      );
    }
    if (!Array.isArray(j.manifests))
      throw new OciError("ERR_OCI_LAYOUT", "index.json has no manifests array");
    return j.manifests.map((m, i) => parseDescriptor(m, `index.json manifests[${i}]`));
  };
  const readBlob = (digest: string, limit: number): Buffer => {
    const p = blobPath(dir, digest);
    let size: number;
    try {
      size = statSync(p).size;
    } catch {
      throw new OciError("ERR_OCI_NOT_FOUND", `blob ${digest} is not in the layout`);
    }
    if (size > limit)
      throw new OciError("ERR_OCI_TOO_LARGE", `blob ${digest} is ${size} bytes (limit ${limit})`);
    const bytes = readFileSync(p);
    const d = parseDigest(digest);
    if (`${d.algorithm}:${createHash(d.algorithm).update(bytes).digest("hex")}` !== digest) {
      throw new OciError(
        "ERR_OCI_DIGEST_MISMATCH",
        `layout blob ${digest} does not match its digest`,
      );
    }
    return bytes;
  };
  return {
    name: `oci:${dir}`,
    async getManifest(sel) {
      let desc: Descriptor | undefined;
      if (sel.includes(":") && /^sha(256|512):/.test(sel)) {
        desc = { mediaType: "", digest: sel, size: 0 };
      } else {
        const all = readIndex();
        desc =
          sel === ""
            ? all.length === 1
              ? all[0]
              : undefined
            : all.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === sel);
        if (desc === undefined)
          throw new OciError(
            "ERR_OCI_NOT_FOUND",
            `no image '${sel}' in ${dir} (or more than one and no tag given)`,
          );
      }
      const bytes = readBlob(desc.digest, MANIFEST_MAX_BYTES);
      let mediaType = desc.mediaType;
      try {
        mediaType = String(
          (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType ?? mediaType,
        );
      } catch {
        // parse errors are reported by parseManifestOrIndex
      }
      return {
        bytes,
        mediaType,
        digest: desc.digest.startsWith("sha256:") ? desc.digest : sha256Digest(bytes),
      };
    },
    async openBlob(d) {
      const p = blobPath(dir, d.digest);
      try {
        statSync(p);
      } catch {
        throw new OciError("ERR_OCI_NOT_FOUND", `blob ${d.digest} is not in the layout`);
      }
      return createReadStream(p, { highWaterMark: 1 << 20 });
    },
    getBlobBytes: async (digest, limit) => readBlob(digest, limit),
    close() {},
  };
}
