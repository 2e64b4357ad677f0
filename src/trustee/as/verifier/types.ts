/**
 * The contract every TEE verifier of the Attestation Service implements (one folder per TEE:
 * `verifier/sample/`, `verifier/tdx/`, `verifier/snp/`, ...), mirroring upstream's
 * `Verifier::evaluate(evidence, expected_report_data, expected_init_data_hash)`.
 *
 * Input
 * - `evidence`: the TEE's `primary_evidence` JSON value exactly as the client sent it (or one
 *   entry of the `additional_evidence` map). Untrusted: parse it defensively.
 * - `expectedReportData`: the runtime-data digest (JCS + negotiated hash, 32/48/64 bytes),
 *   NOT padded. Each verifier applies its TEE's rule ({@link regularizeReportData}: zero-pad on
 *   the right or truncate to the field size; sample compares exactly).
 * - `expectedInitDataDigest`: the digest of the init-data TOML text with its own algorithm, or
 *   undefined when the client sent no init-data. TEEs that bind init-data (TDX mr_config_id,
 *   SNP host_data, SGX CONFIGID, vTPM PCR8, CCA RPV) must compare it, and must refuse evidence
 *   whose init-data field is non-zero when none was expected only if upstream does so.
 * - `now`: the time to judge validity periods and collateral against.
 *
 * Output: one {@link VerifierResult} per claim set (most TEEs give one; composite devices may
 * give several). `claims` is the JSON upstream's verifier produces, with lowercase hex where
 * upstream uses hex; it SHOULD contain `report_data` and, when bound, `init_data` (the AS moves
 * both to the top level of the annotated evidence and nests the rest under the TEE name).
 *
 * Failures throw {@link VerifierError} with the code of the binding that failed; the message
 * names the field and rule but never echoes evidence bytes, keys or tokens.
 */
import { CocoError } from "../../../errors.js";
import type { Tee } from "../../../protocol/kbs/types.js";

/** Classes of attested components; the submod name is `<class><index>` (cpu0, gpu0, ...). */
export type TeeClass = "cpu" | "gpu" | "switch" | "ppcie" | "dcu" | "nvidia-dpu";

/** What a verifier is asked to check. */
export interface VerifierInput {
  tee: Tee;
  evidence: unknown;
  expectedReportData: Uint8Array;
  expectedInitDataDigest?: Uint8Array | undefined;
  now?: Date;
}

/** One appraised claim set. */
export interface VerifierResult {
  teeClass: TeeClass;
  claims: Record<string, unknown>;
}

/** A TEE evidence verifier. */
export interface Verifier {
  /** The TEE name this verifier handles (kbs-types serde name). */
  readonly tee: Tee;
  evaluate(input: VerifierInput): Promise<VerifierResult[]>;
}

/** Codes a verifier throws, one per kind of failed check. */
export type VerifierErrorCode =
  | "ERR_VERIFIER_EVIDENCE"
  | "ERR_VERIFIER_REPORT_DATA"
  | "ERR_VERIFIER_INIT_DATA"
  | "ERR_VERIFIER_SIGNATURE"
  | "ERR_VERIFIER_CHAIN"
  | "ERR_VERIFIER_TCB"
  | "ERR_VERIFIER_COLLATERAL"
  | "ERR_VERIFIER_CONFIG"
  | "ERR_VERIFIER_UNSUPPORTED";

/** A failed verification; `code` names the binding or check that failed. */
export class VerifierError extends CocoError<VerifierErrorCode> {}

/**
 * Upstream's `regularize_data`: zero-pads `data` on the right to `size` bytes, or truncates it.
 */
export function regularizeReportData(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(data.subarray(0, size));
  return out;
}
