/**
 * `cc_kbc` for CDH: resources from Trustee with a token from the local AA (`GetToken("kbs")`
 * over ttrpc). With `cache` (default) the token is reused until it expires or Trustee answers
 * 401; `cache: false` reproduces upstream, which asks AA for a new token (a full RCAR) on
 * every request.
 */
import { AA_SERVICE, AaMessages, TtrpcClient } from "../../../protocol/ttrpc/index.js";
import { createTokenKbsClient, parseKbsTokenAnswer } from "../../aa/kbs-client/index.js";
import type { ResourceGetter } from "./types.js";

/** Options for {@link createCcKbc}. */
export interface CcKbcOptions {
  kbsUrl: string;
  kbsCert?: string;
  aaSocket: string;
  cache?: boolean;
  /** Re-fetch this many seconds before the token's `exp` (default 5; 0 relies on Trustee's 401). */
  expirySkewSec?: number;
  /** Timeout of the AA GetToken call (upstream kbs_protocol → AA: 50 s). */
  aaTimeoutMs?: number;
}

/** A cc_kbc getter, exposing how many tokens it asked AA for. */
export interface CcKbc extends ResourceGetter {
  readonly tokensFetched: number;
  close(): void;
}

/** Creates the getter. */
export function createCcKbc(opts: CcKbcOptions): CcKbc {
  const aa = new TtrpcClient(opts.aaSocket, { timeoutMs: opts.aaTimeoutMs ?? 50_000 });
  const client = createTokenKbsClient({
    url: opts.kbsUrl,
    ...(opts.kbsCert ? { certs: [opts.kbsCert] } : {}),
    cache: opts.cache ?? true,
    ...(opts.expirySkewSec !== undefined ? { expirySkewSec: opts.expirySkewSec } : {}),
    tokenProvider: async () => {
      const res = await aa.call(
        AA_SERVICE,
        "GetToken",
        AaMessages.GetTokenRequest,
        AaMessages.GetTokenResponse,
        {
          TokenType: "kbs",
        },
      );
      return parseKbsTokenAnswer(res.Token);
    },
  });
  return {
    name: "cc_kbc",
    get tokensFetched() {
      return client.tokensFetched;
    },
    getResource: (uri) => client.getResource(uri),
    close() {
      client.close();
      aa.close();
    },
  };
}
