/** Attestation Agent: attesters, KBS client, event log, ttrpc service. */
export {
  type AttestationAgent,
  type AttestationAgentOptions,
  bindInitData,
  createAttestationAgent,
  type MeasurementResult,
  sampleDevice,
} from "./agent.js";
export { createSampleAttester } from "./attester/sample/sample.js";
export type { Attester, BindResult, RuntimeMeasurer } from "./attester/types.js";
export {
  type AaConfig,
  configFromKbcParams,
  kbcParamsFromCmdline,
  loadAaConfig,
  parseAaConfig,
} from "./config.js";
export { AaError, type AaErrorCode } from "./errors.js";
export { type EventLog, openEventLog } from "./eventlog/index.js";
export {
  createRcarClient,
  createTokenKbsClient,
  parseKbsTokenAnswer,
  type RcarClient,
  type TokenAndKey,
  type TokenKbsClient,
  type TokenProvider,
} from "./kbs-client/index.js";
export { registerAaService } from "./service.js";
