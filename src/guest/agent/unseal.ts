import {
  chmodSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import type { SecretUnsealer } from "./cdh-client.js";
import { AgentError } from "./errors.js";
import { isWithin } from "./storage.js";

const SEALED = "sealed.";
/** Largest file considered for unsealing (sealed secrets are small JWS texts). */
const MAX_SEALED_FILE = 64 * 1024;

/** Replaces `KEY=sealed.…` values by their plaintext from CDH; a failure fails the container. */
export async function unsealEnv(
  secrets: SecretUnsealer,
  env: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const kv of env) {
    const eq = kv.indexOf("=");
    const value = eq < 0 ? "" : kv.slice(eq + 1);
    if (!value.startsWith(SEALED)) {
      out.push(kv);
      continue;
    }
    let plain: Uint8Array;
    try {
      plain = await secrets.unseal(value);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError(
        "ERR_AGENT_UNSEAL",
        `unsealing env ${kv.slice(0, eq)} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    out.push(`${kv.slice(0, eq)}=${Buffer.from(plain).toString("utf8")}`);
  }
  return out;
}

/**
 * Unseals volume secrets (CoCo v0.11+): every file the host copied into the shared folder and
 * bound into this container whose content starts with `sealed.` is replaced, atomically and
 * with its mode kept, by its plaintext. The shared folder lives in guest memory (no host file
 * sharing), so the plaintext never leaves the guest. Skipped like upstream: resolv.conf, hosts,
 * hostname, termination-log and service-account tokens.
 */
export async function unsealFiles(
  secrets: SecretUnsealer,
  sharedDir: string,
  mounts: readonly { source: string; type: string; options: string[] }[],
): Promise<void> {
  const skip = /(resolv\.conf|hosts|hostname|termination-log|serviceaccount)$/;
  const files: string[] = [];
  const walk = (p: string, depth: number) => {
    const st = lstatSync(p);
    if (st.isDirectory() && depth < 4) for (const n of readdirSync(p)) walk(join(p, n), depth + 1);
    else if (st.isFile() && st.size <= MAX_SEALED_FILE) files.push(p);
  };
  for (const m of mounts) {
    if (m.type !== "bind" || !isWithin(sharedDir, m.source) || skip.test(m.source)) continue;
    walk(m.source, 0);
  }
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    if (!text.startsWith(SEALED)) continue;
    let plain: Uint8Array;
    try {
      plain = await secrets.unseal(text.trim());
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError(
        "ERR_AGENT_UNSEAL",
        `unsealing file ${basename(f)} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const mode = lstatSync(f).mode & 0o777;
    const tmp = `${f}.unsealed-tmp`;
    writeFileSync(tmp, plain, { mode: 0o600 });
    chmodSync(tmp, mode);
    renameSync(tmp, f);
  }
}
