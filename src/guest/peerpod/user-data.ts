/**
 * process-user-data, the pod VM's first step (cloud-api-adaptor `pkg/userdata/provision.go`): the
 * user-data the host handed the VM is parsed, the allow-listed `write_files` are written, and the
 * init-data (base64 of gzip, as in the pod annotation) is decoded, validated and hashed. The host
 * is untrusted: anything outside the allow-list is refused by name, sizes are bounded, files are
 * written atomically 0600, and nothing here decides what the pod may do: that is the agent
 * policy inside the init-data, whose digest the TEE launch field binds.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { decodeInitDataAnnotation } from "../../protocol/agent/index.js";
import { type InitData, parseInitData } from "../../protocol/initdata/index.js";
import {
  APF_CONFIG_PATH,
  type ApfConfig,
  INITDATA_DIGEST_PATH,
  PEERPOD_DIR,
  parseApfConfig,
  parseCloudConfig,
  USER_DATA_ALLOWED_PATHS,
  USER_DATA_INITDATA_PATH,
} from "../../protocol/peerpod/index.js";
import { PodVmError } from "./errors.js";

/** Where the decoded init-data TOML is written for the agent. */
export const INITDATA_TOML_PATH = `${PEERPOD_DIR}/initdata.toml`;

/** What provisioning produced. */
export interface Provisioned {
  apf: ApfConfig;
  /** The init-data, parsed; absent when user-data carried none (the agent then denies all). */
  initData?: InitData;
  /** Host paths written (under `root`). */
  written: string[];
  /** `write_files` paths refused (not on the allow-list). */
  refused: string[];
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: "w" });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Provisions the pod VM from `userData` (the bytes read from the provider's user-data channel).
 * `root` prefixes every path (tests; the VM and the process provider use `/`).
 */
export function provisionUserData(
  userData: Uint8Array,
  opts: { root?: string; log?: (line: string) => void } = {},
): Provisioned {
  const root = opts.root ?? "/";
  const log = opts.log ?? (() => {});
  let cc: ReturnType<typeof parseCloudConfig>;
  try {
    cc = parseCloudConfig(userData);
  } catch (err) {
    throw new PodVmError("ERR_PODVM_USER_DATA", (err as Error).message, { cause: err });
  }
  const written: string[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  const content = new Map<string, string>();
  for (const f of cc.writeFiles) {
    if (!USER_DATA_ALLOWED_PATHS.includes(f.path)) {
      // As upstream: a path outside the list is skipped and named, never written.
      refused.push(f.path);
      log(`user-data: ${f.path} is not an allowed write_files path; skipped`);
      continue;
    }
    if (seen.has(f.path))
      throw new PodVmError("ERR_PODVM_USER_DATA", `user-data: ${f.path} is written twice`);
    seen.add(f.path);
    content.set(f.path, f.content);
  }
  const apfText = content.get(APF_CONFIG_PATH);
  if (apfText === undefined) {
    throw new PodVmError(
      "ERR_PODVM_USER_DATA",
      `user-data has no ${APF_CONFIG_PATH}: the forwarder has no TLS material and would accept anyone`,
    );
  }
  let apf: ApfConfig;
  try {
    apf = parseApfConfig(apfText);
  } catch (err) {
    throw new PodVmError("ERR_PODVM_USER_DATA", (err as Error).message, { cause: err });
  }
  if (!apf.tlsServerCert) {
    throw new PodVmError(
      "ERR_PODVM_USER_DATA",
      `${APF_CONFIG_PATH} carries no TLS material: the forwarder serves only the adaptor, over mutual TLS`,
    );
  }
  let initData: InitData | undefined;
  let toml: Uint8Array | undefined;
  const encoded = content.get(USER_DATA_INITDATA_PATH);
  if (encoded !== undefined) {
    try {
      toml = decodeInitDataAnnotation(encoded);
      initData = parseInitData(toml);
    } catch (err) {
      throw new PodVmError(
        "ERR_PODVM_INITDATA",
        `user-data ${USER_DATA_INITDATA_PATH}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  for (const [path, text] of content) {
    const at = join(root, path);
    writeAtomic(at, text);
    written.push(at);
  }
  if (initData && toml) {
    writeAtomic(join(root, INITDATA_TOML_PATH), toml);
    written.push(join(root, INITDATA_TOML_PATH));
    // As upstream: the digest (hex) beside it, for attesters that read a file.
    writeAtomic(join(root, INITDATA_DIGEST_PATH), Buffer.from(initData.digest).toString("hex"));
    written.push(join(root, INITDATA_DIGEST_PATH));
  }
  return { apf, ...(initData ? { initData } : {}), written, refused };
}
