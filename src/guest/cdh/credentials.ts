/**
 * Credentials listed in the CDH config are fetched at start-up and written atomically with mode
 * 0600. Upstream's path rule: the path must start with `<base>/kbs` and have no `.`/`..`
 * segments.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseResourceUri } from "../../protocol/resource-uri/index.js";
import type { CredentialSpec } from "./config.js";
import { CdhError } from "./errors.js";
import type { ResourceGetter } from "./kbc/types.js";

/** Checks a credential path against upstream's rule for `baseDir`. */
export function assertCredentialPath(path: string, baseDir: string): void {
  const root = join(baseDir, "kbs");
  const segs = path.split("/");
  if (!path.startsWith(`${root}/`) || segs.some((s) => s === "." || s === "..")) {
    throw new CdhError(
      "ERR_CDH_CREDENTIAL_PATH",
      `credential path ${JSON.stringify(path)} must be inside ${root} without . or ..`,
    );
  }
}

/** Writes `data` to `path` atomically (temp file + rename), mode 0600. */
export function writeSecretFile(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: "wx" });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Fetches every credential and writes it; fails on the first error (CDH does not start). */
export async function provisionCredentials(
  specs: readonly CredentialSpec[],
  getter: ResourceGetter,
  baseDir: string,
): Promise<void> {
  for (const c of specs) assertCredentialPath(c.path, baseDir);
  for (const c of specs) {
    const data = await getter.getResource(parseResourceUri(c.resourceUri));
    writeSecretFile(c.path, data);
  }
}
