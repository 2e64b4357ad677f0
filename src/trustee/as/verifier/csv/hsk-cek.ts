/**
 * Where a chip's HSK and CEK come from when the evidence does not carry them, in upstream's
 * order: an offline store laid out as upstream's (`<dir>/hsk_cek/<chip>/hsk_cek.cert`, default
 * dir `/opt/hygon/csv`), then Hygon's KDS (`<base>/hsk_cek?snumber=<chip>`, HSK ‖ CEK), which
 * Trustee reaches only through its collateral cache and only when configured. Whatever the
 * source, the certificates are checked against the Hygon root before anything is trusted.
 */
import { join } from "node:path";
import { EvidenceError } from "../../../../tee/common/errors.js";
import {
  CSV_SERIAL_RE,
  type CsvCaCert,
  type CsvCert,
  parseCsvHskCek,
} from "../../../../tee/csv/index.js";

/** Hygon's key distribution service. */
export const HYGON_KDS_URL = "https://cert.hygon.cn";
/** Upstream's HSK/CEK directory. */
export const HYGON_CERT_DIR = "/opt/hygon/csv";

/** A file's bytes or undefined when absent (I/O passed in). */
export type ReadFile = (path: string) => Uint8Array | undefined;
/** HTTP GET returning the body or throwing (Trustee: its collateral cache). */
export type HttpGet = (url: string) => Promise<Uint8Array>;

function chip(serial: string): string {
  // The parser admits only [A-Za-z0-9_-]; checked again because this names a file and a URL.
  if (!CSV_SERIAL_RE.test(serial)) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "CSV serial number is not a chip ID");
  }
  return serial;
}

/** The path of a chip's `hsk_cek.cert` under a store directory (upstream's layout). */
export function hskCekPath(dir: string, serial: string): string {
  return join(dir, "hsk_cek", chip(serial), "hsk_cek.cert");
}

/** The KDS URL of a chip's HSK ‖ CEK. */
export function hygonKdsHskCekUrl(base: string, serial: string): string {
  return `${base.replace(/\/+$/, "")}/hsk_cek?snumber=${chip(serial)}`;
}

/** Looks the chip up in offline stores, in order; parse errors are ERR_COLLATERAL_INVALID. */
export function readHskCek(
  dirs: readonly string[],
  serial: string,
  readFile: ReadFile,
): { hsk: CsvCaCert; cek: CsvCert } | undefined {
  for (const dir of dirs) {
    const p = hskCekPath(dir, serial);
    const bytes = readFile(p);
    if (bytes !== undefined) return parseCollateral(bytes, p);
  }
  return undefined;
}

/** Fetches the chip's HSK ‖ CEK from a KDS. */
export async function fetchHskCek(
  baseUrl: string,
  serial: string,
  get: HttpGet,
): Promise<{ hsk: CsvCaCert; cek: CsvCert }> {
  const url = hygonKdsHskCekUrl(baseUrl, serial);
  let bytes: Uint8Array;
  try {
    bytes = await get(url);
  } catch (err) {
    if (err instanceof EvidenceError) throw err;
    throw new EvidenceError(
      "ERR_COLLATERAL_MISSING",
      `GET ${url} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return parseCollateral(bytes, url);
}

function parseCollateral(bytes: Uint8Array, where: string): { hsk: CsvCaCert; cek: CsvCert } {
  try {
    return parseCsvHskCek(bytes, where);
  } catch (err) {
    throw new EvidenceError("ERR_COLLATERAL_INVALID", (err as Error).message, { cause: err });
  }
}
