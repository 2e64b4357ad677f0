/**
 * `attestation_agent` service (guest-components attestation-agent.proto), generated from
 * `src/protocol/proto/guest-components/attestation-agent.proto`.
 */
import {
  AttestationAgentService,
  BindInitDataRequestSchema,
  BindInitDataResponseSchema,
  type ExtendRuntimeMeasurementRequest,
  ExtendRuntimeMeasurementRequestSchema,
  ExtendRuntimeMeasurementResponseSchema,
  GetAdditionalEvidenceRequestSchema,
  GetAdditionalTeesRequestSchema,
  GetAdditionalTeesResponseSchema,
  GetEvidenceRequestSchema,
  GetEvidenceResponseSchema,
  GetTeeTypeRequestSchema,
  GetTeeTypeResponseSchema,
  GetTokenRequestSchema,
  GetTokenResponseSchema,
} from "../../proto/guest-components/attestation-agent_pb.js";
import { messageCodec } from "../proto.js";

export type { ExtendRuntimeMeasurementRequest };

/** Fully-qualified service name. */
export const AA_SERVICE = AttestationAgentService.typeName;

/** RuntimeMeasurementResult values. */
export const RuntimeMeasurementResult = { OK: 0, NOT_SUPPORTED: 1, NOT_ENABLED: 2 } as const;

/** Codecs for every AA message. */
export const AaMessages = {
  GetEvidenceRequest: messageCodec(GetEvidenceRequestSchema),
  GetAdditionalEvidenceRequest: messageCodec(GetAdditionalEvidenceRequestSchema),
  GetEvidenceResponse: messageCodec(GetEvidenceResponseSchema),
  GetTokenRequest: messageCodec(GetTokenRequestSchema),
  GetTokenResponse: messageCodec(GetTokenResponseSchema),
  ExtendRuntimeMeasurementRequest: messageCodec(ExtendRuntimeMeasurementRequestSchema),
  ExtendRuntimeMeasurementResponse: messageCodec(ExtendRuntimeMeasurementResponseSchema),
  BindInitDataRequest: messageCodec(BindInitDataRequestSchema),
  BindInitDataResponse: messageCodec(BindInitDataResponseSchema),
  GetTeeTypeRequest: messageCodec(GetTeeTypeRequestSchema),
  GetTeeTypeResponse: messageCodec(GetTeeTypeResponseSchema),
  GetAdditionalTeesRequest: messageCodec(GetAdditionalTeesRequestSchema),
  GetAdditionalTeesResponse: messageCodec(GetAdditionalTeesResponseSchema),
} as const;
