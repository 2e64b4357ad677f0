/**
 * Azure confidential VM attesters `az-snp-vtpm` and `az-tdx-vtpm` (guest-components
 * attester/src/az_{snp,tdx}_vtpm over the az-cvm-vtpm crate): the paravisor's HCL report is read
 * from vTPM NV index 0x01400001 after the report data is written to 0x01400002; the vTPM quote
 * uses the AK at 0x81000003; the VCEK (SNP) or TD quote (TDX) comes from Azure IMDS.
 * Evidence v2: `{"version":2,"tpm_quote":{"signature","message","pcrs"} (hex),"hcl_report",
 * "vcek"|"td_quote"}` (base64url with padding).
 */
import { fitDigest } from "../../../../protocol/initdata/index.js";
import { AaError } from "../../errors.js";
import {
  nvDefine,
  nvRead,
  nvSize,
  nvWrite,
  pcrExtend,
  pcrRead,
  quote,
  R,
  TpmResponseError,
} from "../tpm/commands.js";
import { pcrRuntimeMeasurer } from "../tpm/tpm.js";
import type { TpmTransport } from "../tpm/transport.js";
import type { Attester } from "../types.js";

/** vTPM NV indices and the AK handle (az-cvm-vtpm). */
export const AZ_VTPM = {
  HCL_REPORT_INDEX: 0x01400001,
  REPORT_DATA_INDEX: 0x01400002,
  AK_HANDLE: 0x81000003,
} as const;
/** Azure IMDS endpoints. */
export const IMDS = {
  base: "http://169.254.169.254",
  vcek: "/metadata/THIM/amd/certification",
  tdQuote: "/acc/tdquote",
} as const;
const ALL_PCRS = Array.from({ length: 24 }, (_, i) => i);
const HCL_TYPE_OFFSET = 32 + 1184 + 8; // header ‖ hw report ‖ IGVM data size, version → report type

/** Options for the Azure attesters. */
export interface AzVtpmOptions {
  transport: TpmTransport;
  imdsBase?: string;
  imdsTimeoutMs?: number;
  fetchFn?: typeof fetch;
}

/** Reads the HCL report's type: "snp" (2) or "tdx" (4); undefined when there is no HCL report. */
export async function azHclType(t: TpmTransport): Promise<"snp" | "tdx" | undefined> {
  try {
    await nvSize(t, AZ_VTPM.HCL_REPORT_INDEX);
  } catch (err) {
    if (err instanceof TpmResponseError) return undefined;
    throw err;
  }
  const hcl = Buffer.from(await nvRead(t, AZ_VTPM.HCL_REPORT_INDEX));
  if (hcl.length < HCL_TYPE_OFFSET + 4 || hcl.subarray(0, 4).toString("latin1") !== "HCLA")
    return undefined;
  const type = hcl.readUInt32LE(HCL_TYPE_OFFSET);
  return type === 2 ? "snp" : type === 4 ? "tdx" : undefined;
}

/** Writes report data (zero-padded to 64) to the paravisor's index, then reads the HCL report. */
export async function azHclReport(t: TpmTransport, reportData: Uint8Array): Promise<Uint8Array> {
  if (reportData.length > 64)
    throw new AaError("ERR_AA_REPORT_DATA", "Azure vTPM report data is at most 64 bytes");
  try {
    await nvSize(t, AZ_VTPM.REPORT_DATA_INDEX);
  } catch (err) {
    if (!(err instanceof TpmResponseError)) throw err;
    await nvDefine(t, AZ_VTPM.REPORT_DATA_INDEX, 64);
  }
  await nvWrite(t, AZ_VTPM.REPORT_DATA_INDEX, fitDigest(reportData, 64));
  return nvRead(t, AZ_VTPM.HCL_REPORT_INDEX);
}

async function imds(
  opts: AzVtpmOptions,
  path: string,
  init: RequestInit,
): Promise<Record<string, unknown>> {
  const url = `${opts.imdsBase ?? IMDS.base}${path}`;
  let res: Response;
  try {
    res = await (opts.fetchFn ?? fetch)(url, {
      ...init,
      signal: AbortSignal.timeout(opts.imdsTimeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new AaError(
      "ERR_AA_ATTESTER",
      `Azure IMDS ${path} unreachable (not an Azure CVM?): ${(err as Error).message}`,
    );
  }
  if (!res.ok) throw new AaError("ERR_AA_ATTESTER", `Azure IMDS ${path} answered ${res.status}`);
  try {
    return (await res.json()) as Record<string, unknown>;
  } catch {
    throw new AaError("ERR_AA_ATTESTER", `Azure IMDS ${path} did not answer JSON`);
  }
}

function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new AaError("ERR_AA_ATTESTER", "IMDS vcekCert is not a PEM certificate");
  return Buffer.from((m[1] ?? "").replace(/\s+/g, ""), "base64");
}

const b64urlPadded = (b: Uint8Array) =>
  Buffer.from(b).toString("base64").replaceAll("+", "-").replaceAll("/", "_");

/** Creates `az-snp-vtpm` or `az-tdx-vtpm`. */
export function createAzVtpmAttester(kind: "snp" | "tdx", opts: AzVtpmOptions): Attester {
  const t = opts.transport;
  const runtime = pcrRuntimeMeasurer(t);
  return {
    tee: kind === "snp" ? "az-snp-vtpm" : "az-tdx-vtpm",
    runtime,
    async getEvidence(reportData) {
      const hcl = await azHclReport(t, reportData);
      const q = await quote(t, AZ_VTPM.AK_HANDLE, reportData, ALL_PCRS);
      const sig = new R(Buffer.from(q.signature));
      sig.u16();
      sig.u16();
      const rawSig = Buffer.from(sig.tpm2b());
      const pcrs = await pcrRead(t, ALL_PCRS);
      const tpmQuote = {
        signature: rawSig.toString("hex"),
        message: Buffer.from(q.message).toString("hex"),
        pcrs: ALL_PCRS.map((i) => Buffer.from(pcrs.get(i) ?? []).toString("hex")),
      };
      if (kind === "snp") {
        const certs = await imds(opts, IMDS.vcek, { headers: { Metadata: "true" } });
        if (typeof certs.vcekCert !== "string")
          throw new AaError("ERR_AA_ATTESTER", "IMDS answer has no vcekCert");
        return {
          version: 2,
          tpm_quote: tpmQuote,
          hcl_report: b64urlPadded(hcl),
          vcek: b64urlPadded(pemToDer(certs.vcekCert)),
        };
      }
      const tdReport = Buffer.from(hcl).subarray(32, 32 + 1024);
      const r = await imds(opts, IMDS.tdQuote, {
        method: "POST",
        headers: { "content-type": "application/json", Metadata: "true" },
        body: JSON.stringify({ report: Buffer.from(tdReport).toString("base64url") }),
      });
      if (typeof r.quote !== "string")
        throw new AaError("ERR_AA_ATTESTER", "IMDS tdquote answer has no quote");
      return {
        version: 2,
        tpm_quote: tpmQuote,
        hcl_report: b64urlPadded(hcl),
        td_quote: b64urlPadded(Buffer.from(r.quote, "base64url")),
      };
    },
    async bindInitData(digest) {
      await pcrExtend(t, 8, fitDigest(digest, 32));
      return "bound";
    },
  };
}
