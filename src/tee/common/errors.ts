import { CocoError } from "../../errors.js";

/**
 * Codes for hardware-evidence failures: parsing (`ERR_EVIDENCE_*` for malformed bytes) and
 * verification (one code per check, so a caller or a test can tell exactly which binding failed).
 */
export type EvidenceErrorCode =
  // Parsing of untrusted bytes / JSON.
  | "ERR_EVIDENCE_TRUNCATED"
  | "ERR_EVIDENCE_OVERSIZE"
  | "ERR_EVIDENCE_MALFORMED"
  | "ERR_EVIDENCE_VERSION"
  | "ERR_EVIDENCE_UNSUPPORTED"
  // Certificates and chains.
  | "ERR_CERT_PARSE"
  | "ERR_CERT_CHAIN"
  | "ERR_CERT_EXPIRED"
  | "ERR_CERT_ROOT"
  | "ERR_CERT_EXTENSION"
  | "ERR_CERT_MISSING"
  // Signatures.
  | "ERR_SIGNATURE"
  | "ERR_REALM_SIGNATURE"
  | "ERR_KEY_BINDING"
  | "ERR_QE_REPORT_SIGNATURE"
  | "ERR_QE_REPORT_BINDING"
  // Platform / TCB.
  | "ERR_TCB_MISMATCH"
  | "ERR_TCB_STATUS"
  | "ERR_PROCESSOR_UNKNOWN"
  | "ERR_VMPL"
  | "ERR_DEBUG"
  | "ERR_LIFECYCLE"
  | "ERR_MEASUREMENT_MISMATCH"
  // Bindings to the handshake.
  | "ERR_REPORT_DATA_MISMATCH"
  | "ERR_INIT_DATA_MISMATCH"
  | "ERR_INIT_DATA_LENGTH"
  // Event logs.
  | "ERR_EVENTLOG_REPLAY"
  // Azure vTPM.
  | "ERR_HCL_VAR_DATA"
  | "ERR_TPM_QUOTE_SIGNATURE"
  | "ERR_TPM_NONCE"
  | "ERR_TPM_PCR_DIGEST"
  | "ERR_TPM_AK"
  // Collateral (DCAP TCB Info / QE Identity, AMD offline cache).
  | "ERR_COLLATERAL_MISSING"
  | "ERR_COLLATERAL_INVALID"
  | "ERR_COLLATERAL_EXPIRED"
  | "ERR_NOT_IMPLEMENTED";

/**
 * A failure while parsing or verifying hardware evidence. Messages name the field and the rule
 * that failed; they never carry raw evidence, keys or secrets. `offset` is set for parse errors.
 */
export class EvidenceError extends CocoError<EvidenceErrorCode> {
  /** Byte offset into the parsed buffer where parsing failed, when known. */
  readonly offset: number | undefined;

  constructor(
    code: EvidenceErrorCode,
    message: string,
    options?: { cause?: unknown; offset?: number },
  ) {
    super(
      code,
      options?.offset === undefined ? message : `${message} (at offset ${options.offset})`,
      options,
    );
    this.offset = options?.offset;
  }
}
