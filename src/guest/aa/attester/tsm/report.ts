/**
 * The kernel's configfs-tsm report interface (Documentation/ABI/testing/configfs-tsm):
 * mkdir a fresh entry under /sys/kernel/config/tsm/report, check `provider`, write `inblob`,
 * read `outblob` (and `auxblob`), check `generation` (a value other than 1 means another writer
 * raced us on this entry), rmdir. File-system calls go through {@link TsmFs} so tests can run
 * against a directory tree that behaves as the kernel documents.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rmdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AaError } from "../../errors.js";

/** Default report root. */
export const TSM_REPORT_ROOT = "/sys/kernel/config/tsm/report";

/** Provider names the kernel reports (with a trailing newline in the file). */
export type TsmProvider = "tdx_guest" | "sev_guest" | "arm_cca_guest";

/** File-system operations on configfs. */
export interface TsmFs {
  exists(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  read(path: string): Promise<Uint8Array>;
  write(path: string, data: Uint8Array): Promise<void>;
}

/** node:fs on the real configfs. */
export const nodeTsmFs: TsmFs = {
  exists: async (p) =>
    stat(p).then(
      () => true,
      () => false,
    ),
  mkdir: (p) => mkdir(p),
  rmdir: (p) => rmdir(p),
  read: (p) => readFile(p),
  write: (p, d) => writeFile(p, d),
};

/** Options for {@link tsmReport}. */
export interface TsmReportOptions {
  provider: TsmProvider;
  inblob: Uint8Array;
  /** SEV only: the VMPL the report is requested for. */
  privlevel?: number;
  root?: string;
  fs?: TsmFs;
  readAuxblob?: boolean;
}

/** True when configfs-tsm is present and a fresh entry reports `provider` (TEE detection). */
export async function tsmProviderIs(
  provider: TsmProvider,
  root = TSM_REPORT_ROOT,
  fs: TsmFs = nodeTsmFs,
): Promise<boolean> {
  if (!(await fs.exists(root))) return false;
  const entry = join(root, `coco-${randomBytes(8).toString("hex")}`);
  try {
    await fs.mkdir(entry);
  } catch {
    return false;
  }
  try {
    return Buffer.from(await fs.read(join(entry, "provider"))).toString("utf8") === `${provider}\n`;
  } catch {
    return false;
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}

/** Runs one report request; every failure is ERR_AA_TSM naming the step. */
export async function tsmReport(
  opts: TsmReportOptions,
): Promise<{ outblob: Uint8Array; auxblob?: Uint8Array }> {
  const fs = opts.fs ?? nodeTsmFs;
  const root = opts.root ?? TSM_REPORT_ROOT;
  if (!(await fs.exists(root)))
    throw new AaError("ERR_AA_TSM", `configfs-tsm is not available (${root} is missing)`);
  if (opts.inblob.length === 0)
    throw new AaError("ERR_AA_TSM", "configfs-tsm inblob must not be empty");
  if (opts.inblob.length > 64)
    throw new AaError("ERR_AA_TSM", "configfs-tsm inblob is at most 64 bytes");
  const entry = join(root, `coco-${randomBytes(8).toString("hex")}`);
  try {
    await fs.mkdir(entry);
  } catch (err) {
    throw new AaError(
      "ERR_AA_TSM",
      `cannot create a configfs-tsm entry: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    const provider = Buffer.from(await fs.read(join(entry, "provider"))).toString("utf8");
    if (provider !== `${opts.provider}\n`) {
      throw new AaError(
        "ERR_AA_TSM",
        `configfs-tsm provider is ${JSON.stringify(provider.trim())}, expected ${opts.provider}`,
      );
    }
    if (opts.privlevel !== undefined)
      await fs.write(join(entry, "privlevel"), Buffer.from(`${opts.privlevel}\n`));
    await fs.write(join(entry, "inblob"), opts.inblob);
    const outblob = await fs.read(join(entry, "outblob"));
    const auxblob = opts.readAuxblob ? await fs.read(join(entry, "auxblob")) : undefined;
    const genText = Buffer.from(await fs.read(join(entry, "generation")))
      .toString("utf8")
      .trim();
    if (!/^\d+$/.test(genText))
      throw new AaError("ERR_AA_TSM", "configfs-tsm generation is not a number");
    if (Number(genText) > 1) {
      throw new AaError(
        "ERR_AA_TSM",
        `configfs-tsm inblob write conflict: generation ${genText}, another writer used the entry`,
      );
    }
    if (outblob.length === 0)
      throw new AaError("ERR_AA_TSM", "configfs-tsm returned an empty outblob");
    return auxblob ? { outblob, auxblob } : { outblob };
  } catch (err) {
    if (err instanceof AaError) throw err;
    throw new AaError(
      "ERR_AA_TSM",
      `configfs-tsm request failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}
