import { join } from "node:path";
import type { Clock } from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import type { SnpReport } from "../../../../tee/snp/report.js";
import { shippedAmdVendor } from "./amd-roots.js";
import {
  loadVendorCertificates,
  type ProcessorGeneration,
  type VendorCertificates,
} from "./vendor.js";
import type { VcekSource } from "./verify.js";

/** Reads a file, or returns undefined when it does not exist (injected: no I/O in this module). */
export type ReadFile = (path: string) => Uint8Array | undefined;

const GENERATIONS: readonly ProcessorGeneration[] = ["Milan", "Genoa", "Turin"];

/**
 * Loads AMD's ARK/ASK/ASVK for each generation from a directory the operator fills, accepting
 * upstream's bundle name `<gen>-ask-ark-asvk-bundle.pem` (or `<gen>_ask_ark_asvk.pem`) or the
 * KDS download name `<gen>/cert_chain.pem`. Every ARK is checked against the pinned fingerprint.
 * Generations without a file are simply absent (their evidence is refused with ERR_CERT_MISSING).
 */
export function snpVendorFromDir(
  dir: string,
  read: ReadFile,
  clock: Clock,
): Map<ProcessorGeneration, VendorCertificates> {
  const out = new Map<ProcessorGeneration, VendorCertificates>();
  for (const gen of GENERATIONS) {
    const lower = gen.toLowerCase();
    const names = [
      `${lower}-ask-ark-asvk-bundle.pem`,
      `${lower}_ask_ark_asvk.pem`,
      join(gen, "cert_chain.pem"),
    ];
    for (const n of names) {
      const bytes = read(join(dir, n));
      if (!bytes) continue;
      out.set(gen, loadVendorCertificates(Buffer.from(bytes).toString("utf8"), gen, clock));
      break;
    }
  }
  if (out.size === 0) {
    throw new EvidenceError("ERR_COLLATERAL_MISSING", `no AMD certificate bundle found in ${dir}`);
  }
  return out;
}

/**
 * AMD's chains from `dir` when it holds bundles, else the certificates shipped in the product
 * (`amd-roots.ts`). Either way every ARK must be the pinned one.
 */
export function snpVendorOrShipped(
  dir: string | undefined,
  read: ReadFile,
  clock: Clock,
): Map<ProcessorGeneration, VendorCertificates> {
  if (dir !== undefined) {
    try {
      return snpVendorFromDir(dir, read, clock);
    } catch (e) {
      if (!(e instanceof EvidenceError) || e.code !== "ERR_COLLATERAL_MISSING") throw e;
    }
  }
  return shippedAmdVendor(clock);
}

/** `bl02_tee00_snp06_ucode21[_fmc05]`, upstream's offline-store TCB file prefix. */
export function tcbPrefix(r: SnpReport): string {
  const t = r.reportedTcb;
  const p = (n: number): string => String(n).padStart(2, "0");
  const base = `bl${p(t.bootloader)}_tee${p(t.tee)}_snp${p(t.snp)}_ucode${p(t.microcode)}`;
  return t.fmc === null ? base : `${base}_fmc${p(t.fmc)}`;
}

/**
 * A VCEK source reading upstream's offline store layout:
 * `<dir>/vcek/<hwid>/<tcb-prefix>_vcek.der`, falling back to `<dir>/vcek/<hwid>/vcek.der`;
 * hwid = hex CHIP_ID (Turin: its first 8 bytes).
 */
export function createOfflineVcekSource(dir: string, read: ReadFile): VcekSource {
  return (report, gen) => {
    const chip = gen === "Turin" ? report.chipId.subarray(0, 8) : report.chipId;
    if (chip.every((b) => b === 0)) return undefined;
    const hwid = Buffer.from(chip).toString("hex");
    for (const name of [`${tcbPrefix(report)}_vcek.der`, "vcek.der"]) {
      const bytes = read(join(dir, "vcek", hwid, name));
      if (bytes) return bytes;
    }
    return undefined;
  };
}
