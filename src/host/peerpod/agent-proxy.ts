/**
 * The adaptor's per-sandbox agent proxy (cloud-api-adaptor `pkg/adaptor/proxy`): the runtime
 * dials a unix socket as it would the agent's vsock; each connection is carried over mutual TLS
 * to the forwarder in the pod VM, which checks the adaptor's client certificate, while the proxy
 * checks that the VM's certificate names this instance and was issued by the adaptor's server CA
 * (a stale port or another VM is refused). Bytes pass unchanged: the agent's policy in the VM
 * checks every request.
 */

import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type { PemPair } from "../../crypto/tls-ca.js";
import type { Endpoint } from "./provider.js";

/** What the proxy needs to reach one pod VM. */
export interface AgentProxyOptions {
  socketPath: string;
  endpoint: Endpoint;
  /** The instance name its certificate must carry. */
  serverName: string;
  /** The adaptor's server CA (PEM certificate) and its client certificate. */
  serverCaPem: string;
  client: PemPair;
  /** Most connections at once (default 64). */
  maxConnections?: number;
  log?: (line: string) => void;
}

/** A listening proxy. */
export interface AgentProxy {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** Starts the proxy on its unix socket (mode 0600). */
export async function startAgentProxy(o: AgentProxyOptions): Promise<AgentProxy> {
  const log = o.log ?? (() => {});
  mkdirSync(dirname(o.socketPath), { recursive: true, mode: 0o700 });
  rmSync(o.socketPath, { force: true });
  const open = new Set<Socket>();
  // A booting VM refuses connections many times a second: say each distinct failure once a while.
  const said = new Map<string, number>();
  const say = (msg: string) => {
    const now = Date.now();
    if ((said.get(msg) ?? 0) > now - 10_000) return;
    said.set(msg, now);
    log(msg);
  };
  const server: Server = createServer((local) => {
    const remote = tlsConnect({
      host: o.endpoint.host,
      port: o.endpoint.port,
      servername: o.serverName,
      ca: o.serverCaPem,
      cert: o.client.certPem,
      key: o.client.keyPem,
      minVersion: "TLSv1.3",
    });
    open.add(local);
    open.add(remote);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      local.destroy();
      remote.destroy();
      open.delete(local);
      open.delete(remote);
    };
    remote.on("error", (err) => {
      say(`agent proxy ${o.serverName}: ${err.message}`);
      end();
    });
    local.on("error", end);
    local.on("close", end);
    remote.on("close", end);
    // Hold the runtime's bytes until TLS is up (pipe starts writing at once otherwise).
    local.pause();
    remote.once("secureConnect", () => {
      local.pipe(remote);
      remote.pipe(local);
      local.resume();
    });
  });
  server.maxConnections = o.maxConnections ?? 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const old = process.umask(0o177);
    try {
      server.listen(o.socketPath, () => resolve());
    } finally {
      process.umask(old);
    }
  });
  chmodSync(o.socketPath, 0o600);
  return {
    socketPath: o.socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => {
          rmSync(o.socketPath, { force: true });
          resolve();
        });
      }),
  };
}
