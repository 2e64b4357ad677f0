/**
 * Runs the Attestation Agent: attester, init-data binding (a mismatch refuses to start),
 * optional AAEL event log, and the ttrpc service on a unix socket.
 */
import { readFileSync } from "node:fs";
import { type InitData, parseInitData } from "../../protocol/initdata/index.js";
import { TtrpcServer } from "../../protocol/ttrpc/index.js";
import { type AttestationAgent, createAttestationAgent, sampleDevice } from "./agent.js";
import { detectAttester } from "./attester/detect.js";
import type { Attester } from "./attester/types.js";
import type { AaConfig } from "./config.js";
import { AaError } from "./errors.js";
import { openEventLog } from "./eventlog/eventlog.js";
import { registerAaService } from "./service.js";

/** Default AA socket. */
export const AA_DEFAULT_SOCKET =
  "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock";

/** Options for {@link startAttestationAgent}. */
export interface AaDaemonOptions {
  socket?: string;
  config: AaConfig;
  attester?: Attester;
  /** Path of an init-data TOML (digest bound and TOML sent to Trustee). */
  initDataToml?: string;
  /** An init-data digest given directly (bound only). */
  initDataDigest?: Uint8Array;
  eventLogDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  retry?: { attempts: number; delayMs: number };
}

/** A running AA. */
export interface RunningAa {
  agent: AttestationAgent;
  socket: string;
  close(): Promise<void>;
}

/** Starts the AA; throws (and binds nothing) when init-data does not match the TEE. */
export async function startAttestationAgent(opts: AaDaemonOptions): Promise<RunningAa> {
  const log = opts.log ?? (() => {});
  const env = opts.env ?? process.env;
  const attester = opts.attester ?? (await detectAttester({ env, log }));
  let initData: InitData | undefined;
  let digest = opts.initDataDigest;
  if (opts.initDataToml) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(opts.initDataToml);
    } catch (err) {
      throw new AaError(
        "ERR_AA_CONFIG",
        `cannot read init-data ${opts.initDataToml}: ${(err as NodeJS.ErrnoException).code}`,
      );
    }
    initData = parseInitData(bytes);
    digest = initData.digest;
  }
  if (digest) {
    const r = await attester.bindInitData(digest);
    log(
      r === "bound"
        ? `attestation-agent: init-data bound to ${attester.tee}`
        : `attestation-agent: ${attester.tee} has no init-data binding; continuing`,
    );
  }
  let eventLog: Awaited<ReturnType<typeof openEventLog>> | undefined;
  if (opts.config.eventlog.enabled) {
    if (!attester.runtime) {
      // Upstream panics here; we refuse to start with a clear message.
      throw new AaError(
        "ERR_AA_CONFIG",
        `enable_eventlog is set but the ${attester.tee} attester has no runtime measurement registers`,
      );
    }
    eventLog = await openEventLog({
      measurer: attester.runtime,
      initPcr: opts.config.eventlog.initPcr,
      ...(opts.eventLogDir ? { dir: opts.eventLogDir } : {}),
    });
  }
  const agent = createAttestationAgent({
    attester,
    config: opts.config,
    ...(initData ? { initData } : {}),
    ...(eventLog ? { eventLog } : {}),
    ...(env.ENABLE_SAMPLE_DEVICE ? { devices: { sampledevice: sampleDevice } } : {}),
    ...(opts.retry ? { retry: opts.retry } : {}),
  });
  const server = new TtrpcServer({
    onConnectionError: (e) => log(`attestation-agent: connection closed: ${e.message}`),
  });
  registerAaService(server, agent);
  const socket = opts.socket ?? AA_DEFAULT_SOCKET;
  await server.listen(socket);
  log(`attestation-agent: ${attester.tee} attester, listening on ${socket}`);
  return { agent, socket, close: () => server.close() };
}
