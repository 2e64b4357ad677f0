/** Helpers shared by the guest-component subcommands (`coco aa`, `coco cdh`, `coco secret`). */
import { readFileSync } from "node:fs";
import {
  CDH_SERVICES,
  CdhMessages,
  type MessageCodec,
  TtrpcClient,
} from "../protocol/ttrpc/index.js";

/** Resolves once SIGINT, SIGTERM or SIGHUP arrives and `close()` has finished. */
export function waitForSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      void close().then(resolve);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    process.once("SIGHUP", stop);
  });
}

/** One unary ttrpc call on a fresh connection to `address`, closed afterwards (50 s default). */
export async function callOnce<Req, Res>(
  address: string,
  service: string,
  method: string,
  reqCodec: MessageCodec<Req>,
  resCodec: MessageCodec<Res>,
  req: Partial<Req>,
  timeoutMs = 50_000,
): Promise<Res> {
  const c = new TtrpcClient(address, { timeoutMs });
  try {
    return await c.call(service, method, reqCodec, resCodec, req);
  } finally {
    c.close();
  }
}

/** Unseals the `sealed.` secret in `file` through the CDH at `socket`; returns the plaintext. */
export async function unsealThroughCdh(socket: string, file: string): Promise<Uint8Array> {
  const r = await callOnce(
    socket,
    CDH_SERVICES.sealedSecret,
    "UnsealSecret",
    CdhMessages.UnsealSecretInput,
    CdhMessages.UnsealSecretOutput,
    { secret: Buffer.from(readFileSync(file, "utf8").trim()) },
  );
  return r.plaintext;
}
