/** OCI and Docker media types the image library understands. */
export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerTar: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerTarEnc: "application/vnd.oci.image.layer.v1.tar+encrypted",
  ociLayerGzipEnc: "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
  ociLayerZstdEnc: "application/vnd.oci.image.layer.v1.tar+zstd+encrypted",
  ociNdLayerTar: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociNdLayerGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociNdLayerTarEnc: "application/vnd.oci.image.layer.nondistributable.v1.tar+encrypted",
  ociNdLayerGzipEnc: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip+encrypted",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar",
  cosignSimpleSigning: "application/vnd.dev.cosign.simplesigning.v1+json",
} as const;

/** How a layer blob is compressed once decrypted. */
export type Compression = "none" | "gzip" | "zstd";

/** What a layer media type means for the pipeline. */
export interface LayerKind {
  encrypted: boolean;
  compression: Compression;
}

const LAYER_KINDS: Record<string, LayerKind> = {
  [MediaType.ociLayerTar]: { encrypted: false, compression: "none" },
  [MediaType.ociLayerGzip]: { encrypted: false, compression: "gzip" },
  [MediaType.ociLayerZstd]: { encrypted: false, compression: "zstd" },
  [MediaType.ociNdLayerTar]: { encrypted: false, compression: "none" },
  [MediaType.ociNdLayerGzip]: { encrypted: false, compression: "gzip" },
  [MediaType.dockerLayerGzip]: { encrypted: false, compression: "gzip" },
  [MediaType.dockerLayerTar]: { encrypted: false, compression: "none" },
  [MediaType.ociLayerTarEnc]: { encrypted: true, compression: "none" },
  [MediaType.ociLayerGzipEnc]: { encrypted: true, compression: "gzip" },
  // Upstream image-rs does not recognise +zstd+encrypted; Go ocicrypt produces it, so we do.
  [MediaType.ociLayerZstdEnc]: { encrypted: true, compression: "zstd" },
  [MediaType.ociNdLayerTarEnc]: { encrypted: true, compression: "none" },
  [MediaType.ociNdLayerGzipEnc]: { encrypted: true, compression: "gzip" },
};

/** The layer kind for a media type, or undefined when the type is not a layer we can unpack. */
export function layerKind(mediaType: string): LayerKind | undefined {
  return Object.hasOwn(LAYER_KINDS, mediaType) ? LAYER_KINDS[mediaType] : undefined;
}

/** The media type of the encrypted form of a plaintext layer type. */
export function encryptedMediaType(mediaType: string): string | undefined {
  if (mediaType === MediaType.dockerLayerGzip) return MediaType.ociLayerGzipEnc;
  if (mediaType === MediaType.dockerLayerTar) return MediaType.ociLayerTarEnc;
  const k = layerKind(mediaType);
  if (k === undefined || k.encrypted) return undefined;
  return `${mediaType}+encrypted`;
}

/** The plaintext media type of an encrypted layer type. */
export function decryptedMediaType(mediaType: string): string {
  return mediaType.endsWith("+encrypted") ? mediaType.slice(0, -"+encrypted".length) : mediaType;
}
