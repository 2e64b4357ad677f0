/**
 * The TEE verifiers `coco trustee` enables. `sample` and `sampledevice` always; hardware
 * verifiers only when `[attestation_service.verifier_config]` asks for them, with the trust
 * material they need:
 * - `snp_verifier = { vendor_certs_dir = "...", vcek_sources = [{ type = "OfflineStore", path = "..." }] }`
 *   enables `snp` and `az-snp-vtpm` (`vendor_certs_dir`, our addition, holds AMD's
 *   `<gen>-ask-ark-asvk-bundle.pem`; upstream embeds them).
 * - `dcap_verifier = {}` enables `tdx`, `sgx` and `az-tdx-vtpm`, verifying quote signatures and
 *   the PCK chain to Intel's root; TCB status is not appraised, because fetching collateral
 *   (`collateral_service`) is not implemented and is refused.
 * Anything else in `verifier_config` is refused by name.
 */
import { readFileSync } from "node:fs";
import { createAzSnpVtpmVerifier } from "./as/verifier/az-snp-vtpm/index.js";
import { createAzTdxVtpmVerifier } from "./as/verifier/az-tdx-vtpm/index.js";
import { createSampleVerifier } from "./as/verifier/sample/verifier.js";
import { createSgxVerifier } from "./as/verifier/sgx/index.js";
import {
  createOfflineVcekSource,
  createSnpVerifier,
  snpVendorFromDir,
} from "./as/verifier/snp/index.js";
import { createTdxVerifier } from "./as/verifier/tdx/index.js";
import type { Verifier } from "./as/verifier/types.js";
import { TrusteeConfigError } from "./config.js";

function fail(msg: string, cause?: unknown): never {
  throw new TrusteeConfigError("ERR_TRUSTEE_CONFIG", msg, { cause });
}

function table(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`${where} must be a table`);
  return v as Record<string, unknown>;
}

const readOptional = (path: string): Uint8Array | undefined => {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    return undefined;
  }
};

/** Builds the verifier list from `verifier_config` (already TOML-parsed). */
export function createVerifiersFromConfig(
  verifierConfig: Record<string, unknown>,
  log: (line: string) => void = () => {},
): Verifier[] {
  const out: Verifier[] = [createSampleVerifier("sample"), createSampleVerifier("sampledevice")];
  const clock = () => new Date();
  for (const [name, value] of Object.entries(verifierConfig)) {
    const where = `attestation_service.verifier_config.${name}`;
    const t = table(value, where);
    if (name === "snp_verifier") {
      for (const k of Object.keys(t)) {
        if (k !== "vendor_certs_dir" && k !== "vcek_sources") fail(`unknown key ${where}.${k}`);
      }
      const dir = t.vendor_certs_dir;
      if (typeof dir !== "string") {
        fail(`${where}.vendor_certs_dir is required: AMD's ASK/ARK/ASVK bundles are not built in`);
      }
      let vendor: ReturnType<typeof snpVendorFromDir>;
      try {
        vendor = snpVendorFromDir(dir, readOptional, clock);
      } catch (err) {
        fail(`${where}.vendor_certs_dir: ${(err as Error).message}`, err);
      }
      let vcekSource: ReturnType<typeof createOfflineVcekSource> | undefined;
      const sources = t.vcek_sources ?? [];
      if (!Array.isArray(sources)) fail(`${where}.vcek_sources must be an array`);
      for (const [i, s] of sources.entries()) {
        const src = table(s, `${where}.vcek_sources[${i}]`);
        if (src.type === "OfflineStore" && typeof src.path === "string") {
          vcekSource = createOfflineVcekSource(src.path, readOptional);
        } else if (src.type === "KDS") {
          fail(
            `${where}.vcek_sources[${i}]: fetching VCEKs from AMD KDS is not implemented; use OfflineStore or evidence with cert_chain`,
          );
        } else {
          fail(`${where}.vcek_sources[${i}] must be { type = "OfflineStore", path = "..." }`);
        }
      }
      out.push(createSnpVerifier({ vendor, ...(vcekSource ? { vcekSource } : {}) }));
      out.push(createAzSnpVtpmVerifier({ vendor }));
    } else if (name === "dcap_verifier") {
      for (const k of Object.keys(t)) {
        if (k === "collateral_service") {
          fail(`${where}.collateral_service: fetching DCAP collateral is not implemented`);
        }
        if (k !== "tcb_update_type") fail(`unknown key ${where}.${k}`);
      }
      log(
        "trustee: WARNING: tdx, sgx and az-tdx-vtpm check quote signatures and the PCK chain only; TCB status is not appraised (no DCAP collateral)",
      );
      out.push(createTdxVerifier(), createSgxVerifier(), createAzTdxVtpmVerifier());
    } else {
      fail(`${where} is not implemented (snp_verifier and dcap_verifier are)`);
    }
  }
  return out;
}
