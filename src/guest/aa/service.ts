/**
 * Puts an {@link AttestationAgent} behind upstream's ttrpc service
 * `attestation_agent.AttestationAgentService`. As upstream's ttrpc server, `BindInitData` is
 * not served (NOT_FOUND); init-data is bound at start-up. Failures answer INTERNAL with
 * upstream's fixed prefix plus the coded cause, so callers can tell what went wrong.
 */
import {
  AA_SERVICE,
  AaMessages,
  RuntimeMeasurementResult,
  type TtrpcServer,
} from "../../protocol/ttrpc/index.js";
import type { AttestationAgent } from "./agent.js";

function failure(what: string, err: unknown): Error {
  const code = (err as { code?: unknown }).code;
  const detail = err instanceof Error ? err.message : String(err);
  return new Error(
    `[ERROR:attestation-agent] ${what}: ${typeof code === "string" ? `${code}: ` : ""}${detail}`,
  );
}

/** Registers the AA methods on `server`. */
export function registerAaService(server: TtrpcServer, aa: AttestationAgent): void {
  const M = AaMessages;
  server.method(
    AA_SERVICE,
    "GetEvidence",
    M.GetEvidenceRequest,
    M.GetEvidenceResponse,
    async (req) => {
      try {
        return { Evidence: await aa.getEvidence(req.RuntimeData) };
      } catch (err) {
        throw failure("AA-KBC get evidence failed", err);
      }
    },
  );
  server.method(
    AA_SERVICE,
    "GetAdditionalEvidence",
    M.GetAdditionalEvidenceRequest,
    M.GetEvidenceResponse,
    async (req) => {
      try {
        return { Evidence: await aa.getAdditionalEvidence(req.RuntimeData) };
      } catch (err) {
        throw failure("AA-KBC get additional evidence failed", err);
      }
    },
  );
  server.method(AA_SERVICE, "GetToken", M.GetTokenRequest, M.GetTokenResponse, async (req) => {
    try {
      return { Token: await aa.getToken(req.TokenType) };
    } catch (err) {
      throw failure("AA-KBC get token failed", err);
    }
  });
  server.method(
    AA_SERVICE,
    "ExtendRuntimeMeasurement",
    M.ExtendRuntimeMeasurementRequest,
    M.ExtendRuntimeMeasurementResponse,
    async (req) => {
      try {
        const idx = req.RegisterIndex === undefined ? undefined : Number(req.RegisterIndex);
        const r = await aa.extendRuntimeMeasurement(req.Domain, req.Operation, req.Content, idx);
        return { Result: RuntimeMeasurementResult[r] };
      } catch (err) {
        throw failure("AA extend runtime measurement failed", err);
      }
    },
  );
  server.method(AA_SERVICE, "GetTeeType", M.GetTeeTypeRequest, M.GetTeeTypeResponse, async () => ({
    tee: aa.tee,
  }));
  server.method(
    AA_SERVICE,
    "GetAdditionalTees",
    M.GetAdditionalTeesRequest,
    M.GetAdditionalTeesResponse,
    async () => ({
      additionalTees: aa.additionalTees,
    }),
  );
}
