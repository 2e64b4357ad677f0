/**
 * Puts an {@link AttestationAgent} behind upstream's ttrpc service
 * `attestation_agent.AttestationAgentService`. As upstream's ttrpc server, `BindInitData` is
 * not served (NOT_FOUND); init-data is bound at start-up. Failures answer INTERNAL with
 * upstream's fixed prefix plus the coded cause, so callers can tell what went wrong.
 */
import {
  AA_SERVICE,
  AaMessages,
  failingAs,
  RuntimeMeasurementResult,
  type TtrpcServer,
} from "../../protocol/ttrpc/index.js";
import type { AttestationAgent } from "./agent.js";

const guard = failingAs("[ERROR:attestation-agent] ");

/** Registers the AA methods on `server`. */
export function registerAaService(server: TtrpcServer, aa: AttestationAgent): void {
  const M = AaMessages;
  server.method(
    AA_SERVICE,
    "GetEvidence",
    M.GetEvidenceRequest,
    M.GetEvidenceResponse,
    guard("AA-KBC get evidence failed", async (req) => ({
      Evidence: await aa.getEvidence(req.RuntimeData),
    })),
  );
  server.method(
    AA_SERVICE,
    "GetAdditionalEvidence",
    M.GetAdditionalEvidenceRequest,
    M.GetEvidenceResponse,
    guard("AA-KBC get additional evidence failed", async (req) => ({
      Evidence: await aa.getAdditionalEvidence(req.RuntimeData),
    })),
  );
  server.method(
    AA_SERVICE,
    "GetToken",
    M.GetTokenRequest,
    M.GetTokenResponse,
    guard("AA-KBC get token failed", async (req) => ({ Token: await aa.getToken(req.TokenType) })),
  );
  server.method(
    AA_SERVICE,
    "ExtendRuntimeMeasurement",
    M.ExtendRuntimeMeasurementRequest,
    M.ExtendRuntimeMeasurementResponse,
    guard("AA extend runtime measurement failed", async (req) => {
      const idx = req.RegisterIndex === undefined ? undefined : Number(req.RegisterIndex);
      const r = await aa.extendRuntimeMeasurement(req.Domain, req.Operation, req.Content, idx);
      return { Result: RuntimeMeasurementResult[r] };
    }),
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
