import type { HashAlgorithm } from "../../../crypto/digest.js";
import type { Tee } from "../../../protocol/kbs/types.js";

/** The outcome of binding init-data at start-up. */
export type BindResult = "bound" | "unsupported";

/**
 * Evidence production for one TEE (guest-components `Attester` trait). Implementations take
 * their I/O (device paths, file system roots) in their factory.
 */
export interface Attester {
  /** kbs-types serde name of the TEE. */
  readonly tee: Tee;
  /** Evidence JSON for `reportData`, exactly as upstream serializes it. */
  getEvidence(reportData: Uint8Array): Promise<unknown>;
  /**
   * Binds the init-data digest: compare with a launch field (TDX/SNP) or extend PCR 8 (vTPM).
   * A mismatch throws ERR_AA_INITDATA_MISMATCH.
   */
  bindInitData(digest: Uint8Array): Promise<BindResult>;
  /** Runtime measurement support (AAEL), absent when the TEE has no extendable register. */
  readonly runtime?: RuntimeMeasurer;
}

/** Extendable measurement registers of a TEE (TDX RTMRs, TPM PCRs). */
export interface RuntimeMeasurer {
  /** Hash used for AAEL event digests (TDX sha384, vTPM sha256). */
  readonly hashAlgorithm: HashAlgorithm;
  /** Maps a PCR index to the TEE register index recorded in the event log. */
  pcrToRegister(pcr: number): number;
  /** Current value of the register that `pcr` maps to. */
  readRegister(pcr: number): Promise<Uint8Array>;
  /** Extends the register that `pcr` maps to with `digest`. */
  extend(pcr: number, digest: Uint8Array): Promise<void>;
}
