import { EvidenceError } from "../../../../tee/common/errors.js";
import type { SnpReport } from "../../../../tee/snp/report.js";
import type { ProcessorGeneration } from "./vendor.js";

/** An HTTP GET returning the body (injected: this module does no I/O of its own). */
export type HttpGet = (url: string) => Promise<Uint8Array>;

/** AMD's Key Distribution Service. */
export const AMD_KDS_URL = "https://kdsintf.amd.com";

/** The KDS URL of the VCEK for this report (KDS spec §4.1; Turin: fmcSPL and an 8-byte hwid). */
export function kdsVcekUrl(base: string, report: SnpReport, gen: ProcessorGeneration): string {
  const chip = gen === "Turin" ? report.chipId.subarray(0, 8) : report.chipId;
  const t = report.reportedTcb;
  const fmc = gen === "Turin" ? `fmcSPL=${t.fmc ?? 0}&` : "";
  const q = `${fmc}blSPL=${t.bootloader}&teeSPL=${t.tee}&snpSPL=${t.snp}&ucodeSPL=${t.microcode}`;
  return `${base.replace(/\/+$/, "")}/vcek/v1/${gen}/${Buffer.from(chip).toString("hex")}?${q}`;
}

/**
 * A VCEK fetcher for verifiers explicitly configured with a KDS (upstream's `vcek_sources`
 * `{type = "KDS"}`): fetches by CHIP_ID and reported TCB, caches results in memory (bounded).
 * The fetched certificate is trusted only after the usual chain check to the pinned ARK.
 */
export function createKdsVcekFetcher(
  base: string,
  get: HttpGet,
): (r: SnpReport, g: ProcessorGeneration) => Promise<Uint8Array> {
  const cache = new Map<string, Uint8Array>();
  return async (report, gen) => {
    const chip = gen === "Turin" ? report.chipId.subarray(0, 8) : report.chipId;
    if (chip.every((b) => b === 0)) {
      throw new EvidenceError(
        "ERR_CERT_MISSING",
        "CHIP_ID is masked (MASK_CHIP_ID): no VCEK can be requested from KDS",
      );
    }
    const url = kdsVcekUrl(base, report, gen);
    const hit = cache.get(url);
    if (hit) return hit;
    let der: Uint8Array;
    try {
      der = await get(url);
    } catch (cause) {
      throw new EvidenceError("ERR_CERT_MISSING", `the VCEK could not be fetched from ${base}`, {
        cause,
      });
    }
    if (der.length === 0 || der.length > 16 * 1024) {
      throw new EvidenceError("ERR_CERT_MISSING", `KDS answered ${der.length} bytes, not a VCEK`);
    }
    if (cache.size >= 1024) cache.clear();
    cache.set(url, der);
    return der;
  };
}
