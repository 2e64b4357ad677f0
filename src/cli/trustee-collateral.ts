/**
 * `coco trustee collateral fetch|export|import`: fill Trustee's persisted collateral cache for
 * some evidence (on a connected machine), write it out as an offline bundle, and load a bundle
 * into an air-gapped Trustee's store. The store is the one the config (or `--dir`) names.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { fromBase64 } from "../tee/common/bytes.js";
import { EvidenceError } from "../tee/common/errors.js";
import { parseCsvEvidence } from "../tee/csv/index.js";
import { parseSnpEvidence } from "../tee/snp/evidence.js";
import { parseSnpReport } from "../tee/snp/report.js";
import { parseDcapQuote } from "../tee/tdx/quote.js";
import { HYGON_KDS_URL, hygonKdsHskCekUrl } from "../trustee/as/verifier/csv/index.js";
import { AMD_KDS_URL, kdsVcekUrl, processorGeneration } from "../trustee/as/verifier/snp/index.js";
import { INTEL_PCS_URL, INTEL_ROOT_CA_CRL_URL, pcsUrls } from "../trustee/as/verifier/tdx/pcs.js";
import {
  createCollateralCache,
  exportCollateralBundle,
  importCollateralBundle,
} from "../trustee/collateral/index.js";
import { defaultTrusteeConfig, loadTrusteeConfig } from "../trustee/config.js";
import type { KeyValueStore } from "../trustee/storage/types.js";
import { collateralGet, openTrusteeStore } from "../trustee/trustee.js";
import { evidenceJson, MAX_EVIDENCE } from "./attest-common.js";

async function storeOf(o: { config?: string; dir: string }): Promise<KeyValueStore> {
  const file = o.config ?? process.env.KBS_CONFIG_FILE;
  const config = file
    ? loadTrusteeConfig(file)
    : defaultTrusteeConfig(join(resolve(o.dir), "storage"));
  if (config.storage.type === "Memory") {
    throw new EvidenceError(
      "ERR_COLLATERAL_INVALID",
      "the config's storage is Memory: nothing would persist",
    );
  }
  return openTrusteeStore(config);
}

/** The collateral URLs one piece of evidence needs. */
function urlsFor(
  tee: string,
  evidence: Uint8Array,
  o: { kdsUrl: string; pcsUrl: string; rootCrlUrl: string; hygonKdsUrl: string },
): string[] {
  if (evidence.length > MAX_EVIDENCE)
    throw new EvidenceError("ERR_EVIDENCE_OVERSIZE", "evidence file too large");
  const json = evidenceJson(evidence);
  if (tee === "snp") {
    const report = json ? parseSnpEvidence(json).report : parseSnpReport(evidence);
    const gen = processorGeneration(report);
    const base = o.kdsUrl.replace(/\/+$/, "");
    const urls = [`${base}/vcek/v1/${gen}/cert_chain`, `${base}/vlek/v1/${gen}/cert_chain`];
    if (report.chipId.some((b) => b !== 0)) urls.push(kdsVcekUrl(base, report, gen));
    return urls;
  }
  if (tee === "tdx" || tee === "sgx") {
    const b64 = json
      ? (json as { quote?: unknown }).quote
      : Buffer.from(evidence).toString("base64");
    const u = pcsUrls(
      parseDcapQuote(fromBase64(b64, "quote")),
      tee,
      o.pcsUrl,
      o.rootCrlUrl,
      () => new Date(),
    );
    return [u.tcb, u.qe, u.pckCrl, u.rootCrl];
  }
  if (tee === "csv") {
    // The chip's HSK ‖ CEK from Hygon's KDS (what csv_verifier.kds_url fetches on demand).
    return [hygonKdsHskCekUrl(o.hygonKdsUrl, parseCsvEvidence(json).serialNumber)];
  }
  throw new EvidenceError(
    "ERR_EVIDENCE_UNSUPPORTED",
    `collateral fetch supports snp, tdx, sgx and csv, not ${tee}`,
  );
}

/** Registers `coco trustee collateral ...` under `trustee`. */
export function registerTrusteeCollateral(trustee: Command): void {
  const c = trustee
    .command("collateral")
    .description("Trustee's persisted collateral cache and offline bundles");
  // The store comes from `coco trustee`'s own --config / --dir (read with optsWithGlobals).
  const where = (cmd: Command) => cmd.optsWithGlobals() as { config?: string; dir: string };
  c.command("fetch")
    .description("fetch (through the cache) the collateral this evidence needs; needs network")
    .requiredOption("--tee <tee>", "snp, tdx, sgx or csv")
    .requiredOption("--evidence <file>", "evidence JSON or raw report/quote")
    .option("--kds-url <url>", "AMD KDS or a mirror", AMD_KDS_URL)
    .option("--pcs-url <url>", "Intel PCS or a PCCS", INTEL_PCS_URL)
    .option("--root-crl-url <url>", "Intel SGX Root CA CRL", INTEL_ROOT_CA_CRL_URL)
    .option("--hygon-kds-url <url>", "Hygon's KDS or a mirror (csv HSK/CEK)", HYGON_KDS_URL)
    .action(async (o: Record<string, string>, cmd: Command) => {
      const store = await storeOf(where(cmd));
      try {
        const cache = createCollateralCache({
          store,
          fetch: collateralGet,
          log: (l) => process.stderr.write(`${l}\n`),
        });
        const urls = urlsFor(o.tee as string, new Uint8Array(readFileSync(o.evidence as string)), {
          kdsUrl: o.kdsUrl as string,
          pcsUrl: o.pcsUrl as string,
          rootCrlUrl: o.rootCrlUrl as string,
          hygonKdsUrl: o.hygonKdsUrl as string,
        });
        for (const u of urls) {
          try {
            const e = await cache.get(u);
            process.stdout.write(`${u} (fresh until ${new Date(e.expiresAt).toISOString()})\n`);
          } catch (err) {
            // The VLEK chain is optional (a VCEK-signed platform needs only the VCEK chain).
            if (!u.includes("/vlek/")) throw err;
          }
        }
      } finally {
        await store.close();
      }
    });
  c.command("export")
    .description("write every cached entry as an offline bundle")
    .requiredOption("--out <file>", "bundle file")
    .action(async (o: { out: string }, cmd: Command) => {
      const store = await storeOf(where(cmd));
      try {
        const bytes = await exportCollateralBundle(createCollateralCache({ store }));
        const tmp = `${o.out}.tmp-${process.pid}`;
        writeFileSync(tmp, bytes, { mode: 0o644 });
        renameSync(tmp, o.out);
        process.stdout.write(`${o.out}\n`);
      } finally {
        await store.close();
      }
    });
  c.command("import")
    .description("load an offline bundle into the store (air-gapped Trustee)")
    .requiredOption("--bundle <file>", "bundle file")
    .action(async (o: { bundle: string }, cmd: Command) => {
      const store = await storeOf(where(cmd));
      try {
        const entries = await importCollateralBundle(
          createCollateralCache({ store }),
          new Uint8Array(readFileSync(o.bundle)),
        );
        for (const e of entries) process.stdout.write(`${e.url}\n`);
      } finally {
        await store.close();
      }
    });
}
