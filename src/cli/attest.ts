import type { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { fromBase64, fromHex } from "../tee/common/bytes.js";
import type { Clock } from "../tee/common/certs.js";
import { EvidenceError } from "../tee/common/errors.js";
import { parseCcel } from "../tee/eventlog/ccel.js";
import { parseSnpEvidence } from "../tee/snp/evidence.js";
import { parseSnpReport } from "../tee/snp/report.js";
import { parseDcapQuote } from "../tee/tdx/quote.js";
import {
  createAzSnpVtpmVerifier,
  parseAzSnpEvidence,
  verifyAzSnpEvidence,
} from "../trustee/as/verifier/az-snp-vtpm/index.js";
import {
  createAzTdxVtpmVerifier,
  parseAzTdxEvidence,
  verifyAzTdxEvidence,
} from "../trustee/as/verifier/az-tdx-vtpm/index.js";
import {
  createSgxVerifier,
  parseSgxEvidence,
  verifySgxQuote,
} from "../trustee/as/verifier/sgx/index.js";
import {
  AMD_KDS_URL,
  createKdsVcekFetcher,
  createOfflineVcekSource,
  createSnpVerifier,
  loadVendorCertificates,
  processorGeneration,
  snpVendorFromDir,
  tcbPrefix,
  verifySnpEvidence,
} from "../trustee/as/verifier/snp/index.js";
import { type DcapCollateral, tcbClaims } from "../trustee/as/verifier/tdx/collateral.js";
import { verifyDcapSignatures } from "../trustee/as/verifier/tdx/dcap.js";
import {
  createTdxVerifier,
  parseTdxEvidence,
  verifyTdxEvidence,
} from "../trustee/as/verifier/tdx/index.js";
import type { Verifier } from "../trustee/as/verifier/types.js";

/** TEEs `coco attest verify` understands. */
export const ATTEST_TEES = ["tdx", "sgx", "snp", "az-snp-vtpm", "az-tdx-vtpm"] as const;
/** One of {@link ATTEST_TEES}. */
export type AttestTee = (typeof ATTEST_TEES)[number];

/** Options of {@link attestVerify}, as the CLI flags give them. */
export interface AttestVerifyOptions {
  tee: AttestTee;
  /** Evidence bytes: upstream's evidence JSON, or a raw quote / SNP report. */
  evidence: Uint8Array;
  reportData?: Uint8Array;
  initDataDigest?: Uint8Array;
  /** Directory of operator-supplied collateral (AMD roots + VCEK store; DCAP collateral). */
  collateralDir?: string;
  /** A CCEL to replay (TDX), replacing the evidence's `cc_eventlog`. */
  eventlog?: Uint8Array;
  clock?: Clock;
  /** Trust anchor for DCAP instead of the pinned Intel root (pre-production; tests). No flag. */
  root?: X509Certificate;
}

const MAX_EVIDENCE = 4 * 1024 * 1024;

function readIf(p: string): Uint8Array | undefined {
  return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
}

function evidenceJson(bytes: Uint8Array): unknown | undefined {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first !== 0x7b) return undefined; // not "{": a raw quote or report
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "evidence file starts with '{' but is not JSON",
      { cause },
    );
  }
}

function needCollateral(dir: string | undefined, tee: string): string {
  if (!dir) {
    throw new EvidenceError(
      "ERR_COLLATERAL_MISSING",
      `${tee} needs AMD's ARK/ASK/ASVK: pass --collateral DIR holding <gen>-ask-ark-asvk-bundle.pem (fill it with 'coco attest collateral fetch')`,
    );
  }
  return dir;
}

function dcapCollateral(dir: string | undefined, tee: "tdx" | "sgx"): DcapCollateral | undefined {
  if (!dir) return undefined;
  const read = (n: string): string => {
    const b = readIf(join(dir, n));
    if (!b)
      throw new EvidenceError(
        "ERR_COLLATERAL_MISSING",
        `DCAP collateral file ${n} is missing in ${dir}`,
      );
    return Buffer.from(b).toString("utf8");
  };
  const bin = (n: string): Uint8Array => {
    const b = readIf(join(dir, n));
    if (!b)
      throw new EvidenceError(
        "ERR_COLLATERAL_MISSING",
        `DCAP collateral file ${n} is missing in ${dir}`,
      );
    return b;
  };
  return {
    tcbInfoJson: read(`tcb-info-${tee}.json`),
    tcbInfoIssuerChainPem: read("tcb-info-issuer-chain.pem"),
    qeIdentityJson: read(`qe-identity-${tee}.json`),
    qeIdentityIssuerChainPem: read("qe-identity-issuer-chain.pem"),
    pckCrlDer: ["pck-crl-platform.der", "pck-crl-processor.der"].flatMap(
      (n) => readIf(join(dir, n)) ?? [],
    ),
    rootCaCrlDer: bin("root-ca-crl.der"),
  };
}

/** Verifies evidence offline and returns upstream's claims, or throws an EvidenceError. */
export function attestVerify(o: AttestVerifyOptions): Record<string, unknown> {
  if (o.evidence.length > MAX_EVIDENCE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `evidence is ${o.evidence.length} bytes, limit ${MAX_EVIDENCE}`,
    );
  }
  const json = evidenceJson(o.evidence);
  const clock = o.clock;
  switch (o.tee) {
    case "tdx": {
      const ev = parseTdxEvidence(json ?? { quote: Buffer.from(o.evidence).toString("base64") });
      if (o.eventlog) ev.ccel = parseCcel(o.eventlog);
      return verifyTdxEvidence(ev, {
        expectedReportData: o.reportData,
        expectedInitDataHash: o.initDataDigest,
        collateral: dcapCollateral(o.collateralDir, "tdx"),
        clock,
        root: o.root,
      });
    }
    case "sgx":
      return verifySgxQuote(
        parseSgxEvidence(json ?? { quote: Buffer.from(o.evidence).toString("base64") }),
        {
          expectedReportData: o.reportData,
          expectedInitDataHash: o.initDataDigest,
          collateral: dcapCollateral(o.collateralDir, "sgx"),
          clock,
        },
      );
    case "snp": {
      const dir = needCollateral(o.collateralDir, "snp");
      const vendor = snpVendorFromDir(dir, readIf, clock ?? (() => new Date()));
      // A raw report is verified as is (no JSON round trip, so every signed byte is checked).
      const evidence = json
        ? parseSnpEvidence(json)
        : { report: parseSnpReport(o.evidence), certChain: null };
      return {
        ...verifySnpEvidence(evidence, {
          vendor,
          vcekSource: createOfflineVcekSource(dir, readIf),
          expectedReportData: o.reportData,
          expectedInitDataHash: o.initDataDigest,
          clock,
        }),
      };
    }
    case "az-snp-vtpm": {
      const dir = needCollateral(o.collateralDir, "az-snp-vtpm");
      if (!o.reportData)
        throw new EvidenceError(
          "ERR_REPORT_DATA_MISMATCH",
          "az-snp-vtpm needs --report-data (the TPM quote nonce)",
        );
      return verifyAzSnpEvidence(parseAzSnpEvidence(json), {
        vendor: snpVendorFromDir(dir, readIf, clock ?? (() => new Date())),
        expectedReportData: o.reportData,
        expectedInitDataHash: o.initDataDigest,
        clock,
      });
    }
    case "az-tdx-vtpm":
      if (!o.reportData)
        throw new EvidenceError(
          "ERR_REPORT_DATA_MISMATCH",
          "az-tdx-vtpm needs --report-data (the TPM quote nonce)",
        );
      return verifyAzTdxEvidence(parseAzTdxEvidence(json), {
        expectedReportData: o.reportData,
        expectedInitDataHash: o.initDataDigest,
        collateral: dcapCollateral(o.collateralDir, "tdx"),
        clock,
      });
  }
}

/** Options of {@link createHardwareVerifiers}. */
export interface HardwareVerifierOptions {
  /**
   * Offline collateral directory: AMD `<gen>-ask-ark-asvk-bundle.pem` files (ARKs checked
   * against the pins) and a VCEK store `vcek/<hwid>/...`. Without it the SNP and Azure SNP
   * verifiers are not created (their evidence is refused as an unsupported TEE).
   */
  collateralDir?: string;
  clock?: Clock;
}

/**
 * The hardware verifiers for `coco trustee`: tdx, sgx, az-tdx-vtpm always (Intel root pinned);
 * snp and az-snp-vtpm when an AMD roots directory is configured. All offline.
 */
export function createHardwareVerifiers(o: HardwareVerifierOptions = {}): Verifier[] {
  const out: Verifier[] = [
    createTdxVerifier({ clock: o.clock }),
    createSgxVerifier({ clock: o.clock }),
    createAzTdxVtpmVerifier({ clock: o.clock }),
  ];
  if (o.collateralDir) {
    const vendor = snpVendorFromDir(o.collateralDir, readIf, o.clock ?? (() => new Date()));
    out.push(
      createSnpVerifier({
        vendor,
        vcekSource: createOfflineVcekSource(o.collateralDir, readIf),
        clock: o.clock,
      }),
    );
    out.push(createAzSnpVtpmVerifier({ vendor, clock: o.clock }));
  }
  return out;
}

/**
 * Maps upstream's `[attestation_service.verifier_config]` table to {@link createHardwareVerifiers}:
 * `snp.vcek_sources = [{ type = "OfflineStore", path = DIR }]` names the collateral directory
 * (our addition `snp.amd_roots = DIR` if the AMD bundles live elsewhere; default the same DIR);
 * a `{ type = "KDS", base_url = URL }` source (and only then) lets the SNP verifier fetch a VCEK
 * the store lacks; it is chain-checked to the pinned ARK like any other. `tdx.collateral_dir` / `sgx.collateral_dir`
 * (ours) enable DCAP TCB status.
 */
export function createHardwareVerifiersFromConfig(
  cfg: Record<string, unknown>,
  clock?: Clock,
  get?: (url: string) => Promise<Uint8Array>,
): Verifier[] {
  const table = (v: unknown, what: string): Record<string, unknown> => {
    if (v === undefined) return {};
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `verifier_config.${what} must be a table`);
    }
    return v as Record<string, unknown>;
  };
  const snp = table(cfg.snp, "snp");
  let store: string | undefined;
  let kds: string | undefined;
  for (const [i, src] of (Array.isArray(snp.vcek_sources) ? snp.vcek_sources : []).entries()) {
    const t = table(src, `snp.vcek_sources[${i}]`);
    if (t.type === "OfflineStore" && typeof t.path === "string") store ??= t.path;
    else if (t.type === "KDS") {
      if (t.base_url !== undefined && typeof t.base_url !== "string") {
        throw new EvidenceError(
          "ERR_EVIDENCE_MALFORMED",
          `verifier_config.snp.vcek_sources[${i}].base_url must be a string`,
        );
      }
      kds ??= (t.base_url as string | undefined) ?? AMD_KDS_URL;
    } else
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        `verifier_config.snp.vcek_sources[${i}] needs type OfflineStore and a path`,
      );
  }
  const roots = typeof snp.amd_roots === "string" ? snp.amd_roots : store;
  const dcapDir = (tee: "tdx" | "sgx"): string | undefined => {
    const d = table(cfg[tee], tee).collateral_dir;
    return typeof d === "string" ? d : undefined;
  };
  const out: Verifier[] = [];
  const tdxDir = dcapDir("tdx");
  const sgxDir = dcapDir("sgx");
  out.push(
    createTdxVerifier({ clock, collateral: tdxDir ? dcapCollateral(tdxDir, "tdx") : undefined }),
  );
  out.push(
    createSgxVerifier({ clock, collateral: sgxDir ? dcapCollateral(sgxDir, "sgx") : undefined }),
  );
  out.push(
    createAzTdxVtpmVerifier({
      clock,
      collateral: tdxDir ? dcapCollateral(tdxDir, "tdx") : undefined,
    }),
  );
  if (roots) {
    const vendor = snpVendorFromDir(roots, readIf, clock ?? (() => new Date()));
    out.push(
      createSnpVerifier({
        vendor,
        vcekSource: store ? createOfflineVcekSource(store, readIf) : undefined,
        kdsFetch: kds ? createKdsVcekFetcher(kds, get ?? httpGet) : undefined,
        clock,
      }),
    );
    out.push(createAzSnpVtpmVerifier({ vendor, clock }));
  }
  return out;
}

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

function hexOpt(v: string | undefined, what: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const b = fromHex(v.replace(/^0x/, ""), what);
  if (b.length > 64)
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} is longer than 64 bytes`);
  return b;
}

async function httpGetWithHeaders(
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

async function httpGet(url: string): Promise<Uint8Array> {
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

/** Registers `coco attest verify` and `coco attest collateral fetch`. */
export function registerAttest(program: Command): void {
  const attest = program
    .command("attest")
    .description("Verify hardware TEE evidence offline (TDX, SGX, SNP, Azure vTPM)");
  attest
    .command("verify")
    .description(
      "Verify evidence and print upstream's claims as JSON; exits non-zero naming the failed check",
    )
    .requiredOption("--tee <tee>", `one of ${ATTEST_TEES.join(", ")}`)
    .requiredOption(
      "--evidence <file>",
      "evidence JSON as the attester sends it, or a raw quote / SNP report",
    )
    .option("--report-data <hex>", "expected report data (the runtime-data digest)")
    .option("--init-data-digest <hex>", "expected init-data digest")
    .option(
      "--collateral <dir>",
      "offline collateral: AMD roots + VCEK store (snp, az-snp-vtpm); DCAP collateral (tdx, sgx)",
    )
    .option("--eventlog <file>", "a CCEL (with AAEL records) to replay against the TDX RTMRs")
    .option(
      "--now <iso-date>",
      "judge certificate validity at this time instead of the system clock",
    )
    .action((opts: Record<string, string | undefined>) => {
      const tee = opts.tee as AttestTee;
      if (!(ATTEST_TEES as readonly string[]).includes(tee)) {
        throw new EvidenceError(
          "ERR_EVIDENCE_UNSUPPORTED",
          `--tee must be one of ${ATTEST_TEES.join(", ")}`,
        );
      }
      const at = opts.now ? new Date(opts.now) : undefined;
      if (at && Number.isNaN(at.getTime()))
        throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "--now is not a date");
      const claims = attestVerify({
        tee,
        evidence: new Uint8Array(readFileSync(opts.evidence as string)),
        reportData: hexOpt(opts.reportData, "--report-data"),
        initDataDigest: hexOpt(opts.initDataDigest, "--init-data-digest"),
        collateralDir: opts.collateral,
        eventlog: opts.eventlog ? new Uint8Array(readFileSync(opts.eventlog)) : undefined,
        clock: at ? () => at : undefined,
      });
      process.stdout.write(`${JSON.stringify(claims, null, 2)}\n`);
    });
  const collateral = attest
    .command("collateral")
    .description("Manage the offline collateral directory");
  collateral
    .command("fetch")
    .description(
      "Fill the collateral directory for this evidence from AMD KDS (snp); needs network",
    )
    .requiredOption("--tee <tee>", "snp (DCAP collateral for tdx/sgx is not implemented)")
    .requiredOption("--evidence <file>", "SNP evidence JSON or raw report")
    .requiredOption("--out <dir>", "collateral directory to fill")
    .option("--kds-url <url>", "AMD KDS base URL or a mirror (snp)", "https://kdsintf.amd.com")
    .option(
      "--pcs-url <url>",
      "Intel PCS or a PCCS base URL (tdx, sgx)",
      "https://api.trustedservices.intel.com",
    )
    .option("--root-crl-url <url>", "Intel SGX Root CA CRL URL (tdx, sgx)", INTEL_ROOT_CA_CRL_URL)
    .action(async (opts: Record<string, string>) => {
      if (opts.tee === "tdx" || opts.tee === "sgx") {
        const written = await collateralFetchDcap(
          new Uint8Array(readFileSync(opts.evidence as string)),
          opts.tee,
          opts.out as string,
          opts.pcsUrl as string,
          opts.rootCrlUrl as string,
          httpGetWithHeaders,
        );
        for (const w of written) process.stdout.write(`${w}\n`);
        return;
      }
      if (opts.tee !== "snp") {
        throw new EvidenceError(
          "ERR_EVIDENCE_UNSUPPORTED",
          `collateral fetch supports snp, tdx and sgx, not ${opts.tee}`,
        );
      }
      const written = await collateralFetchSnp(
        new Uint8Array(readFileSync(opts.evidence as string)),
        opts.out as string,
        opts.kdsUrl as string,
        httpGet,
      );
      for (const w of written) process.stdout.write(`${w}\n`);
    });
}
