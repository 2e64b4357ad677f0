/**
 * TPM 2.0 command transports: the kernel character device (`/dev/tpm0`, one command written,
 * one response read) and swtpm's TCP server (raw command bytes, as tpm2-tss's swtpm TCTI).
 * Responses are bounded by the size in their header (TPM 2.0 Part 1 §18) and a 64 KiB cap.
 */
import { open } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { AaError } from "../../errors.js";

/** Sends one TPM command and returns the whole response. */
export interface TpmTransport {
  send(command: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

const MAX_RESPONSE = 64 << 10;

/** The kernel TPM device (`/dev/tpm0` or the resource manager `/dev/tpmrm0`). */
export async function openTpmDevice(path: string): Promise<TpmTransport> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r+");
  } catch (err) {
    throw new AaError(
      "ERR_AA_TPM",
      `cannot open TPM device ${path}: ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  let chain: Promise<unknown> = Promise.resolve();
  return {
    send(command) {
      const p = chain.then(async () => {
        await fh.write(command);
        const buf = Buffer.alloc(MAX_RESPONSE);
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        return buf.subarray(0, bytesRead);
      });
      chain = p.catch(() => undefined);
      return p;
    },
    close: () => fh.close(),
  };
}

/** swtpm's TCP command port. */
export async function connectSwtpm(
  host: string,
  port: number,
  timeoutMs = 10_000,
): Promise<TpmTransport> {
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = connect(port, host);
    s.once("connect", () => resolve(s));
    s.once("error", (e) =>
      reject(new AaError("ERR_AA_TPM", `cannot reach swtpm at ${host}:${port}: ${e.message}`)),
    );
  });
  let pending:
    | { resolve: (b: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
    | undefined;
  let buf = Buffer.alloc(0);
  sock.on("data", (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    if (!pending || buf.length < 10) return;
    const size = buf.readUInt32BE(2);
    if (size < 10 || size > MAX_RESPONSE) {
      pending.reject(new AaError("ERR_AA_TPM", `TPM response announces ${size} bytes`));
      pending = undefined;
      sock.destroy();
      return;
    }
    if (buf.length < size) return;
    const out = buf.subarray(0, size);
    buf = buf.subarray(size);
    clearTimeout(pending.timer);
    const p = pending;
    pending = undefined;
    p.resolve(out);
  });
  sock.on("close", () => pending?.reject(new AaError("ERR_AA_TPM", "swtpm closed the connection")));
  let chain: Promise<unknown> = Promise.resolve();
  return {
    send(command) {
      const p = chain.then(
        () =>
          new Promise<Uint8Array>((resolve, reject) => {
            const timer = setTimeout(() => {
              pending = undefined;
              reject(new AaError("ERR_AA_TPM", `TPM did not answer within ${timeoutMs} ms`));
            }, timeoutMs);
            pending = { resolve, reject, timer };
            sock.write(command);
          }),
      );
      chain = p.catch(() => undefined);
      return p;
    },
    async close() {
      sock.destroy();
    },
  };
}

/** A transport opened on first use (attesters are built synchronously at detection). */
export function lazyTransport(openFn: () => Promise<TpmTransport>): TpmTransport {
  let t: Promise<TpmTransport> | undefined;
  return {
    async send(command) {
      t ??= openFn();
      return (await t).send(command);
    },
    async close() {
      if (t) await (await t).close();
    },
  };
}
