/**
 * The agent-protocol-forwarder (cloud-api-adaptor `pkg/forwarder`) in the pod VM: a TCP listener
 * (upstream port 15150) serving the agent's ttrpc service to the adaptor only. Every connection
 * must complete mutual TLS with a client certificate from the CA named in apf.json; each
 * authenticated connection is then joined, byte for byte, to a fresh connection to the agent's
 * own unix socket, so ttrpc stream ids stay per connection and the agent's policy checks every
 * request exactly as over vsock. The forwarder never decodes a request: it adds no way in.
 */
import { connect, type Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { ApfConfig } from "../../protocol/peerpod/index.js";
import { socketPathOf } from "../../protocol/ttrpc/index.js";
import { PodVmError } from "./errors.js";

/** Where and how the forwarder serves. */
export interface ForwarderOptions {
  host: string;
  port: number;
  apf: ApfConfig;
  /** The agent's ttrpc address, `unix:///run/kata-containers/agent.sock`. */
  agentAddress: string;
  /** Most connections at once (default 64); more are closed at accept. */
  maxConnections?: number;
  /** A TLS handshake must finish within this (default 10 s). */
  handshakeTimeoutMs?: number;
  log?: (line: string) => void;
}

/** A listening forwarder. */
export interface Forwarder {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the forwarder; it listens before this resolves. */
export async function startForwarder(o: ForwarderOptions): Promise<Forwarder> {
  const log = o.log ?? (() => {});
  if (!o.apf.tlsServerCert || !o.apf.tlsServerKey || !o.apf.tlsClientCa) {
    throw new PodVmError("ERR_PODVM_FORWARDER", "the forwarder needs its TLS material (apf.json)");
  }
  const agentPath = socketPathOf(o.agentAddress);
  const max = o.maxConnections ?? 64;
  const open = new Set<Socket>();
  let server: Server;
  try {
    server = createServer({
      cert: o.apf.tlsServerCert,
      key: o.apf.tlsServerKey,
      ca: o.apf.tlsClientCa,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
      handshakeTimeout: o.handshakeTimeoutMs ?? 10_000,
    });
  } catch (err) {
    throw new PodVmError(
      "ERR_PODVM_FORWARDER",
      `the TLS material in apf.json does not load: ${(err as Error).message}`,
      { cause: err },
    );
  }
  server.maxConnections = max;
  server.on("tlsClientError", (err, sock) => {
    log(
      `forwarder: refused ${sock.remoteAddress ?? "?"}: ${(err as { code?: string }).code ?? err.message}`,
    );
    sock.destroy();
  });
  server.on("secureConnection", (tls: TLSSocket) => {
    const agent = connect(agentPath);
    open.add(tls);
    open.add(agent);
    const end = () => {
      tls.destroy();
      agent.destroy();
      open.delete(tls);
      open.delete(agent);
    };
    tls.on("error", end);
    agent.on("error", (err) => {
      log(`forwarder: agent socket: ${err.message}`);
      end();
    });
    tls.on("close", end);
    agent.on("close", end);
    tls.pipe(agent);
    agent.pipe(tls);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new PodVmError(
          "ERR_PODVM_FORWARDER",
          `cannot listen on ${o.host}:${o.port}: ${err.message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  log(
    `forwarder listening on ${o.host}:${port} (mutual TLS) for pod ${o.apf.podNamespace}/${o.apf.podName}`,
  );
  return {
    host: o.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
