/**
 * The TDX attester (guest-components attester/src/tdx): quote through configfs-tsm with the
 * report data zero-padded to 64 bytes; `cc_eventlog` = CCEL (trimmed) + AAEL (+ 8 bytes 0xFF),
 * or a spec-ID header + AAEL when there is no CCEL; init-data compared with MRCONFIGID;
 * runtime measurements extend RTMRs through sysfs.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { constantTimeEqual } from "../../../../crypto/compare.js";
import { fitDigest } from "../../../../protocol/initdata/index.js";
import { AaError } from "../../errors.js";
import { type TsmFs, tsmReport } from "../tsm/report.js";
import type { Attester, RuntimeMeasurer } from "../types.js";

/** Paths the TDX attester reads. */
export interface TdxPaths {
  tsmRoot?: string;
  tsmFs?: TsmFs;
  ccel?: string;
  aael?: string;
  /** sysfs measurements folder (kernel ≥ 6.16): mrconfigid, rtmr<N>:sha384. */
  measurements?: string;
}

/** TDX PCR → CC measurement register (RTMR index = CCMR − 1). */
export function tdxPcrToCcmr(pcr: number): number {
  if (pcr === 1 || pcr === 7) return 1;
  if (pcr >= 2 && pcr <= 6) return 2;
  if (pcr >= 8 && pcr <= 15) return 3;
  return 4;
}

/** The 69-byte TCG EV_NO_ACTION spec-ID event put before AAEL when there is no CCEL (inferred layout). */
export function specIdHeader(): Uint8Array {
  const b = Buffer.alloc(69);
  let o = 0;
  o = b.writeUInt32LE(0, o); // PCR index
  o = b.writeUInt32LE(3, o); // EV_NO_ACTION
  o += 20; // SHA-1 digest field, zero
  o = b.writeUInt32LE(37, o); // event size
  o += 16; // signature, zero (as upstream)
  o = b.writeUInt32LE(0, o); // platform class
  o = b.writeUInt8(0, o); // spec version minor
  o = b.writeUInt8(2, o); // spec version major
  o = b.writeUInt8(0, o); // errata
  o = b.writeUInt8(2, o); // uintn size
  o = b.writeUInt32LE(2, o); // algorithms
  o = b.writeUInt16LE(0x000c, o);
  o = b.writeUInt16LE(48, o);
  o = b.writeUInt16LE(0x0012, o);
  o = b.writeUInt16LE(32, o);
  b.writeUInt8(0, o); // vendor info size
  return b;
}

/** Trims a CCEL table at the first record whose 8-byte value is all 0xFF or all 0x00. */
export function trimCcel(ccel: Uint8Array): Uint8Array {
  for (let i = 0; i + 8 <= ccel.length; i += 8) {
    const w = ccel.subarray(i, i + 8);
    if (w.every((x) => x === 0xff) || w.every((x) => x === 0)) return ccel.subarray(0, i);
  }
  return ccel;
}

async function maybeRead(p: string | undefined): Promise<Uint8Array | undefined> {
  if (!p) return undefined;
  try {
    return await readFile(p);
  } catch {
    return undefined;
  }
}

/** Creates the TDX attester. */
export function createTdxAttester(paths: TdxPaths = {}): Attester {
  const measurements = paths.measurements ?? "/sys/devices/virtual/misc/tdx_guest/measurements";
  const runtime: RuntimeMeasurer = {
    hashAlgorithm: "sha384",
    pcrToRegister: tdxPcrToCcmr,
    async readRegister(pcr) {
      const idx = tdxPcrToCcmr(pcr) - 1;
      try {
        return new Uint8Array(await readFile(join(measurements, `rtmr${idx}:sha384`)));
      } catch {
        throw new AaError(
          "ERR_AA_UNSUPPORTED",
          `cannot read RTMR${idx} (kernel measurements sysfs missing)`,
        );
      }
    },
    async extend(pcr, d) {
      const idx = tdxPcrToCcmr(pcr) - 1;
      try {
        await writeFile(join(measurements, `rtmr${idx}:sha384`), fitDigest(d, 48));
      } catch {
        throw new AaError("ERR_AA_UNSUPPORTED", `cannot extend RTMR${idx}`);
      }
    },
  };
  return {
    tee: "tdx",
    runtime,
    async getEvidence(reportData) {
      if (reportData.length > 64)
        throw new AaError("ERR_AA_REPORT_DATA", "TDX report data is at most 64 bytes");
      const { outblob } = await tsmReport({
        provider: "tdx_guest",
        inblob: fitDigest(reportData, 64),
        ...(paths.tsmRoot ? { root: paths.tsmRoot } : {}),
        ...(paths.tsmFs ? { fs: paths.tsmFs } : {}),
      });
      const ccel = await maybeRead(paths.ccel ?? "/sys/firmware/acpi/tables/data/CCEL");
      const aael = await maybeRead(
        paths.aael ?? process.env.AAEL_PATH ?? "/run/attestation-agent/eventlog",
      );
      let cc: string | null = null;
      if (ccel || aael) {
        const parts: Uint8Array[] = [];
        if (ccel) parts.push(trimCcel(ccel));
        else parts.push(specIdHeader());
        if (aael) parts.push(aael);
        parts.push(new Uint8Array(8).fill(0xff));
        cc = Buffer.concat(parts).toString("base64");
      }
      return { cc_eventlog: cc, quote: Buffer.from(outblob).toString("base64") };
    },
    async bindInitData(digest) {
      let mrconfigid: Uint8Array;
      try {
        mrconfigid = await readFile(join(measurements, "mrconfigid"));
      } catch {
        throw new AaError(
          "ERR_AA_UNSUPPORTED",
          "cannot read MRCONFIGID (kernel measurements sysfs missing)",
        );
      }
      if (!constantTimeEqual(fitDigest(digest, 48), fitDigest(mrconfigid, 48))) {
        throw new AaError(
          "ERR_AA_INITDATA_MISMATCH",
          "init-data digest does not match TDX MRCONFIGID",
        );
      }
      return "bound";
    },
  };
}
