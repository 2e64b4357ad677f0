import { createHash, type X509Certificate } from "node:crypto";
import {
  assertIssuedBy,
  type Clock,
  commonName,
  parsePemBundle,
} from "../../../../tee/common/certs.js";
import { EvidenceError } from "../../../../tee/common/errors.js";
import type { SnpReport } from "../../../../tee/snp/report.js";

/** AMD EPYC generations with SNP, named as AMD's KDS names them. */
export type ProcessorGeneration = "Milan" | "Genoa" | "Turin";

/**
 * SHA-256 fingerprints (of the DER) of AMD's root keys (ARK) per generation. ARKs are
 * self-signed RSA-4096 certificates published by AMD's KDS (`/vcek/v1/<gen>/cert_chain`); an
 * ARK is trusted only when its fingerprint is one of these, so roots are never fetched or
 * taken from evidence on trust.
 */
export const PINNED_ARK_SHA256: Readonly<Record<ProcessorGeneration, string>> = {
  Milan: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
  Genoa: "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
  Turin: "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
};

/** The AMD signing chain for one generation: ARK (root), ASK (signs VCEKs), ASVK (signs VLEKs). */
export interface VendorCertificates {
  generation: ProcessorGeneration;
  ark: X509Certificate;
  ask: X509Certificate;
  asvk: X509Certificate | null;
}

/** SHA-256 of a certificate's DER, lowercase hex. */
export function certSha256(cert: X509Certificate): string {
  return createHash("sha256").update(cert.raw).digest("hex");
}

/** Throws ERR_CERT_ROOT unless `ark` is the pinned ARK of `gen` and correctly self-signed. */
export function assertPinnedArk(ark: X509Certificate, gen: ProcessorGeneration, now: Date): void {
  if (certSha256(ark) !== PINNED_ARK_SHA256[gen]) {
    throw new EvidenceError(
      "ERR_CERT_ROOT",
      `ARK ${commonName(ark)} is not AMD's pinned ARK-${gen} (fingerprint mismatch)`,
    );
  }
  assertIssuedBy(ark, ark, now, `ARK-${gen}`);
}

/**
 * Builds the vendor chain of `gen` from PEM text holding AMD's ARK, ASK and (optionally) ASVK
 * in any order, as in the KDS `cert_chain` files and upstream's `<gen>_ask_ark_asvk.pem`.
 * Each certificate is checked: the ARK against the pin, ASK/ASVK signed by it.
 */
export function loadVendorCertificates(
  pem: string,
  gen: ProcessorGeneration,
  clock: Clock,
): VendorCertificates {
  const now = clock();
  const certs = parsePemBundle(pem, `AMD ${gen} bundle`);
  const byCn = new Map(certs.map((c) => [commonName(c), c]));
  const ark = byCn.get(`ARK-${gen}`);
  const ask = byCn.get(`SEV-${gen}`);
  const asvk = byCn.get(`SEV-VLEK-${gen}`) ?? null;
  if (!ark || !ask) {
    throw new EvidenceError("ERR_CERT_MISSING", `AMD ${gen} bundle lacks ARK-${gen} or SEV-${gen}`);
  }
  assertPinnedArk(ark, gen, now);
  assertIssuedBy(ask, ark, now, `ASK SEV-${gen}`);
  if (asvk) assertIssuedBy(asvk, ark, now, `ASVK SEV-VLEK-${gen}`);
  return { generation: gen, ark, ask, asvk };
}

/**
 * The processor generation from the report's CPUID fields (version 3+), as upstream's
 * `get_processor_generation`: family 19h models 00–0Fh Milan, 10–1Fh and A0–AFh Genoa; family
 * 1Ah models 00–11h Turin. Version-2 reports carry no CPUID: the caller must say which chain
 * to use (`fallback`), or the report is refused.
 */
export function processorGeneration(
  report: SnpReport,
  fallback?: ProcessorGeneration,
): ProcessorGeneration {
  const fam = report.cpuidFamId;
  const mod = report.cpuidModId;
  if (fam === null || mod === null) {
    if (fallback) return fallback;
    throw new EvidenceError(
      "ERR_PROCESSOR_UNKNOWN",
      `SNP report version ${report.version} has no CPUID family/model; the processor generation cannot be determined`,
    );
  }
  if (fam === 0x19) {
    if (mod <= 0x0f) return "Milan";
    if ((mod >= 0x10 && mod <= 0x1f) || (mod >= 0xa0 && mod <= 0xaf)) return "Genoa";
  } else if (fam === 0x1a && mod <= 0x11) {
    return "Turin";
  }
  throw new EvidenceError(
    "ERR_PROCESSOR_UNKNOWN",
    `CPUID family 0x${fam.toString(16)} model 0x${mod.toString(16)} is not a supported SNP processor`,
  );
}
