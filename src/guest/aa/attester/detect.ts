/**
 * Primary TEE detection in upstream's order (attester/src/lib.rs `detect_tee_type`):
 * tdx → sgx → az-tdx-vtpm → az-snp-vtpm → snp → csv → cca → se → tpm → sample. A detected TEE
 * whose attester coco-ts does not implement fails loudly instead of falling back to `sample`.
 * The sample attester takes its launch field from `COCO_SAMPLE_LAUNCH_INIT_DATA`, if set.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseSampleLaunchField, SAMPLE_LAUNCH_FIELD_ENV } from "../../../tee/sample/index.js";
import { AaError } from "../errors.js";
import { azHclType, createAzVtpmAttester } from "./az-vtpm/az-vtpm.js";
import { createCcaAttester } from "./cca/cca.js";
import { createSampleAttester } from "./sample/sample.js";
import { createSnpAttester } from "./snp/snp.js";
import { createTdxAttester } from "./tdx/tdx.js";
import { createTpmAttester, DEFAULT_AK_HANDLE } from "./tpm/tpm.js";
import { lazyTransport, openTpmDevice, type TpmTransport } from "./tpm/transport.js";
import { type TsmFs, tsmProviderIs } from "./tsm/report.js";
import type { Attester } from "./types.js";

/** Where detection looks (a root prefix lets tests build a fake machine layout). */
export interface DetectOptions {
  root?: string;
  env?: NodeJS.ProcessEnv;
  tsmFs?: TsmFs;
  /** Opens a TPM (default: the character device); tests pass swtpm. */
  tpmTransport?: (device: string) => TpmTransport;
  /** Builds the TPM attester when a TPM is the primary TEE (default: the device, AK from AA_TPM_AK_HANDLE). */
  createTpm?: (device: string) => Attester;
  log?: (line: string) => void;
}

/** Detects the primary TEE and returns its attester. */
export async function detectAttester(opts: DetectOptions = {}): Promise<Attester> {
  const root = opts.root ?? "/";
  const env = opts.env ?? process.env;
  const p = (rel: string) => join(root, rel);
  const tsmRoot = p("sys/kernel/config/tsm/report");
  const tsm = (prov: "tdx_guest" | "sev_guest" | "arm_cca_guest") =>
    tsmProviderIs(prov, tsmRoot, opts.tsmFs);
  const unsupported = (tee: string): never => {
    throw new AaError(
      "ERR_AA_UNSUPPORTED",
      `detected TEE ${tee}, whose attester is not implemented in coco-ts`,
    );
  };
  if ((await tsm("tdx_guest")) || existsSync(p("dev/tdx_guest"))) {
    return createTdxAttester({ tsmRoot, ...(opts.tsmFs ? { tsmFs: opts.tsmFs } : {}) });
  }
  if (env.OCCLUM !== undefined || existsSync(p("dev/attestation/attestation_type")))
    unsupported("sgx");
  const tpm =
    env.AA_TPM_DEVICE ??
    ["dev/tpmrm0", "dev/tpm0", "dev/tpm1", "dev/tpm2"].map(p).find((d) => existsSync(d));
  const transport = tpm
    ? (opts.tpmTransport ?? ((d: string) => lazyTransport(() => openTpmDevice(d))))(tpm)
    : undefined;
  // Azure CVMs: the paravisor's HCL report in vTPM NV index 0x01400001 names the TEE.
  const hcl = transport ? await azHclType(transport).catch(() => undefined) : undefined;
  if (transport && hcl === "tdx") return createAzVtpmAttester("tdx", { transport });
  if (transport && hcl === "snp") return createAzVtpmAttester("snp", { transport });
  if (existsSync(p("sys/devices/platform/sev-guest")) || existsSync(p("dev/sev-guest"))) {
    return createSnpAttester({ tsmRoot, ...(opts.tsmFs ? { tsmFs: opts.tsmFs } : {}) });
  }
  if (existsSync(p("dev/csv-guest"))) unsupported("csv");
  if (await tsm("arm_cca_guest"))
    return createCcaAttester({ tsmRoot, ...(opts.tsmFs ? { tsmFs: opts.tsmFs } : {}) });
  if (existsSync(p("sys/firmware/uv/prot_virt_guest"))) unsupported("se");
  if (tpm && transport) {
    if (opts.createTpm) return opts.createTpm(tpm);
    const handle = env.AA_TPM_AK_HANDLE
      ? Number.parseInt(env.AA_TPM_AK_HANDLE.replace(/^0x/i, ""), 16)
      : DEFAULT_AK_HANDLE;
    if (!Number.isInteger(handle))
      throw new AaError("ERR_AA_CONFIG", "AA_TPM_AK_HANDLE must be a hex handle");
    return createTpmAttester({ transport, akHandle: handle });
  }
  opts.log?.(
    "attestation-agent: WARNING: no TEE detected, using the sample attester (it proves nothing)",
  );
  // The launch field the sandbox launcher put in this process's environment at exec time.
  let launchField: Uint8Array | undefined;
  try {
    launchField = parseSampleLaunchField(env[SAMPLE_LAUNCH_FIELD_ENV]);
  } catch (err) {
    throw new AaError("ERR_AA_ATTESTER", (err as Error).message, { cause: err });
  }
  return createSampleAttester({ launchField });
}
