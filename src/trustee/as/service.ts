/**
 * The Attestation Service pipeline (attestation-service/src/lib.rs `evaluate`): for each
 * verification request, compute the expected report data and init-data digest, run the TEE's
 * verifier, shape its claims into annotated evidence, appraise them with the policy
 * `<policyId>_<teeClass>`, and sign all submods into one EAR token.
 */
import type { HashAlgorithm } from "../../crypto/digest.js";
import { canonicalJsonDigest } from "../../crypto/jcs.js";
import type { EarClaims, EarSubmod } from "../../protocol/ear/claims.js";
import type { Tee } from "../../protocol/kbs/types.js";
import type { Rvps } from "../rvps/rvps.js";
import { toSubmod } from "./appraisal.js";
import { AttestationServiceError } from "./errors.js";
import { processInitDataToml } from "./init-data.js";
import type { AttestationPolicyStore } from "./policy/store.js";
import type { EarBroker } from "./token/ear-broker.js";
import type { TeeClass, Verifier } from "./verifier/types.js";

/** Runtime data: structured JSON (hashed as JCS) or raw report data. */
export type RuntimeData = { structured: Record<string, unknown> } | { raw: Uint8Array };

/** Init-data: the TOML document or a precomputed digest. */
export type InitData = { toml: string } | { digest: Uint8Array };

/** One piece of evidence to appraise. */
export interface VerificationRequest {
  tee: Tee;
  evidence: unknown;
  runtimeData?: RuntimeData;
  initData?: InitData;
  hashAlgorithm: HashAlgorithm;
}

/** The result: the signed token and the claims it carries. */
export interface AttestationResult {
  token: string;
  claims: EarClaims;
}

/** The Attestation Service. */
export interface AttestationService {
  evaluate(
    requests: readonly VerificationRequest[],
    policyIds?: readonly string[],
  ): Promise<AttestationResult>;
  readonly policies: AttestationPolicyStore;
  readonly broker: EarBroker;
  readonly rvps: Rvps;
  /** TEE names with a verifier. */
  readonly tees: readonly Tee[];
}

/** Dependencies of the service. */
export interface AttestationServiceDeps {
  verifiers: readonly Verifier[];
  policies: AttestationPolicyStore;
  broker: EarBroker;
  rvps: Rvps;
  now?: () => Date;
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Creates the service. */
export function createAttestationService(deps: AttestationServiceDeps): AttestationService {
  const byTee = new Map<Tee, Verifier>();
  for (const v of deps.verifiers) byTee.set(v.tee, v);
  const now = deps.now ?? (() => new Date());

  return {
    policies: deps.policies,
    broker: deps.broker,
    rvps: deps.rvps,
    tees: [...byTee.keys()],
    async evaluate(requests, policyIds = ["default"]) {
      if (requests.length === 0) {
        throw new AttestationServiceError("ERR_AS_REQUEST", "no verification request");
      }
      const basePolicy = policyIds[0] ?? "default";
      const counters = new Map<TeeClass, number>();
      const submods: Record<string, EarSubmod> = {};
      const refValues = await deps.rvps.snapshot();
      for (const req of requests) {
        const verifier = byTee.get(req.tee);
        if (verifier === undefined) {
          throw new AttestationServiceError(
            "ERR_AS_UNSUPPORTED_TEE",
            `no verifier for TEE ${req.tee} is enabled (enabled: ${[...byTee.keys()].join(", ") || "none"})`,
          );
        }
        let expectedReportData: Uint8Array = new Uint8Array(0);
        let runtimeDataClaims: unknown = null;
        if (req.runtimeData !== undefined) {
          if ("raw" in req.runtimeData) {
            expectedReportData = req.runtimeData.raw;
          } else {
            expectedReportData = canonicalJsonDigest(req.hashAlgorithm, req.runtimeData.structured);
            const claims = { ...req.runtimeData.structured };
            if (!deps.broker.verboseToken) delete claims["additional-evidence"];
            runtimeDataClaims = claims;
          }
        }
        let initDigest: Uint8Array | undefined;
        let initDataClaims: unknown = null;
        if (req.initData !== undefined) {
          if ("toml" in req.initData) {
            const r = processInitDataToml(req.initData.toml);
            initDigest = r.digest;
            initDataClaims = r.claims;
          } else {
            initDigest = req.initData.digest;
          }
        }
        const results = await verifier.evaluate({
          tee: req.tee,
          evidence: req.evidence,
          expectedReportData,
          expectedInitDataDigest: initDigest,
          now: now(),
        });
        for (const { teeClass, claims } of results) {
          const rest: Record<string, unknown> = { ...claims };
          const annotated: Record<string, unknown> = {};
          if ("init_data" in rest) {
            annotated.init_data = rest.init_data;
            annotated.init_data_claims = initDataClaims;
            delete rest.init_data;
          }
          if ("report_data" in rest) {
            annotated.report_data = rest.report_data;
            annotated.runtime_data_claims = runtimeDataClaims;
            delete rest.report_data;
          }
          annotated[req.tee] = rest;
          const evidence = sortKeys(annotated);
          const policyId = `${basePolicy}_${teeClass}`;
          const policy = await deps.policies.prepared(policyId);
          let out: Record<string, unknown>;
          try {
            out = policy.evaluate(evidence, {}, ["trust_claims", "extensions"], {
              query_reference_value: (name: unknown) =>
                typeof name === "string" ? (refValues.get(name) ?? null) : null,
            });
          } catch (err) {
            throw new AttestationServiceError(
              "ERR_AS_POLICY",
              `attestation policy ${policyId} failed to evaluate: ${(err as Error).message}`,
              { cause: err },
            );
          }
          const index = counters.get(teeClass) ?? 0;
          counters.set(teeClass, index + 1);
          submods[`${teeClass}${index}`] = toSubmod(
            policyId,
            basePolicy,
            out.trust_claims,
            out.extensions,
            evidence,
          );
        }
      }
      return deps.broker.sign(submods, now());
    },
  };
}
