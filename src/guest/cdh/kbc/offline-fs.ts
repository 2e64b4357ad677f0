/**
 * The offline file-system KBC for development (CDH kms crate `offline_fs_kbc`): flat JSON maps
 * `"<repo>/<type>/<tag>": "<std base64>"` read from the keys and resources files plus
 * comma-separated extra files, merged; unreadable files are skipped as upstream does.
 */
import { readFileSync } from "node:fs";
import type { ResourceUri } from "../../../protocol/resource-uri/index.js";
import { CdhError } from "../errors.js";
import type { ResourceGetter } from "./types.js";

/** Upstream default file locations. */
export const OFFLINE_FS_KBC_FILES = [
  "/etc/aa-offline_fs_kbc-keys.json",
  "/etc/aa-offline_fs_kbc-resources.json",
];

/** Creates the offline KBC from `files` (+ `OFFLINE_FS_KBC_EXTRA_FILE_PATH` entries). */
export function createOfflineFsKbc(
  files: readonly string[] = OFFLINE_FS_KBC_FILES,
  log?: (line: string) => void,
): ResourceGetter {
  const map = new Map<string, Uint8Array>();
  for (const f of files) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(f, "utf8"));
    } catch {
      log?.(`offline_fs_kbc: skipping unreadable ${f}`);
      continue;
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      log?.(`offline_fs_kbc: ${f} is not a JSON object; skipped`);
      continue;
    }
    for (const [k, v] of Object.entries(doc)) {
      if (typeof v !== "string") continue;
      if (map.has(k)) log?.(`offline_fs_kbc: duplicate key ${k} in ${f}`);
      map.set(k, Buffer.from(v, "base64"));
    }
  }
  return {
    name: "offline_fs_kbc",
    async getResource(uri: ResourceUri) {
      if (uri.plugin !== "resource") {
        throw new CdhError(
          "ERR_CDH_KBC",
          `offline_fs_kbc serves only the resource plugin, not ${uri.plugin}`,
        );
      }
      const key = uri.segments.join("/");
      const v = map.get(key);
      if (!v)
        throw new CdhError("ERR_CDH_RESOURCE_NOT_FOUND", `offline_fs_kbc has no resource ${key}`);
      return v;
    },
  };
}
