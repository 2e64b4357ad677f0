/** Fetches lookaside signatures over HTTP(S) with size and time limits (404 = no more). */
import { OciError } from "../errors.js";
import { createHttpTransport, type HttpOptions, readBody } from "../registry/http.js";

/** A `fetchUrl` for {@link readLookasideSignatures}: bytes, or undefined on 404. */
export function createLookaside(opts: HttpOptions = {}): {
  fetchUrl: (url: string) => Promise<Uint8Array | undefined>;
  close(): void;
} {
  const http = createHttpTransport(opts);
  return {
    async fetchUrl(url) {
      const res = await http.send({ method: "GET", url });
      if (res.status === 404) {
        res.body.resume();
        return undefined;
      }
      if (res.status !== 200) {
        res.body.resume();
        throw new OciError("ERR_OCI_HTTP", `lookaside ${new URL(url).host}: HTTP ${res.status}`);
      }
      return readBody(res, 4 * 1024 * 1024, "lookaside signature", 30_000);
    },
    close: () => http.close(),
  };
}
