/** Instance naming and tags shared by the adaptor and its providers. */

/** Tag keys every instance carries (how garbage collection finds the adaptor's own VMs). */
export const TAGS = {
  /** The adaptor (node) that created it. */
  adaptor: "coco-peerpod-adaptor",
  sandbox: "coco-sandbox-id",
  podName: "coco-pod-name",
  podNamespace: "coco-pod-namespace",
} as const;

/**
 * The instance name for a pod: `<prefix>-<pod name>-<first 8 of the sandbox id>`, cut to 63
 * characters, lower-case DNS label (cloud-api-adaptor's GenerateInstanceName does the same).
 */
export function instanceName(prefix: string, podName: string, sandboxId: string): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "");
  const sid = clean(sandboxId).slice(0, 8) || "x";
  const head = `${clean(prefix) || "podvm"}-${clean(podName) || "pod"}`;
  return `${head.slice(0, 63 - sid.length - 1).replace(/-+$/, "")}-${sid}`;
}
