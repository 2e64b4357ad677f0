import type { Clock } from "../../../../tee/common/certs.js";
import { parseNvidiaEvidence } from "../../../../tee/nvidia/index.js";
import { asVerifierError } from "../tdx/adapt.js";
import { type Verifier, VerifierError, type VerifierInput, type VerifierResult } from "../types.js";
import { type NvidiaReferenceMeasurements, verifyNvidiaDevice } from "./verify.js";

export {
  DICE_TCB_INFO_OID,
  fwidOf,
  NVIDIA_DEVICE_ROOT_SHA256,
  verifyNvidiaChain,
} from "./chain.js";
export {
  type NvidiaReferenceMeasurements,
  type NvidiaVerifyOptions,
  nvidiaClaims,
  verifyNvidiaDevice,
  verifyNvidiaReportSignature,
} from "./verify.js";

/** Options of the NVIDIA verifier (upstream's `nvidia_verifier` with `type = "Local"`). */
export interface NvidiaVerifierOptions {
  referenceMeasurements?: NvidiaReferenceMeasurements;
  clock?: Clock;
  /** Trust another device root (SHA-256 of its DER): tests only, no config key. */
  rootSha256?: string;
}

/**
 * Creates the `nvidia` verifier: one `gpu` claim set per device of the evidence (upstream's
 * local mode verifies Hopper GPUs only; switches and PPCIE topologies need NRAS, not built).
 */
export function createNvidiaVerifier(opts: NvidiaVerifierOptions = {}): Verifier {
  return {
    tee: "nvidia",
    async evaluate(input: VerifierInput): Promise<VerifierResult[]> {
      if (input.expectedReportData.length === 0) {
        // Upstream: "Nvidia report data not provided".
        throw new VerifierError(
          "ERR_VERIFIER_REPORT_DATA",
          "nvidia: no runtime data was given to bind the SPDM nonce to",
        );
      }
      return asVerifierError("nvidia", () =>
        parseNvidiaEvidence(input.evidence).map((dev) => ({
          teeClass: "gpu" as const,
          claims: verifyNvidiaDevice(dev, {
            expectedReportData: input.expectedReportData,
            referenceMeasurements: opts.referenceMeasurements,
            clock: input.now ? () => input.now as Date : opts.clock,
            rootSha256: opts.rootSha256,
          }),
        })),
      );
    },
  };
}

/** Parses a reference-measurement file: `{"<index>": ["<hex>", ...], ...}`. */
export function parseNvidiaReferenceMeasurements(
  text: string,
  what: string,
): NvidiaReferenceMeasurements {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new VerifierError("ERR_VERIFIER_CONFIG", `${what} is not JSON`, { cause });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new VerifierError(
      "ERR_VERIFIER_CONFIG",
      `${what} must map measurement indexes to lists of hex values`,
    );
  }
  const out: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(v)) {
    if (
      !/^[0-9]{1,3}$/.test(k) ||
      !Array.isArray(list) ||
      !list.every((x) => typeof x === "string" && /^([0-9a-fA-F]{2})+$/.test(x))
    ) {
      throw new VerifierError(
        "ERR_VERIFIER_CONFIG",
        `${what}: entry ${JSON.stringify(k.slice(0, 8))} must be an index with a list of hex strings`,
      );
    }
    out[String(Number(k))] = (list as string[]).map((x) => x.toLowerCase());
  }
  return out;
}
