import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type BundleSpec, CRI, parseBundleSpec } from "./bundle.js";

/** Where pod shims keep their state (sandbox files, pids); short, for unix socket paths. */
export function shimStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.COCO_SHIM_STATE_DIR || "/run/coco-ts/shim";
}

/** The state folder of the shim serving pod `key` in containerd namespace `ns`. */
export function podStateDir(root: string, ns: string, key: string): string {
  return join(root, createHash("sha256").update(`${ns}/${key}`).digest("hex").slice(0, 16));
}

/**
 * The pod a task belongs to: an app container of a CRI pod is served by the shim of its sandbox
 * (`io.kubernetes.cri.sandbox-id`); a sandbox container or a standalone container is its own pod.
 */
export function podKeyOf(id: string, spec: BundleSpec | undefined): string {
  const a = spec?.annotations ?? {};
  if (a[CRI.containerType] === "container" && typeof a[CRI.sandboxId] === "string")
    return a[CRI.sandboxId] as string;
  return id;
}

/** Reads `<bundle>/config.json`, or undefined when it is not there (delete after a crash). */
export function readBundleSpec(bundle: string): BundleSpec | undefined {
  let text: string;
  try {
    text = readFileSync(join(bundle, "config.json"), "utf8");
  } catch {
    return undefined;
  }
  return parseBundleSpec(text);
}
