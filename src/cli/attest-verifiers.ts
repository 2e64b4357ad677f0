/** Hardware verifiers for the Attestation Service, built from directories or upstream config. */
import type { Clock } from "../tee/common/certs.js";
import { EvidenceError } from "../tee/common/errors.js";
import { createAzSnpVtpmVerifier } from "../trustee/as/verifier/az-snp-vtpm/index.js";
import { createAzTdxVtpmVerifier } from "../trustee/as/verifier/az-tdx-vtpm/index.js";
import { createSgxVerifier } from "../trustee/as/verifier/sgx/index.js";
import {
  AMD_KDS_URL,
  createKdsVcekFetcher,
  createOfflineVcekSource,
  createSnpVerifier,
  snpVendorFromDir,
} from "../trustee/as/verifier/snp/index.js";
import { createTdxVerifier } from "../trustee/as/verifier/tdx/index.js";
import type { Verifier } from "../trustee/as/verifier/types.js";
import { httpGet } from "./attest-collateral.js";
import { dcapCollateral, readIf } from "./attest-common.js";

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
