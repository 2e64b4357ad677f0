import { connect, createServer, type Server } from "node:net";

/** The host as seen from a qemu user-network (slirp) guest: its loopback, NATed. */
export const SLIRP_HOST = "10.0.2.2";

/**
 * Makes the host's loopback services (test registry, Trustee) reachable in a qemu guest at the
 * same `127.0.0.1:PORT` the pod's image references and init-data name: each listed port is served
 * on the guest's loopback and forwarded through qemu's user network to the host's loopback.
 * Development plumbing with the same reach as the process sandbox's shared network namespace.
 */
export async function forwardHostLoopback(
  ports: number[],
  o: { host?: string; log?: (line: string) => void } = {},
): Promise<{ close(): void }> {
  const servers: Server[] = [];
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`forwarded port ${port} is not a TCP port`);
    }
    const server = createServer((inbound) => {
      const outbound = connect(port, o.host ?? SLIRP_HOST);
      inbound.pipe(outbound).pipe(inbound);
      const fail = (err: Error) => {
        o.log?.(`forward ${port}: ${err.message}`);
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on("error", fail);
      outbound.on("error", fail);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    servers.push(server);
  }
  return {
    close() {
      for (const s of servers) s.close();
    },
  };
}
