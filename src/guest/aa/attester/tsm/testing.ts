/** A configfs-tsm stand-in on a real directory, for attester tests (no I/O beyond that folder). */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TsmFs } from "./report.js";

/** What the stand-in "kernel" writes for an inblob. */
export type TsmAnswer = (inblob: Uint8Array) => { outblob: Uint8Array; auxblob: Uint8Array };

const echoQuote: TsmAnswer = (inblob) => ({
  outblob: Buffer.concat([Buffer.from("QUOTE:"), inblob]),
  auxblob: Buffer.from("CERTS"),
});

/**
 * configfs-tsm as Documentation/ABI/testing/configfs-tsm describes it, on a real directory under
 * `root`: mkdir populates `provider` and `generation`; each inblob write bumps `generation` and
 * produces `outblob` and `auxblob` (by default `QUOTE:<inblob>` and `CERTS`); rmdir removes the
 * entry. `racer` simulates a second writer (generation jumps by two).
 */
export function kernelLikeTsm(
  root: string,
  provider: string,
  opts: { answer?: TsmAnswer; racer?: boolean } = {},
): TsmFs {
  const answer = opts.answer ?? echoQuote;
  mkdirSync(root, { recursive: true });
  return {
    exists: async (p) => {
      try {
        readdirSync(p);
        return true;
      } catch {
        return false;
      }
    },
    mkdir: async (p) => {
      mkdirSync(p);
      writeFileSync(join(p, "provider"), `${provider}\n`);
      writeFileSync(join(p, "generation"), "0\n");
    },
    rmdir: async (p) => rmSync(p, { recursive: true }),
    read: async (p) => readFileSync(p),
    write: async (p, d) => {
      writeFileSync(p, d);
      if (p.endsWith("inblob")) {
        const dir = join(p, "..");
        const gen = Number(readFileSync(join(dir, "generation"), "utf8")) + (opts.racer ? 2 : 1);
        writeFileSync(join(dir, "generation"), `${gen}\n`);
        const { outblob, auxblob } = answer(d);
        writeFileSync(join(dir, "outblob"), outblob);
        writeFileSync(join(dir, "auxblob"), auxblob);
      }
    },
  };
}
