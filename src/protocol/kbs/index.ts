/** KBS (RCAR) protocol 0.4.0 wire contracts: types, parsers, error bodies, runtime-data binding. */
export {
  ERROR_TYPE_PREFIX,
  type ErrorInformation,
  errorTypeName,
  KBS_ERROR_TYPES,
  type KbsErrorType,
  parseErrorInformation,
  statusForErrorType,
  toErrorInformation,
} from "./error-info.js";
export { KbsProtocolError, type KbsProtocolErrorCode } from "./errors.js";
export {
  isTee,
  parseJsonBytes,
  parseKbsAttestation,
  parseKbsAttestationResponse,
  parseKbsChallenge,
  parseKbsRequest,
  parseKbsResponse,
  parseTeePubKey,
} from "./parse.js";
export {
  type CanonicalRequestPath,
  canonicalRequestPath,
  MAX_QUERY_PARAMS,
  MAX_REQUEST_TARGET,
} from "./request-path.js";
export { parseResourcePath, RESOURCE_SEGMENT, type ResourcePath } from "./resource-path.js";
export {
  DEFAULT_HASH_ALGORITHM,
  deviceRuntimeData,
  hashAlgorithmFromChallenge,
  primaryRuntimeData,
  runtimeDataDigest,
  selectHashAlgorithm,
} from "./runtime-data.js";
export {
  KBS_PATH_PREFIX,
  KBS_PROTOCOL_VERSION,
  KBS_SESSION_COOKIE,
  type KbsAttestation,
  type KbsAttestationResponse,
  type KbsChallenge,
  type KbsInitData,
  type KbsRequest,
  type KbsResponse,
  type KbsRuntimeData,
  type KbsTeeEvidence,
  TEES,
  type Tee,
} from "./types.js";
