/**
 * `worker_count` (upstream `[http_server] worker_count`): a primary process forks workers that
 * share the listening sockets (node:cluster). Sessions are stateless, so any worker can finish
 * a handshake another began; the primary hands every worker the same session key and token
 * signing key over IPC (never argv or environment) and keeps the one replay ledger that all
 * workers consult, so a challenge is single-use across workers.
 */
import cluster, { type Worker } from "node:cluster";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TrusteeConfig } from "./config.js";
import { createMemoryReplayLedger, type ReplayLedger } from "./kbs/replay.js";
import { type RunningTrustee, sessionKey, startTrustee, type TrusteeDeps } from "./trustee.js";

type FromPrimary =
  | { t: "secrets"; sessionKey: string; signerKeyPem: string; ipcLedger: boolean }
  | { t: "claimed"; rid: string; ok: boolean };

type FromWorker =
  | { t: "hello" }
  | { t: "claim"; rid: string; id: string; exp: number }
  | { t: "listening"; urls: string[] };

/** True in a forked worker. */
export function isTrusteeWorker(): boolean {
  return cluster.isWorker;
}

/** A running primary. */
export interface TrusteePrimary {
  urls: string[];
  workers: number;
  close(): Promise<void>;
}

/** Forks `config.http.workerCount` workers (this same program) and serves their IPC. */
export async function startTrusteePrimary(
  config: TrusteeConfig,
  log: (line: string) => void,
): Promise<TrusteePrimary> {
  const key = Buffer.from(sessionKey(config.session.secretFile)).toString("hex");
  const signerPath = config.attestationService.broker.signerKeyPath;
  const signerKeyPem =
    signerPath !== undefined
      ? readFileSync(signerPath, "utf8")
      : generateKeyPairSync("ec", { namedCurve: "P-256" })
          .privateKey.export({ format: "pem", type: "pkcs8" })
          .toString();
  const ipcLedger = config.session.replayLedger === "memory";
  const ledger = createMemoryReplayLedger();
  let stopping = false;
  let urls: string[] = [];

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w: Worker = cluster.fork();
      w.on("message", (m: FromWorker) => {
        if (m.t === "hello") {
          // Sent once the worker listens for messages (an earlier send could be lost).
          const reply: FromPrimary = { t: "secrets", sessionKey: key, signerKeyPem, ipcLedger };
          w.send(reply);
        } else if (m.t === "claim") {
          void ledger.claim(m.id, m.exp).then((ok) => {
            const reply: FromPrimary = { t: "claimed", rid: m.rid, ok };
            if (w.isConnected()) w.send(reply);
          });
        } else if (m.t === "listening") {
          urls = m.urls;
          resolve();
        }
      });
      w.on("exit", (code, signal) => {
        if (stopping) return;
        log(`trustee: worker ${w.process.pid} exited (${signal ?? code}); starting another`);
        fork().catch((err: unknown) => log(`trustee: could not restart a worker: ${String(err)}`));
        reject(new Error(`worker exited before listening (${signal ?? code})`));
      });
    });

  await Promise.all(Array.from({ length: config.http.workerCount }, fork));
  return {
    urls,
    workers: config.http.workerCount,
    async close() {
      stopping = true;
      await Promise.all(
        Object.values(cluster.workers ?? {}).map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w === undefined || w.isDead()) return resolve();
              w.once("exit", () => resolve());
              w.process.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}

/** A replay ledger answered by the primary over IPC. */
function ipcReplayLedger(): ReplayLedger {
  const pending = new Map<string, (ok: boolean) => void>();
  process.on("message", (m: FromPrimary) => {
    if (m.t === "claimed") {
      pending.get(m.rid)?.(m.ok);
      pending.delete(m.rid);
    }
  });
  return {
    claim(id, exp) {
      return new Promise((resolve) => {
        const rid = randomUUID();
        pending.set(rid, resolve);
        const m: FromWorker = { t: "claim", rid, id, exp };
        process.send?.(m);
      });
    },
  };
}

/** In a worker: waits for the primary's secrets, then serves. */
export async function startTrusteeWorker(deps: TrusteeDeps): Promise<RunningTrustee> {
  const secrets = await new Promise<Extract<FromPrimary, { t: "secrets" }>>((resolve) => {
    const on = (m: FromPrimary) => {
      if (m.t === "secrets") {
        process.off("message", on);
        resolve(m);
      }
    };
    process.on("message", on);
    const hello: FromWorker = { t: "hello" };
    process.send?.(hello);
  });
  const running = await startTrustee({
    ...deps,
    shared: {
      sessionKey: new Uint8Array(Buffer.from(secrets.sessionKey, "hex")),
      signerKeyPem: secrets.signerKeyPem,
    },
    ...(secrets.ipcLedger ? { replay: ipcReplayLedger() } : {}),
  });
  const m: FromWorker = { t: "listening", urls: running.urls };
  process.send?.(m);
  return running;
}
