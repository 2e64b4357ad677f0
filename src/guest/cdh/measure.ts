/**
 * What CDH does after a successful image pull (upstream hub, ttrpc build): if the AA socket
 * exists, record `github.com/confidential-containers PullImage {"image":"<url>", "digest":"<d>"}`
 * through AA `ExtendRuntimeMeasurement` (RegisterIndex unset). NOT_SUPPORTED / NOT_ENABLED are
 * not errors (logged); transport failures are thrown.
 */
import { existsSync } from "node:fs";
import {
  AA_SERVICE,
  AaMessages,
  RuntimeMeasurementResult,
  socketPathOf,
  TtrpcClient,
} from "../../protocol/ttrpc/index.js";

/** The AAEL domain and operation upstream CDH uses for image pulls. */
export const IMAGE_PULL_EVENT = {
  domain: "github.com/confidential-containers",
  operation: "PullImage",
} as const;

/** The event content, byte-for-byte as upstream formats it (note the space after the comma). */
export function imagePullContent(imageUrl: string, manifestDigest: string): string {
  return `{"image":${JSON.stringify(imageUrl)}, "digest":${JSON.stringify(manifestDigest)}}`;
}

/** Records an image pull in the AA event log; returns the AA's result, or "NO_AA" without a socket. */
export async function recordImagePull(
  aaSocket: string,
  imageUrl: string,
  manifestDigest: string,
  log: (line: string) => void = () => {},
): Promise<"OK" | "NOT_SUPPORTED" | "NOT_ENABLED" | "NO_AA"> {
  const path = socketPathOf(aaSocket);
  if (!path.startsWith("\0") && !existsSync(path)) return "NO_AA";
  const c = new TtrpcClient(aaSocket, { timeoutMs: 10_000 });
  try {
    const r = await c.call(
      AA_SERVICE,
      "ExtendRuntimeMeasurement",
      AaMessages.ExtendRuntimeMeasurementRequest,
      AaMessages.ExtendRuntimeMeasurementResponse,
      {
        Domain: IMAGE_PULL_EVENT.domain,
        Operation: IMAGE_PULL_EVENT.operation,
        Content: imagePullContent(imageUrl, manifestDigest),
      },
    );
    if (r.Result === RuntimeMeasurementResult.OK) return "OK";
    const what =
      r.Result === RuntimeMeasurementResult.NOT_SUPPORTED ? "NOT_SUPPORTED" : "NOT_ENABLED";
    log(`confidential-data-hub: image pull not measured: AA answered ${what}`);
    return what;
  } finally {
    c.close();
  }
}
