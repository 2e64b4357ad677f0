/** Configurable rules and limits for unpacking untrusted layers. */

/** What to do with device nodes, setuid/setgid bits and xattrs found in a layer. */
export interface UnpackRules {
  /** Character/block devices: refuse the layer (default), skip them, or create them. */
  devices: "reject" | "skip" | "create";
  /** setuid/setgid bits: keep (default, as umoci), strip them, or refuse the layer. */
  setuid: "keep" | "strip" | "reject";
  /** Extended attributes: Node has no xattr syscall; "ignore" (default) records a warning, "reject" refuses. */
  xattrs: "ignore" | "reject";
  /** Apply uid/gid from the tar headers (default: when running as root). */
  preserveOwnership: boolean;
  /** Maximum entries in one layer. */
  maxEntries: number;
  /** Maximum size of one file. */
  maxFileBytes: number;
  /** Maximum uncompressed tar bytes of one layer (decompression-bomb bound). */
  maxLayerBytes: number;
  /** Maximum path length of an entry. */
  maxPathLength: number;
}

/** Defaults: refuse devices, keep setuid, 1M entries, 16 GiB files, 64 GiB per layer. */
export function defaultUnpackRules(): UnpackRules {
  return {
    devices: "reject",
    setuid: "keep",
    xattrs: "ignore",
    preserveOwnership: process.getuid?.() === 0,
    maxEntries: 1_000_000,
    maxFileBytes: 16 * 1024 ** 3,
    maxLayerBytes: 64 * 1024 ** 3,
    maxPathLength: 4096,
  };
}
