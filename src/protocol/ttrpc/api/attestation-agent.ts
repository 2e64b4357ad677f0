/**
 * `attestation_agent` protos (guest-components attestation-agent/protos/attestation-agent.proto).
 * Field names keep upstream's capitalisation; they are the wire contract.
 */
import { buildProtoFile, messageCodec } from "../proto.js";

const file = buildProtoFile({
  name: "attestation-agent.proto",
  package: "attestation_agent",
  enums: { RuntimeMeasurementResult: ["OK", "NOT_SUPPORTED", "NOT_ENABLED"] },
  messages: {
    GetEvidenceRequest: [{ name: "RuntimeData", number: 1, kind: "bytes" }],
    GetAdditionalEvidenceRequest: [{ name: "RuntimeData", number: 1, kind: "bytes" }],
    GetEvidenceResponse: [{ name: "Evidence", number: 1, kind: "bytes" }],
    GetTokenRequest: [{ name: "TokenType", number: 1, kind: "string" }],
    GetTokenResponse: [{ name: "Token", number: 1, kind: "bytes" }],
    ExtendRuntimeMeasurementRequest: [
      { name: "Domain", number: 1, kind: "string" },
      { name: "Operation", number: 2, kind: "string" },
      { name: "Content", number: 3, kind: "string" },
      { name: "RegisterIndex", number: 4, kind: "uint64", optional: true },
    ],
    ExtendRuntimeMeasurementResponse: [
      { name: "Result", number: 1, kind: { enum: "RuntimeMeasurementResult" } },
    ],
    BindInitDataRequest: [{ name: "Digest", number: 1, kind: "bytes" }],
    BindInitDataResponse: [],
    GetTeeTypeRequest: [],
    GetTeeTypeResponse: [{ name: "tee", number: 1, kind: "string" }],
    GetAdditionalTeesRequest: [],
    GetAdditionalTeesResponse: [
      { name: "additional_tees", number: 1, kind: "string", repeated: true },
    ],
  },
});

/** Fully-qualified service name. */
export const AA_SERVICE = "attestation_agent.AttestationAgentService";

/** RuntimeMeasurementResult values. */
export const RuntimeMeasurementResult = { OK: 0, NOT_SUPPORTED: 1, NOT_ENABLED: 2 } as const;

/** GetEvidenceRequest / GetAdditionalEvidenceRequest. */
export interface GetEvidenceRequest {
  RuntimeData: Uint8Array;
}
/** GetEvidenceResponse. */
export interface GetEvidenceResponse {
  Evidence: Uint8Array;
}
/** GetTokenRequest. */
export interface GetTokenRequest {
  TokenType: string;
}
/** GetTokenResponse. */
export interface GetTokenResponse {
  Token: Uint8Array;
}
/** ExtendRuntimeMeasurementRequest. */
export interface ExtendRuntimeMeasurementRequest {
  Domain: string;
  Operation: string;
  Content: string;
  RegisterIndex?: bigint;
}
/** ExtendRuntimeMeasurementResponse. */
export interface ExtendRuntimeMeasurementResponse {
  Result: number;
}
/** BindInitDataRequest. */
export interface BindInitDataRequest {
  Digest: Uint8Array;
}
/** GetTeeTypeResponse. */
export interface GetTeeTypeResponse {
  tee: string;
}
/** GetAdditionalTeesResponse. */
export interface GetAdditionalTeesResponse {
  additionalTees: string[];
}
// biome-ignore lint/complexity/noBannedTypes: proto messages without fields
type Empty = {};

/** Codecs for every AA message. */
export const AaMessages = {
  GetEvidenceRequest: messageCodec<GetEvidenceRequest>(
    file,
    "attestation_agent.GetEvidenceRequest",
  ),
  GetAdditionalEvidenceRequest: messageCodec<GetEvidenceRequest>(
    file,
    "attestation_agent.GetAdditionalEvidenceRequest",
  ),
  GetEvidenceResponse: messageCodec<GetEvidenceResponse>(
    file,
    "attestation_agent.GetEvidenceResponse",
  ),
  GetTokenRequest: messageCodec<GetTokenRequest>(file, "attestation_agent.GetTokenRequest"),
  GetTokenResponse: messageCodec<GetTokenResponse>(file, "attestation_agent.GetTokenResponse"),
  ExtendRuntimeMeasurementRequest: messageCodec<ExtendRuntimeMeasurementRequest>(
    file,
    "attestation_agent.ExtendRuntimeMeasurementRequest",
  ),
  ExtendRuntimeMeasurementResponse: messageCodec<ExtendRuntimeMeasurementResponse>(
    file,
    "attestation_agent.ExtendRuntimeMeasurementResponse",
  ),
  BindInitDataRequest: messageCodec<BindInitDataRequest>(
    file,
    "attestation_agent.BindInitDataRequest",
  ),
  BindInitDataResponse: messageCodec<Empty>(file, "attestation_agent.BindInitDataResponse"),
  GetTeeTypeRequest: messageCodec<Empty>(file, "attestation_agent.GetTeeTypeRequest"),
  GetTeeTypeResponse: messageCodec<GetTeeTypeResponse>(
    file,
    "attestation_agent.GetTeeTypeResponse",
  ),
  GetAdditionalTeesRequest: messageCodec<Empty>(file, "attestation_agent.GetAdditionalTeesRequest"),
  GetAdditionalTeesResponse: messageCodec<GetAdditionalTeesResponse>(
    file,
    "attestation_agent.GetAdditionalTeesResponse",
  ),
} as const;
