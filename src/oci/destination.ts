/** Image destinations: a registry repository or an OCI layout directory (for encrypt/sign). */

import type { Readable } from "node:stream";
import { sha256Digest } from "./digest.js";
import {
  initLayout,
  tagLayoutManifest,
  writeLayoutBlob,
  writeLayoutBlobStream,
} from "./layout-writer.js";
import type { RegistryClient } from "./registry/client.js";
import { type ImageLocation, type RegistryOptions, registryClientFor } from "./transport.js";

/** Where encrypt and sign write blobs and manifests. */
export interface ImageDestination {
  readonly name: string;
  putBlob(bytes: Uint8Array): Promise<string>;
  /** Stores a blob from a stream; returns its sha256 digest. */
  putBlobStream(data: Readable): Promise<string>;
  /** Stores a manifest under `tag` (or only by digest when tag is empty); returns its digest. */
  putManifest(bytes: Uint8Array, mediaType: string, tag: string): Promise<string>;
  close(): void;
}

/** Opens the destination for a location; `tag` defaults to the location's tag. */
export function openImageDestination(
  loc: ImageLocation,
  opts: RegistryOptions = {},
): { dest: ImageDestination; tag: string } {
  if (loc.transport === "oci") {
    initLayout(loc.dir);
    return {
      tag: loc.tag === "" ? "latest" : loc.tag,
      dest: {
        name: `oci:${loc.dir}`,
        putBlob: async (b) => writeLayoutBlob(loc.dir, b),
        putBlobStream: (d) => writeLayoutBlobStream(loc.dir, d),
        async putManifest(bytes, mediaType, tag) {
          const digest = writeLayoutBlob(loc.dir, bytes);
          if (tag !== "")
            tagLayoutManifest(loc.dir, tag, { mediaType, digest, size: bytes.byteLength });
          return digest;
        },
        close() {},
      },
    };
  }
  const client: RegistryClient = registryClientFor(loc.reference, opts);
  const repo = loc.reference.repository;
  return {
    tag: loc.reference.tag ?? "latest",
    dest: {
      name: `${client.host}/${repo}`,
      putBlob: (b) => client.putBlob(repo, b),
      putBlobStream: (d) => client.putBlobStream(repo, d),
      putManifest: (bytes, mediaType, tag) =>
        client.putManifest(repo, tag === "" ? sha256Digest(bytes) : tag, bytes, mediaType),
      close: () => client.close(),
    },
  };
}
