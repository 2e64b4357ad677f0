/**
 * Hardware evidence, end to end and offline: real TDX, SGX, SEV-SNP and Azure SNP vTPM evidence
 * captured on hardware (../shared/fixtures) is verified by the Attestation Service verifiers
 * against the pinned Intel root and AMD ARKs, then tampered with and refused.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHardwareVerifiers } from "../src/cli/attest.js";
import { parseHclReport } from "../src/tee/az-snp-vtpm/hcl.js";
import { snpReportToJson } from "../src/tee/snp/evidence.js";
import { parseSnpReport } from "../src/tee/snp/report.js";
import type { Verifier } from "../src/trustee/as/verifier/types.js";

/** Options of {@link demoEvidence}. */
export interface EvidenceDemoContext {
  /** `../shared` (default: beside the repository, or COCO_SHARED_DIR). */
  sharedDir?: string;
}

/** What the demo established. */
export interface EvidenceDemoResult {
  verified: string[];
  refused: { what: string; code: string }[];
}

/** `../shared` beside the checkout (or COCO_SHARED_DIR), where the real captures are read in place. */
export function defaultSharedDir(): string {
  return (
    process.env.COCO_SHARED_DIR ??
    join(fileURLToPath(new URL("../..", import.meta.url)), "..", "shared")
  );
}

/** Why the evidence demo cannot run (the captures are absent), or false. */
export function evidenceUnavailable(shared: string = defaultSharedDir()): string | false {
  return existsSync(join(shared, "fixtures", "evidence", "tdx", "tdx_quote_4.dat"))
    ? false
    : `the real hardware captures are read in place from ${shared}/fixtures/evidence, which is absent`;
}

/** Runs the evidence demo, logging one line per step. */
export async function demoEvidence(
  log: (line: string) => void,
  ctx: EvidenceDemoContext = {},
): Promise<EvidenceDemoResult> {
  const shared = ctx.sharedDir ?? defaultSharedDir();
  const fx = (p: string): string => join(shared, "fixtures", p);
  const missing = evidenceUnavailable(shared);
  if (missing) throw new Error(missing);
  // The fixtures were captured in 2023-2025; the VLEK in them expired 2025-12-10.
  const at = new Date("2025-06-01T00:00:00Z");
  const verifiers = new Map<string, Verifier>(
    createHardwareVerifiers({ collateralDir: fx("roots/amd"), clock: () => at }).map((v) => [
      v.tee,
      v,
    ]),
  );
  const out: EvidenceDemoResult = { verified: [], refused: [] };
  const run = async (
    what: string,
    tee: string,
    evidence: unknown,
    reportData: Uint8Array,
    pick: (c: Record<string, unknown>) => string,
  ) => {
    const v = verifiers.get(tee);
    if (!v) throw new Error(`no ${tee} verifier`);
    try {
      const [r] = await v.evaluate({
        tee: tee as Verifier["tee"],
        evidence,
        expectedReportData: reportData,
        now: at,
      });
      log(`  ✔ ${what}: ${pick(r?.claims ?? {})}`);
      out.verified.push(what);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "?";
      log(`  ✘ ${what}: refused ${code} — ${(e as Error).message}`);
      out.refused.push({ what, code });
    }
  };

  log("Hardware evidence verified offline (pinned Intel SGX Root CA, pinned AMD ARKs):");
  const tdx = readFileSync(fx("evidence/tdx/tdx_quote_4.dat"));
  const tdxRd = tdx.subarray(48 + 520, 48 + 584);
  await run(
    "TDX quote v4",
    "tdx",
    { quote: tdx.toString("base64"), cc_eventlog: null },
    tdxRd,
    (c) => {
      const body = (c.quote as { body: Record<string, string> }).body;
      return `mr_td ${body.mr_td?.slice(0, 16)}…, debug=${(c.td_attributes as { debug: boolean }).debug}`;
    },
  );
  const tdx5 = readFileSync(fx("evidence/tdx/tdx_quote_5.dat"));
  await run(
    "TDX quote v5 (TDX 1.5)",
    "tdx",
    { quote: tdx5.toString("base64") },
    tdx5.subarray(54 + 520, 54 + 584),
    (c) => `mr_servicetd present: ${"mr_servicetd" in (c.quote as { body: object }).body}`,
  );
  const sgx = readFileSync(fx("evidence/sgx/occlum_quote.dat"));
  await run(
    "SGX quote v3 (Occlum)",
    "sgx",
    { quote: sgx.toString("base64") },
    Buffer.from("test"),
    (c) => `mr_enclave ${(c.body as Record<string, string>).mr_enclave?.slice(0, 16)}…`,
  );
  const az = JSON.parse(readFileSync(fx("evidence/az-snp-vtpm/evidence-v1.json"), "utf8"));
  await run(
    "Azure SNP vTPM evidence v1",
    "az-snp-vtpm",
    az,
    Buffer.from("challenge"),
    (c) =>
      `pcr00 ${(c.tpm as Record<string, string>).pcr00?.slice(0, 16)}…, report_data ${c.report_data}`,
  );
  // The SNP report inside Azure's HCL report (v3, Milan, VMPL 0) with the VCEK that signed it.
  const hcl = parseHclReport(new Uint8Array(Buffer.from(az.hcl_report, "base64url")));
  const snp = parseSnpReport(hcl.hwReport);
  await run(
    "SEV-SNP report v3 (Milan, VCEK in cert_chain)",
    "snp",
    {
      attestation_report: snpReportToJson(snp),
      cert_chain: [{ cert_type: "VCEK", data: Array.from(Buffer.from(az.vcek, "base64url")) }],
    },
    snp.reportData,
    (c) =>
      `measurement ${String(c.measurement).slice(0, 16)}…, reported_tcb_snp ${c.reported_tcb_snp}`,
  );

  log("Tampered or foreign evidence is refused with the failed check's code:");
  const t = Buffer.from(tdx);
  t[48 + 136] = (t[48 + 136] ?? 0) ^ 1; // one bit of MRTD
  await run(
    "TDX quote with one MRTD bit flipped",
    "tdx",
    { quote: t.toString("base64") },
    tdxRd,
    () => "accepted?!",
  );
  await run(
    "TDX quote bound to another nonce",
    "tdx",
    { quote: tdx.toString("base64") },
    new Uint8Array(48).fill(7),
    () => "accepted?!",
  );
  await run(
    "Azure evidence replayed for another nonce",
    "az-snp-vtpm",
    az,
    Buffer.from("challengf"),
    () => "accepted?!",
  );
  const vlek = parseSnpReport(
    new Uint8Array(readFileSync(fx("evidence/snp/test-vlek-report.bin"))),
  );
  await run(
    "SNP report signed by a VLEK (chain and signature fine, but VMPL 1)",
    "snp",
    {
      attestation_report: snpReportToJson(vlek),
      cert_chain: [
        { cert_type: "VLEK", data: Array.from(readFileSync(fx("evidence/snp/test-vlek.der"))) },
      ],
    },
    vlek.reportData,
    () => "accepted?!",
  );
  return out;
}
