import type { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseCcaEvidence, parseCcaToken } from "../tee/cca/index.js";
import { fromHex } from "../tee/common/bytes.js";
import type { Clock } from "../tee/common/certs.js";
import { EvidenceError } from "../tee/common/errors.js";
import { parseCsvEvidence } from "../tee/csv/index.js";
import { EVENTLOG_MAX_SIZE, parseCcel } from "../tee/eventlog/ccel.js";
import { replayRegister } from "../tee/eventlog/replay.js";
import { parseNvidiaEvidence } from "../tee/nvidia/index.js";
import { parseSnpEvidence } from "../tee/snp/evidence.js";
import { parseSnpReport } from "../tee/snp/report.js";
import { parseTpmEvidence } from "../tee/tpm/index.js";
import {
  parseAzSnpEvidence,
  verifyAzSnpEvidence,
} from "../trustee/as/verifier/az-snp-vtpm/index.js";
import {
  parseAzTdxEvidence,
  verifyAzTdxEvidence,
} from "../trustee/as/verifier/az-tdx-vtpm/index.js";
import { ccaStoresFromDir, verifyCcaToken } from "../trustee/as/verifier/cca/index.js";
import { readHskCek, verifyCsvEvidence } from "../trustee/as/verifier/csv/index.js";
import {
  parseNvidiaReferenceMeasurements,
  verifyNvidiaDevice,
} from "../trustee/as/verifier/nvidia/index.js";
import { parseSgxEvidence, verifySgxQuote } from "../trustee/as/verifier/sgx/index.js";
import {
  createOfflineVcekSource,
  snpVendorOrShipped,
  verifySnpEvidence,
} from "../trustee/as/verifier/snp/index.js";
import { parseTdxEvidence, verifyTdxEvidence } from "../trustee/as/verifier/tdx/index.js";
import { verifyTpmEvidence } from "../trustee/as/verifier/tpm/index.js";
import {
  collateralFetchDcap,
  collateralFetchSnp,
  httpGet,
  httpGetWithHeaders,
  INTEL_ROOT_CA_CRL_URL,
} from "./attest-collateral.js";
import { dcapCollateral, evidenceJson, MAX_EVIDENCE, readIf } from "./attest-common.js";

/** TEEs `coco attest verify` understands. */
export const ATTEST_TEES = [
  "tdx",
  "sgx",
  "snp",
  "az-snp-vtpm",
  "az-tdx-vtpm",
  "cca",
  "nvidia",
  "tpm",
  "csv",
] as const;
/** TEEs upstream verifies that we do not, and why (each a coded ERR_NOT_IMPLEMENTED). */
export const NOT_BUILT: Readonly<Record<string, string>> = {
  se: "IBM Secure Execution is not built: its attestation needs IBM's host-key documents and a live SE guest, and no SE capture is in ../shared to verify against",
  hygondcu: "Hygon DCU is not built (no capture in ../shared)",
};

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
  /** csv: accept evidence whose HSK/CEK are nowhere to be had, trusting its PEK (claims say so). */
  allowPekOnly?: boolean;
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
      // AMD's roots ship with the product; --collateral adds a VCEK store (and may hold bundles).
      const dir = o.collateralDir;
      const vendor = snpVendorOrShipped(dir, readIf, clock ?? (() => new Date()));
      // A raw report is verified as is (no JSON round trip, so every signed byte is checked).
      const evidence = json
        ? parseSnpEvidence(json)
        : { report: parseSnpReport(o.evidence), certChain: null };
      return {
        ...verifySnpEvidence(evidence, {
          vendor,
          vcekSource: dir ? createOfflineVcekSource(dir, readIf) : undefined,
          expectedReportData: o.reportData,
          expectedInitDataHash: o.initDataDigest,
          clock,
        }),
      };
    }
    case "az-snp-vtpm": {
      if (!o.reportData)
        throw new EvidenceError(
          "ERR_REPORT_DATA_MISMATCH",
          "az-snp-vtpm needs --report-data (the TPM quote nonce)",
        );
      return verifyAzSnpEvidence(parseAzSnpEvidence(json), {
        vendor: snpVendorOrShipped(o.collateralDir, readIf, clock ?? (() => new Date())),
        expectedReportData: o.reportData,
        expectedInitDataHash: o.initDataDigest,
        clock,
      });
    }
    case "cca": {
      if (!o.collateralDir) {
        throw new EvidenceError(
          "ERR_COLLATERAL_MISSING",
          "cca needs --collateral DIR holding tastore.json (CPAKs) and optionally rvstore.json (platform reference values)",
        );
      }
      // Upstream's evidence JSON ({"token": [bytes]}) or the raw CBOR token.
      const token = parseCcaToken(json ? parseCcaEvidence(json) : o.evidence);
      return verifyCcaToken(token, {
        ...ccaStoresFromDir(o.collateralDir, readIf),
        expectedReportData: o.reportData,
        expectedInitDataHash: o.initDataDigest,
      });
    }
    case "nvidia": {
      // Upstream's device evidence JSON; one claim set per device. Reference measurements are
      // read from DIR/nvidia-reference-measurements.json when --collateral is given.
      const rvBytes = o.collateralDir
        ? readIf(`${o.collateralDir}/nvidia-reference-measurements.json`)
        : undefined;
      const referenceMeasurements = rvBytes
        ? parseNvidiaReferenceMeasurements(
            Buffer.from(rvBytes).toString("utf8"),
            "nvidia-reference-measurements.json",
          )
        : undefined;
      const devices = parseNvidiaEvidence(json).map((d) =>
        verifyNvidiaDevice(d, { expectedReportData: o.reportData, referenceMeasurements, clock }),
      );
      return { devices };
    }
    case "tpm":
      // The AK comes with the evidence; trusting it is the attestation policy's job
      // (upstream: `input.tpm.ak_public in query_reference_value("trusted_aks")`).
      return verifyTpmEvidence(parseTpmEvidence(json), {
        expectedReportData: o.reportData,
        expectedInitDataHash: o.initDataDigest,
      });
    case "csv": {
      // Upstream's evidence JSON; HSK/CEK from the evidence or DIR/hsk_cek/<chip>/hsk_cek.cert.
      if (o.initDataDigest) {
        throw new EvidenceError(
          "ERR_EVIDENCE_UNSUPPORTED",
          "a CSV report has no field that binds init-data (upstream skips it too); --init-data-digest cannot be checked",
        );
      }
      const ev = parseCsvEvidence(json);
      return verifyCsvEvidence(ev, {
        expectedReportData: o.reportData,
        hskCek:
          ev.hskCek || !o.collateralDir
            ? undefined
            : readHskCek([o.collateralDir], ev.serialNumber, readIf),
        allowPekOnly: o.allowPekOnly,
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

function hexOpt(v: string | undefined, what: string): Uint8Array | undefined {
  if (v === undefined) return undefined;
  const b = fromHex(v.replace(/^0x/, ""), what);
  if (b.length > 64)
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `${what} is longer than 64 bytes`);
  return b;
}

/** Registers `coco attest verify` and `coco attest collateral fetch`. */
export function registerAttest(program: Command): void {
  const attest = program
    .command("attest")
    .description(
      "Verify hardware TEE evidence offline (TDX, SGX, SNP, Azure vTPM, CCA, NVIDIA GPUs, TPM, Hygon CSV)",
    );
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
      "offline collateral: AMD roots + VCEK store (snp, az-snp-vtpm); DCAP collateral (tdx, sgx); tastore.json + rvstore.json (cca); hsk_cek/<chip>/hsk_cek.cert (csv)",
    )
    .option(
      "--allow-pek-only",
      "csv: accept evidence whose HSK/CEK are not available, trusting the PEK it carries (the chain to Hygon's root is then NOT checked; the claims say pek_only)",
    )
    .option("--eventlog <file>", "a CCEL (with AAEL records) to replay against the TDX RTMRs")
    .option(
      "--now <iso-date>",
      "judge certificate validity at this time instead of the system clock",
    )
    .action((opts: Record<string, string | undefined>) => {
      const tee = opts.tee as AttestTee;
      const notBuilt = NOT_BUILT[tee as string];
      if (notBuilt !== undefined) throw new EvidenceError("ERR_NOT_IMPLEMENTED", notBuilt);
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
        allowPekOnly: Boolean(opts.allowPekOnly),
      });
      process.stdout.write(`${JSON.stringify(claims, null, 2)}\n`);
    });
  attest
    .command("eventlog")
    .description(
      "Parse a CCEL (with AAEL records) into upstream's JSON and print the replayed RTMRs",
    )
    .requiredOption("--file <file>", "the event log (e.g. /sys/firmware/acpi/tables/data/CCEL)")
    .action((opts: Record<string, string>) => {
      const bytes = new Uint8Array(readFileSync(opts.file as string));
      if (bytes.length > EVENTLOG_MAX_SIZE) {
        throw new EvidenceError(
          "ERR_EVIDENCE_OVERSIZE",
          `event log is larger than ${EVENTLOG_MAX_SIZE} bytes`,
        );
      }
      const log = parseCcel(bytes);
      const rtmrs = [1, 2, 3, 4].map((i) => Buffer.from(replayRegister(log, i)).toString("hex"));
      process.stdout.write(`${JSON.stringify({ ...log, replayed_rtmrs: rtmrs }, null, 2)}\n`);
    });
  const collateral = attest
    .command("collateral")
    .description("Manage the offline collateral directory");
  collateral
    .command("fetch")
    .description(
      "Fill the collateral directory for this evidence from AMD KDS (snp) or Intel PCS/PCCS (tdx, sgx); needs network",
    )
    .requiredOption("--tee <tee>", "snp, tdx or sgx")
    .requiredOption("--evidence <file>", "SNP evidence JSON or raw report; TDX/SGX quote")
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

export {
  createHardwareVerifiers,
  type HardwareVerifierOptions,
} from "../trustee/verifiers.js";
export {
  collateralFetchDcap,
  collateralFetchSnp,
  type HttpGet,
  type HttpGetWithHeaders,
  INTEL_ROOT_CA_CRL_URL,
} from "./attest-collateral.js";
