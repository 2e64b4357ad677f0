/** `coco attest collateral fetch`: fill the offline collateral directory from KDS or PCS. */
import type { X509Certificate } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fromBase64 } from "../tee/common/bytes.js";
import type { Clock } from "../tee/common/certs.js";
import { EvidenceError } from "../tee/common/errors.js";
import { parseSnpEvidence } from "../tee/snp/evidence.js";
import { parseSnpReport } from "../tee/snp/report.js";
import { parseDcapQuote } from "../tee/tdx/quote.js";
import {
  loadVendorCertificates,
  processorGeneration,
  tcbPrefix,
} from "../trustee/as/verifier/snp/index.js";
import { tcbClaims } from "../trustee/as/verifier/tdx/collateral.js";
import { verifyDcapSignatures } from "../trustee/as/verifier/tdx/dcap.js";
import { evidenceJson } from "./attest-common.js";

/** Writes `data` to `path` atomically (temp file + rename). Certificates are public: mode 0644. */
function writeAtomic(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o644 });
  renameSync(tmp, path);
}

/** I/O for {@link collateralFetchSnp}: an HTTP GET returning the body, or throwing. */
export type HttpGet = (url: string) => Promise<Uint8Array>;

/**
 * Fills an offline collateral directory for SNP evidence from AMD's KDS (or a mirror at
 * `kdsUrl`): the generation's ARK/ASK (`/vcek/v1/<gen>/cert_chain`) and ASVK
 * (`/vlek/v1/<gen>/cert_chain`) as `<gen>-ask-ark-asvk-bundle.pem`, and the report's VCEK as
 * `vcek/<hwid>/<tcb>_vcek.der`. The ARK is checked against the pin before anything is written.
 */
export async function collateralFetchSnp(
  evidence: Uint8Array,
  outDir: string,
  kdsUrl: string,
  get: HttpGet,
  clock: Clock = () => new Date(),
): Promise<string[]> {
  const json = evidenceJson(evidence);
  const report = json ? parseSnpEvidence(json).report : parseSnpReport(evidence);
  const gen = processorGeneration(report);
  const base = kdsUrl.replace(/\/+$/, "");
  const askArk = Buffer.from(await get(`${base}/vcek/v1/${gen}/cert_chain`)).toString("utf8");
  let asvk = "";
  try {
    asvk = Buffer.from(await get(`${base}/vlek/v1/${gen}/cert_chain`)).toString("utf8");
  } catch {
    // VLEK chains are optional; VCEK verification needs only ARK/ASK.
  }
  const asvkOnly =
    asvk.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
  const bundle = `${askArk.trim()}\n${asvkOnly}\n`;
  // Validates the pin and signatures before anything is written.
  loadVendorCertificates(bundle, gen, clock);
  const written: string[] = [];
  const bundlePath = join(outDir, `${gen.toLowerCase()}-ask-ark-asvk-bundle.pem`);
  writeAtomic(bundlePath, Buffer.from(bundle));
  written.push(bundlePath);
  const chip = gen === "Turin" ? report.chipId.subarray(0, 8) : report.chipId;
  if (chip.some((b) => b !== 0)) {
    const t = report.reportedTcb;
    const q = `blSPL=${t.bootloader}&teeSPL=${t.tee}&snpSPL=${t.snp}&ucodeSPL=${t.microcode}${t.fmc === null ? "" : `&fmcSPL=${t.fmc}`}`;
    const hwid = Buffer.from(chip).toString("hex");
    const vcek = await get(`${base}/vcek/v1/${gen}/${hwid}?${q}`);
    const p = join(outDir, "vcek", hwid, `${tcbPrefix(report)}_vcek.der`);
    writeAtomic(p, vcek);
    written.push(p);
  }
  return written;
}

/** An HTTP GET returning the body and the response headers (lowercase names). */
export type HttpGetWithHeaders = (
  url: string,
) => Promise<{ body: Uint8Array; headers: Record<string, string> }>;

/** Intel's Root CA CRL, the CRL distribution point of the pinned root. */
export const INTEL_ROOT_CA_CRL_URL =
  "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

/**
 * Fills a DCAP collateral directory for this quote from Intel PCS v4 or a PCCS at `pcsUrl`:
 * `tcb-info-<tee>.json` + `tcb-info-issuer-chain.pem`, `qe-identity-<tee>.json` +
 * `qe-identity-issuer-chain.pem`, `pck-crl-<platform|processor>.der`, `root-ca-crl.der`.
 * Everything is checked (signatures, chains to the pinned root, CRLs) by appraising the quote
 * against it before the files are written.
 */
export async function collateralFetchDcap(
  evidence: Uint8Array,
  tee: "tdx" | "sgx",
  outDir: string,
  pcsUrl: string,
  rootCrlUrl: string,
  get: HttpGetWithHeaders,
  opts: { clock?: Clock; root?: X509Certificate } = {},
): Promise<string[]> {
  const json = evidenceJson(evidence);
  const quoteB64 = json
    ? (json as { quote?: unknown }).quote
    : Buffer.from(evidence).toString("base64");
  const quote = parseDcapQuote(fromBase64(quoteB64, "quote"));
  const clock = opts.clock ?? (() => new Date());
  const { pck } = verifyDcapSignatures(quote, clock, opts.root);
  const base = pcsUrl.replace(/\/+$/, "");
  const fmspc = Buffer.from(pck.platform.fmspc).toString("hex").toUpperCase();
  const chain = (h: Record<string, string>, name: string): string => {
    // PCS v4 names the TCB header TCB-Info-Issuer-Chain; v3 and some PCCS SGX-TCB-Info-Issuer-Chain.
    const v = h[name] ?? h[`sgx-${name}`];
    if (!v)
      throw new EvidenceError("ERR_COLLATERAL_INVALID", `PCS response lacks the ${name} header`);
    return decodeURIComponent(v);
  };
  const tcb = await get(`${base}/${tee}/certification/v4/tcb?fmspc=${fmspc}`);
  const qe = await get(`${base}/${tee}/certification/v4/qe/identity`);
  const ca = pck.isPlatformCa ? "platform" : "processor";
  const crl = await get(`${base}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`);
  const rootCrl = await get(rootCrlUrl);
  const files: [string, Uint8Array][] = [
    [`tcb-info-${tee}.json`, tcb.body],
    ["tcb-info-issuer-chain.pem", Buffer.from(chain(tcb.headers, "tcb-info-issuer-chain"))],
    [`qe-identity-${tee}.json`, qe.body],
    [
      "qe-identity-issuer-chain.pem",
      Buffer.from(chain(qe.headers, "sgx-enclave-identity-issuer-chain")),
    ],
    [`pck-crl-${ca}.der`, crl.body],
    ["root-ca-crl.der", rootCrl.body],
  ];
  const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");
  // Appraise before writing: nothing unverifiable lands in the cache directory.
  tcbClaims(
    quote,
    pck,
    {
      tcbInfoJson: text(tcb.body),
      tcbInfoIssuerChainPem: text(files[1]?.[1] ?? new Uint8Array()),
      qeIdentityJson: text(qe.body),
      qeIdentityIssuerChainPem: text(files[3]?.[1] ?? new Uint8Array()),
      pckCrlDer: crl.body,
      rootCaCrlDer: rootCrl.body,
      root: opts.root,
    },
    clock(),
  );
  const written: string[] = [];
  for (const [name, data] of files) {
    const p = join(outDir, name);
    writeAtomic(p, data);
    written.push(p);
  }
  return written;
}

/** GET with a 30 s timeout and a 1 MiB cap, returning body and lowercase headers. */
export async function httpGetWithHeaders(
  url: string,
): Promise<{ body: Uint8Array; headers: Record<string, string> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok)
    throw new EvidenceError("ERR_COLLATERAL_MISSING", `GET ${url} answered ${res.status}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > 1024 * 1024)
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `GET ${url} is larger than 1 MiB`);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k.toLowerCase()] = v;
  });
  return { body, headers };
}

/** GET with a 30 s timeout and a 1 MiB cap. */
export async function httpGet(url: string): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok)
    throw new EvidenceError("ERR_COLLATERAL_MISSING", `GET ${url} answered ${res.status}`);
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > 1024 * 1024)
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `GET ${url} is larger than 1 MiB`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > 1024 * 1024)
    throw new EvidenceError("ERR_COLLATERAL_INVALID", `GET ${url} is larger than 1 MiB`);
  return body;
}
