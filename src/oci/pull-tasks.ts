/**
 * Tries a pull at each registries.conf task in order (mirrors, remap, original); the first that
 * succeeds wins. A policy refusal, an HMAC failure or a path escape is a verdict on the image,
 * not on the location, so it ends the loop at once.
 */
import { OciError } from "./errors.js";
import { type ImageVerifier, type PullOptions, type PullResult, pullImage } from "./pull.js";
import { formatReference, type ImageReference } from "./reference.js";
import type { PullTask } from "./registries-conf.js";
import type { ImageSource } from "./source.js";
import { openImageSource, type RegistryOptions } from "./transport.js";

const VERDICTS = new Set([
  "ERR_OCI_POLICY_DENIED",
  "ERR_OCI_HMAC",
  "ERR_OCI_UNPACK_ESCAPE",
  "ERR_OCI_BLOCKED",
]);

/** Inputs for {@link pullWithTasks}. */
export interface TaskPullOptions {
  reference: ImageReference;
  tasks: PullTask[];
  registry: RegistryOptions;
  /** The policy step for a source (it judges `reference`, the name the user gave). */
  verifierFor: (source: ImageSource) => ImageVerifier;
  pull: Omit<PullOptions, "source" | "selector" | "verify">;
}

/** Pulls from the first task that works; ERR_OCI_HTTP lists every location's failure. */
export async function pullWithTasks(o: TaskPullOptions): Promise<PullResult & { task: PullTask }> {
  const failures: string[] = [];
  for (const t of o.tasks) {
    const { source, selector } = openImageSource(
      { transport: "docker", reference: t.reference },
      { ...o.registry, ...(t.insecure ? { tlsVerify: false } : {}) },
    );
    try {
      const r = await pullImage({ ...o.pull, source, selector, verify: o.verifierFor(source) });
      return { ...r, task: t };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== undefined && VERDICTS.has(code)) throw err;
      failures.push(`${formatReference(t.reference)}: ${code ?? ""} ${(err as Error).message}`);
    } finally {
      source.close();
    }
  }
  throw new OciError(
    "ERR_OCI_HTTP",
    `failed to pull ${formatReference(o.reference)} from all mirror/mapping locations or original location: ${failures.join("; ")}`,
  );
}
