/**
 * `worker_count` (upstream `[http_server] worker_count`): a primary process forks workers that
 * share the listening sockets (node:cluster). Sessions are stateless, so any worker can finish
 * a handshake another began; the primary hands every worker the same session key and token
 * signing key over IPC (never argv or environment). A challenge stays single-use across
 * workers because exactly one ledger decides its claims: that of the worker that issued it,
 * whose number is the first four hex digits of the session id, followed by this primary's tag
 * (inside the sealed cookie, so a client cannot change them); challenges issued by another
 * Trustee sharing the session secret are claimed in the primary. A handshake's requests usually share one keep-alive connection and
 * so one worker, which claims locally; a claim arriving at another worker goes to the issuer
 * through the primary. Before, every claim was an IPC round trip to a ledger in the primary,
 * which cost about a third of a worker's CPU per handshake in `npm run bench -- kbs`.
 */
import cluster, { type Worker } from "node:cluster";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { pooledRandomBytes } from "../crypto/random-pool.js";
import type { TrusteeConfig } from "./config.js";
import { createMemoryReplayLedger, type ReplayLedger } from "./kbs/replay.js";
import { type RunningTrustee, sessionKey, startTrustee, type TrusteeDeps } from "./trustee.js";

type FromPrimary =
  | {
      t: "secrets";
      sessionKey: string;
      signerKeyPem: string;
      ipcLedger: boolean;
      worker: number;
      /** This primary's tag (four hex digits), the second part of its workers' session ids. */
      cluster: string;
    }
  | { t: "claimed"; rid: number; ok: boolean }
  /** A claim for a challenge this worker issued, made at worker `from`. */
  | { t: "claim-for"; rid: number; from: number; id: string; exp: number };

type FromWorker =
  | { t: "hello" }
  /** A claim for a challenge worker `owner` issued (0: not issued by this cluster). */
  | { t: "claim"; rid: number; owner: number; id: string; exp: number }
  | { t: "claimed-for"; rid: number; to: number; ok: boolean }
  | { t: "listening"; urls: string[] };

/** Worker numbers fit the four hex digits that lead a session id. */
const MAX_WORKER = 0xffff;

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
  const clusterTag = (1 + (pooledRandomBytes(2).readUInt16BE(0) % 0xffff))
    .toString(16)
    .padStart(4, "0");
  // Challenges another Trustee issued (replicas sharing the session secret): claimed here, as
  // every challenge was before workers kept their own ledgers.
  const foreign = createMemoryReplayLedger();
  let stopping = false;
  let urls: string[] = [];
  // Workers by number (node:cluster's ids count up from 1 and are never reused).
  const workers = new Map<number, Worker>();
  const sendTo = (n: number, m: FromPrimary) => {
    const w = workers.get(n);
    if (w?.isConnected()) w.send(m);
  };
  // Claims passed on and not yet answered, by issuing worker: refused if it exits first.
  const relayed = new Map<number, Map<string, { from: number; rid: number }>>();
  const relayedTo = (owner: number) => {
    let m = relayed.get(owner);
    if (m === undefined) {
      m = new Map();
      relayed.set(owner, m);
    }
    return m;
  };

  const fork = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const w: Worker = cluster.fork();
      if (w.id > MAX_WORKER) {
        w.process.kill("SIGTERM");
        reject(new Error(`worker number ${w.id} is past ${MAX_WORKER}`));
        return;
      }
      workers.set(w.id, w);
      w.on("message", (m: FromWorker) => {
        if (m.t === "hello") {
          // Sent once the worker listens for messages (an earlier send could be lost).
          const reply: FromPrimary = {
            t: "secrets",
            sessionKey: key,
            signerKeyPem,
            ipcLedger,
            worker: w.id,
            cluster: clusterTag,
          };
          w.send(reply);
        } else if (m.t === "claim") {
          if (m.owner === 0) {
            void foreign.claim(m.id, m.exp).then((ok) => {
              sendTo(w.id, { t: "claimed", rid: m.rid, ok });
            });
          } else if (workers.get(m.owner)?.isConnected() === true) {
            relayedTo(m.owner).set(`${w.id}:${m.rid}`, { from: w.id, rid: m.rid });
            sendTo(m.owner, { t: "claim-for", rid: m.rid, from: w.id, id: m.id, exp: m.exp });
          } else {
            // The issuing worker is gone, and its ledger with it: the guest starts again.
            sendTo(w.id, { t: "claimed", rid: m.rid, ok: false });
          }
        } else if (m.t === "claimed-for") {
          relayed.get(w.id)?.delete(`${m.to}:${m.rid}`);
          sendTo(m.to, { t: "claimed", rid: m.rid, ok: m.ok });
        } else if (m.t === "listening") {
          urls = m.urls;
          resolve();
        }
      });
      w.on("exit", (code, signal) => {
        workers.delete(w.id);
        for (const r of relayed.get(w.id)?.values() ?? []) {
          sendTo(r.from, { t: "claimed", rid: r.rid, ok: false });
        }
        relayed.delete(w.id);
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

/**
 * This worker's replay ledger: ids it issues carry its number and the cluster's tag; it decides
 * claims for those (made here, or at another worker and passed on by the primary) and asks the
 * primary about the others (their issuer, or the primary's own ledger for other Trustees' ids).
 */
function workerReplayLedger(self: number, tag: string): ReplayLedger {
  const local = createMemoryReplayLedger();
  const prefix = self.toString(16).padStart(4, "0") + tag;
  const pending = new Map<number, (ok: boolean) => void>();
  let nextRid = 0;
  process.on("message", (m: FromPrimary) => {
    if (m.t === "claimed") {
      pending.get(m.rid)?.(m.ok);
      pending.delete(m.rid);
    } else if (m.t === "claim-for") {
      void local.claim(m.id, m.exp).then((ok) => {
        const reply: FromWorker = { t: "claimed-for", rid: m.rid, to: m.from, ok };
        process.send?.(reply);
      });
    }
  });
  return {
    newSessionId() {
      return prefix + pooledRandomBytes(12).toString("hex");
    },
    claim(id, exp) {
      // Issued by a worker of this cluster: that worker decides (0 is no worker's number, so
      // ids of other Trustees go to the primary's ledger).
      const ours = /^[0-9a-f]{32}$/.test(id) && id.slice(4, 8) === tag;
      const owner = ours ? Number.parseInt(id.slice(0, 4), 16) : 0;
      if (owner === self) return local.claim(id, exp);
      return new Promise((resolve) => {
        const rid = nextRid++;
        pending.set(rid, resolve);
        const m: FromWorker = { t: "claim", rid, owner, id, exp };
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
    ...(secrets.ipcLedger ? { replay: workerReplayLedger(secrets.worker, secrets.cluster) } : {}),
  });
  const m: FromWorker = { t: "listening", urls: running.urls };
  process.send?.(m);
  return running;
}
