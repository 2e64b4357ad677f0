/**
 * containerd's OCI bundle as the shim reads it: the `config.json` shape (untrusted), the CRI
 * annotations, and the parser. Kept free of heavy imports: `shim start` and `delete` load it.
 */
import { HostError } from "../errors.js";

/** The CRI annotations (containerd internal/cri/annotations). */
export const CRI = {
  containerType: "io.kubernetes.cri.container-type",
  sandboxId: "io.kubernetes.cri.sandbox-id",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  containerName: "io.kubernetes.cri.container-name",
  imageName: "io.kubernetes.cri.image-name",
  runtimeHandler: "io.containerd.cri.runtime-handler",
} as const;

/** The subset of the OCI runtime spec (config.json) the shim reads. Untrusted shape. */
export interface BundleSpec {
  ociVersion?: string;
  process?: BundleProcess;
  root?: { path?: string; readonly?: boolean };
  hostname?: string;
  mounts?: { destination?: string; type?: string; source?: string; options?: string[] }[];
  annotations?: Record<string, string>;
  linux?: {
    uidMappings?: unknown[];
    gidMappings?: unknown[];
    sysctl?: Record<string, string>;
    resources?: {
      memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number };
      cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
      hugepageLimits?: unknown[];
    };
    namespaces?: { type?: string; path?: string }[];
    devices?: unknown[];
    rootfsPropagation?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    mountLabel?: string;
  };
  hooks?: unknown;
}

/** The OCI process object (also what CRI sends as an exec's spec). */
export interface BundleProcess {
  terminal?: boolean;
  user?: { uid?: number; gid?: number; additionalGids?: number[]; username?: string };
  args?: string[];
  env?: string[];
  cwd?: string;
  capabilities?: {
    bounding?: string[];
    effective?: string[];
    inheritable?: string[];
    permitted?: string[];
    ambient?: string[];
  };
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  selinuxLabel?: string;
  oomScoreAdj?: number;
}

/** Parses config.json bytes; anything but a JSON object is a coded error. */
export function parseBundleSpec(text: string): BundleSpec {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new HostError("ERR_SHIM_SPEC", `config.json is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new HostError("ERR_SHIM_SPEC", "config.json is not a JSON object");
  return v as BundleSpec;
}
