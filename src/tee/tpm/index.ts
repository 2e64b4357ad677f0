export {
  parseTpmEvidence,
  parseTpmtSignature,
  TPM_ALG_RSASSA,
  TPM_ALG_SHA256,
  TPM_EVENTLOG_MAX,
  type TpmEvidence,
} from "./evidence.js";
