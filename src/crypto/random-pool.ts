/**
 * Random bytes for hot paths (nonces, IVs, session ids), drawn from a block that one call to
 * the CSPRNG fills. A call to `randomBytes` costs about 2.5 µs here whatever its size, and a
 * handshake needs several; one 4 KiB fill costs about 3 µs. Node's `randomUUID` pools the same
 * way. Every byte is handed out once, and the block's copy is zeroed as it is handed out.
 */
import { randomBytes, randomFillSync } from "node:crypto";

/** A source of fresh random bytes. */
export type RandomSource = (n: number) => Buffer;

/** Creates a pooled source over blocks of `blockSize` bytes; larger requests go straight through. */
export function createRandomPool(blockSize = 4096): RandomSource {
  const block = Buffer.alloc(blockSize);
  let used = blockSize;
  return (n) => {
    if (n > blockSize / 8) return randomBytes(n);
    if (used + n > blockSize) {
      randomFillSync(block);
      used = 0;
    }
    const out = Buffer.allocUnsafe(n);
    block.copy(out, 0, used, used + n);
    block.fill(0, used, used + n);
    used += n;
    return out;
  };
}

/** This process's pool. */
export const pooledRandomBytes: RandomSource = createRandomPool();
