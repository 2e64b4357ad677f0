import { createServer, type Server } from "node:http";

/** A loopback AMD KDS stand-in serving one real VCEK under KDS's Milan URL layout. */
export interface KdsStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Paths requested so far (tests may clear it). */
  hits: string[];
  close(): Promise<void>;
}

/**
 * Serves `vcek` for `/vcek/v1/Milan/...`, `extra` paths as given, and 404 for anything else.
 * It only replays real certificate bytes: the verifier still checks them against AMD's chain.
 */
export async function startKdsStandIn(
  vcek: Uint8Array,
  extra: Record<string, Uint8Array> = {},
): Promise<KdsStandIn> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "";
    hits.push(path);
    const body = path.startsWith("/vcek/v1/Milan/") ? vcek : extra[path];
    if (body !== undefined) res.end(body);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  return {
    url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`,
    hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
