/**
 * The Attestation Agent core (attestation-agent/src/lib.rs), independent of transport:
 * evidence, tokens, runtime measurements, TEE type. `serveAttestationAgent` puts it behind
 * upstream's ttrpc service.
 */
import type { InitData } from "../../protocol/initdata/index.js";
import { createSampleEvidence, SAMPLE_DEVICE_SVN } from "../../tee/sample/index.js";
import type { Attester } from "./attester/types.js";
import type { AaConfig } from "./config.js";
import { AaError } from "./errors.js";
import type { EventLog } from "./eventlog/eventlog.js";
import { createRcarClient } from "./kbs-client/rcar.js";

/** The runtime measurement outcomes of the AA API. */
export type MeasurementResult = "OK" | "NOT_SUPPORTED" | "NOT_ENABLED";

/** Options for {@link createAttestationAgent}. */
export interface AttestationAgentOptions {
  attester: Attester;
  config: AaConfig;
  /** Init-data kept for the RCAR handshake (only when given as TOML). */
  initData?: InitData;
  /** The AAEL event log, when `eventlog_config.enable_eventlog` is on. */
  eventLog?: EventLog;
  /** Device attesters by TEE name (upstream: nvidia, sampledevice, ...). */
  devices?: Record<string, { getEvidence(reportData: Uint8Array): Promise<unknown> }>;
  /** Handshake retry policy override (tests). */
  retry?: { attempts: number; delayMs: number };
  fetchFn?: typeof fetch;
}

/** The agent. */
export interface AttestationAgent {
  readonly tee: string;
  readonly additionalTees: string[];
  getEvidence(runtimeData: Uint8Array): Promise<Uint8Array>;
  getAdditionalEvidence(runtimeData: Uint8Array): Promise<Uint8Array>;
  getToken(tokenType: string): Promise<Uint8Array>;
  extendRuntimeMeasurement(
    domain: string,
    operation: string,
    content: string,
    registerIndex?: number,
  ): Promise<MeasurementResult>;
}

/** A `sampledevice` attester (`{"svn":"2","report_data":…}`), enabled by ENABLE_SAMPLE_DEVICE. */
export const sampleDevice = {
  async getEvidence(reportData: Uint8Array): Promise<unknown> {
    return createSampleEvidence(reportData, SAMPLE_DEVICE_SVN);
  },
};

/**
 * Binds init-data at start-up. A mismatch (TDX MRCONFIGID, SNP HOST_DATA) throws
 * ERR_AA_INITDATA_MISMATCH so the AA refuses to start; TEEs without a binding field log and go on.
 */
export async function bindInitData(
  attester: Attester,
  digest: Uint8Array,
): Promise<"bound" | "unsupported"> {
  return attester.bindInitData(digest);
}

/** Creates the agent. */
export function createAttestationAgent(opts: AttestationAgentOptions): AttestationAgent {
  const devices = opts.devices ?? {};
  const fetchFn = opts.fetchFn ?? fetch;

  async function additionalEvidenceText(reportData: Uint8Array): Promise<string> {
    const names = Object.keys(devices);
    if (names.length === 0) return "";
    const map: Record<string, unknown> = {};
    for (const n of names)
      map[n] = await (devices[n] as { getEvidence(r: Uint8Array): Promise<unknown> }).getEvidence(
        reportData,
      );
    return JSON.stringify(map);
  }

  return {
    tee: opts.attester.tee,
    additionalTees: Object.keys(devices),
    async getEvidence(runtimeData) {
      return Buffer.from(JSON.stringify(await opts.attester.getEvidence(runtimeData)));
    },
    async getAdditionalEvidence(runtimeData) {
      return Buffer.from(await additionalEvidenceText(runtimeData));
    },
    async getToken(tokenType) {
      if (tokenType === "kbs") {
        const kbs = opts.config.kbs;
        if (!kbs) throw new AaError("ERR_AA_CONFIG", "no [token_configs.kbs] configured");
        // Upstream: a new client (new TEE key, full RCAR) for every GetToken call.
        const client = createRcarClient({
          url: kbs.url,
          ...(kbs.cert ? { certs: [kbs.cert] } : {}),
          attester: opts.attester,
          additionalEvidence: additionalEvidenceText,
          ...(opts.initData ? { initDataToml: opts.initData.text } : {}),
          keyKind: kbs.teeKeyAlgorithm,
          ...(opts.retry ? { retry: opts.retry } : {}),
        });
        try {
          const token = await client.getToken();
          return Buffer.from(
            JSON.stringify({ token: token.content, tee_keypair: client.teeKey.privateKeyPem }),
          );
        } finally {
          client.close();
        }
      }
      if (tokenType === "coco_as") {
        const as = opts.config.cocoAs;
        if (!as) throw new AaError("ERR_AA_CONFIG", "no [token_configs.coco_as] configured");
        const evidence = JSON.stringify(await opts.attester.getEvidence(new Uint8Array(0)));
        const res = await fetchFn(`${as.url}/attestation`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            verification_requests: [
              { tee: opts.attester.tee, evidence: Buffer.from(evidence).toString("base64url") },
            ],
            policy_ids: [],
          }),
          signal: AbortSignal.timeout(60_000),
        }).catch((err: unknown) => {
          throw new AaError(
            "ERR_KBS_CLIENT_UNREACHABLE",
            `CoCo AS unreachable: ${(err as Error).message}`,
          );
        });
        const text = await res.text();
        if (res.status !== 200)
          throw new AaError(
            "ERR_KBS_CLIENT_HTTP",
            `CoCo AS answered ${res.status}: ${text.slice(0, 512)}`,
          );
        return Buffer.from(text);
      }
      throw new AaError(
        "ERR_AA_TOKEN_TYPE",
        `Unsupported token type ${JSON.stringify(tokenType.slice(0, 32))}`,
      );
    },
    async extendRuntimeMeasurement(domain, operation, content, registerIndex) {
      if (!opts.eventLog) return "NOT_ENABLED";
      if (!opts.attester.runtime) return "NOT_SUPPORTED";
      await opts.eventLog.extend(
        domain,
        operation,
        content,
        registerIndex ?? opts.config.eventlog.initPcr,
      );
      return "OK";
    },
  };
}
