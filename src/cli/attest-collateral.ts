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
import { fetchDcapCollateral, type HttpGetWithHeaders } from "../trustee/as/verifier/tdx/pcs.js";
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

export type { HttpGetWithHeaders } from "../trustee/as/verifier/tdx/pcs.js";
export { INTEL_ROOT_CA_CRL_URL } from "../trustee/as/verifier/tdx/pcs.js";

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
  const c = await fetchDcapCollateral(quote, tee, get, {
    pcsUrl,
    rootCrlUrl,
    clock,
    root: opts.root,
  });
  // Appraise before writing: nothing unverifiable lands in the cache directory.
  const { pck } = verifyDcapSignatures(quote, clock, opts.root);
  tcbClaims(quote, pck, c, clock());
  const files: [string, Uint8Array][] = [
    [`tcb-info-${tee}.json`, Buffer.from(c.tcbInfoJson)],
    ["tcb-info-issuer-chain.pem", Buffer.from(c.tcbInfoIssuerChainPem)],
    [`qe-identity-${tee}.json`, Buffer.from(c.qeIdentityJson)],
    ["qe-identity-issuer-chain.pem", Buffer.from(c.qeIdentityIssuerChainPem)],
    [`pck-crl-${c.ca}.der`, c.pckCrlDer as Uint8Array],
    ["root-ca-crl.der", c.rootCaCrlDer as Uint8Array],
  ];
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
