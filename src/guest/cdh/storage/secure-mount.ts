/**
 * SecureMount `block-device` with LUKS2 (CDH hub/src/storage/volume_type/blockdevice): format
 * (sourceType=empty, detached header under <base>/luks-headers) or open an encrypted device
 * with a key from a sealed secret, Trustee (kbs://) or a file, then expose it as a device
 * symlink or an ext4 file system. ZFS and alibaba-cloud-oss are not implemented and fail
 * loudly with ERR_CDH_SECURE_MOUNT.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isResourceUri, parseResourceUri } from "../../../protocol/resource-uri/index.js";
import { CdhError } from "../errors.js";
import type { ResourceGetter } from "../kbc/types.js";
import { mustRun, runTool, type ToolRunner } from "./tools.js";

export type { ToolRunner } from "./tools.js";

/** A SecureMount request (the ttrpc message in camelCase). */
export interface SecureMountRequest {
  volumeType: string;
  options: Record<string, string>;
  flags: string[];
  mountPoint: string;
}

/** What secure mount needs from the hub. */
export interface SecureMountDeps {
  getter: ResourceGetter;
  unseal: (sealed: string) => Promise<Uint8Array>;
  baseDir?: string;
  tools?: ToolRunner;
  /** `/sys` root for deviceId lookups (tests). */
  sysRoot?: string;
  /**
   * Extra luksFormat KDF arguments. Default pbkdf2 with 1000 iterations: the key is 4 KiB of
   * randomness or a Trustee key, so Argon2's cost (about 14 s and 1 GiB on 2 cores) buys
   * nothing. Pass [] for upstream's cryptsetup defaults.
   */
  luksFormatKdfArgs?: string[];
}

/** Parsed block-device options. */
export interface BlockDeviceOptions {
  devicePath: string;
  sourceType: "empty" | "encrypted";
  encryptionType: "luks2" | "zfs";
  key?: string;
  targetType?: "device" | "fileSystem";
  filesystemType: "ext4";
  mkfsOpts: string[];
  dataIntegrity: boolean;
  mapperName: string;
}

function fail(msg: string): never {
  throw new CdhError("ERR_CDH_SECURE_MOUNT", msg);
}

const MAPPER_RE = /^[A-Za-z0-9_.+-]{1,127}$/;

/** Parses the string map of a block-device request (upstream camelCase keys). */
export function parseBlockDeviceOptions(
  o: Record<string, string>,
  sysRoot = "/sys",
): BlockDeviceOptions {
  let devicePath = o.devicePath;
  if (o.deviceId !== undefined) {
    if (!/^\d+:\d+$/.test(o.deviceId)) fail("deviceId must be MAJ:MIN");
    let uevent: string;
    try {
      uevent = readFileSync(join(sysRoot, "dev/block", o.deviceId, "uevent"), "utf8");
    } catch {
      return fail(`no block device ${o.deviceId}`);
    }
    const name = /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
    if (!name || name.includes("..")) fail(`uevent of ${o.deviceId} has no DEVNAME`);
    devicePath = `/dev/${name}`;
  }
  if (!devicePath?.startsWith("/")) fail("devicePath (absolute) or deviceId is required");
  if (o.sourceType !== "empty" && o.sourceType !== "encrypted")
    fail("sourceType must be empty or encrypted");
  if (o.encryptionType !== "luks2" && o.encryptionType !== "zfs")
    fail("encryptionType must be luks2 or zfs");
  if (o.encryptionType === "luks2" && o.targetType !== "device" && o.targetType !== "fileSystem") {
    fail("targetType must be device or fileSystem");
  }
  if ((o.filesystemType ?? "ext4") !== "ext4") fail("filesystemType must be ext4");
  const mapperName = o.mapperName ?? randomUUID();
  if (!MAPPER_RE.test(mapperName)) fail("mapperName has illegal characters");
  const out: BlockDeviceOptions = {
    devicePath,
    sourceType: o.sourceType,
    encryptionType: o.encryptionType,
    filesystemType: "ext4",
    mkfsOpts: (o.mkfsOpts ?? "").split(/\s+/).filter((s) => s !== ""),
    dataIntegrity: o.dataIntegrity === "true",
    mapperName,
  };
  if (o.targetType === "device" || o.targetType === "fileSystem") out.targetType = o.targetType;
  if (o.key !== undefined) out.key = o.key;
  return out;
}

/** Resolves the `key` option: sealed secret, kbs:// resource, file://, or 4 KiB random. */
export async function resolveVolumeKey(
  key: string | undefined,
  deps: SecureMountDeps,
): Promise<Uint8Array> {
  if (key === undefined) return randomBytes(4096);
  if (key.startsWith("sealed.")) return deps.unseal(key);
  if (isResourceUri(key)) return deps.getter.getResource(parseResourceUri(key));
  if (key.startsWith("file://")) {
    try {
      return readFileSync(key.slice("file://".length));
    } catch {
      return fail("key file is unreadable");
    }
  }
  return fail("key must be sealed.…, kbs://… or file://…");
}

/** The detached-header path upstream uses for a device. */
export function luksHeaderPath(baseDir: string, devicePath: string): string {
  return join(baseDir, "luks-headers", `${Buffer.from(devicePath).toString("base64url")}.header`);
}

/** Formats a LUKS2 device with a detached header (key on stdin). */
export async function luksFormat(
  run: ToolRunner,
  dev: string,
  header: string,
  key: Uint8Array,
  integrity: boolean,
  kdfArgs: readonly string[],
): Promise<void> {
  mkdirSync(join(header, ".."), { recursive: true, mode: 0o700 });
  if (existsSync(header)) fail(`a LUKS header for ${dev} already exists; refusing to reformat`);
  writeFileSync(header, new Uint8Array(0), { mode: 0o600, flag: "wx" });
  await mustRun(run, "truncate", ["-s", "16M", header]);
  const args = [
    "--batch-mode",
    "luksFormat",
    "--type",
    "luks2",
    "--cipher",
    "aes-xts-plain64",
    "--sector-size",
    "4096",
    ...kdfArgs,
    "--header",
    header,
    ...(integrity
      ? ["--integrity", "hmac-sha256", "--integrity-no-wipe", "--integrity-no-journal"]
      : []),
    dev,
    "-",
  ];
  await mustRun(run, "cryptsetup", args, key);
}

/** Performs a secure mount. */
export async function secureMount(req: SecureMountRequest, deps: SecureMountDeps): Promise<void> {
  if (req.volumeType !== "block-device")
    fail(
      `volume_type ${JSON.stringify(req.volumeType.slice(0, 32))} is not implemented (only block-device)`,
    );
  const o = parseBlockDeviceOptions(req.options, deps.sysRoot);
  if (o.encryptionType === "zfs") fail("encryptionType zfs is not implemented in coco-ts");
  if (!req.mountPoint.startsWith("/")) fail("mount_point must be absolute");
  const run = deps.tools ?? runTool;
  const baseDir = deps.baseDir ?? "/run/confidential-containers/cdh";
  const key = await resolveVolumeKey(o.key, deps);
  const header = luksHeaderPath(baseDir, o.devicePath);
  if (o.sourceType === "empty") {
    await luksFormat(
      run,
      o.devicePath,
      header,
      key,
      o.dataIntegrity,
      deps.luksFormatKdfArgs ?? ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"],
    );
  }
  // Upstream opens sourceType=encrypted without the detached header it created (QUIRK); we
  // use our header when one exists for this device, so a CDH-formatted volume reopens.
  const useHeader = existsSync(header);
  await mustRun(
    run,
    "cryptsetup",
    ["luksOpen", ...(useHeader ? ["--header", header] : []), "-d", "-", o.devicePath, o.mapperName],
    key,
  );
  const mapped = `/dev/mapper/${o.mapperName}`;
  if (o.targetType === "device") {
    symlinkSync(mapped, req.mountPoint);
    return;
  }
  mkdirSync(req.mountPoint, { recursive: true });
  if (o.sourceType === "empty") {
    const mkfsArgs = [...o.mkfsOpts];
    if (o.dataIntegrity) {
      // dm-integrity without wipe returns I/O errors for never-written sectors: zero block 0
      // and every superblock backup mkfs will read.
      const dry = await mustRun(run, "mkfs.ext4", ["-F", "-n", ...o.mkfsOpts, mapped]);
      const blocks =
        /Superblock backups stored on blocks:\s*([\d,\s]+)/.exec(dry.stdout)?.[1] ?? "";
      for (const b of ["0", ...blocks.split(/[,\s]+/).filter((s) => s !== "")]) {
        await mustRun(run, "dd", [
          "if=/dev/zero",
          `of=${mapped}`,
          "bs=4k",
          "count=1",
          "oflag=direct",
          `seek=${b}`,
        ]);
      }
      if (!mkfsArgs.some((a) => a.includes("lazy_itable_init")))
        mkfsArgs.push("-E", "lazy_itable_init=0");
    }
    await mustRun(run, "mkfs.ext4", ["-F", ...mkfsArgs, mapped]);
  }
  await mustRun(run, "mount", ["-t", "ext4", "-o", "noatime", mapped, req.mountPoint]);
}
