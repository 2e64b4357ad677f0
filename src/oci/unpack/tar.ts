/** The one entry to `tar-stream` for reading layers: a writable tar parser emitting entries. */
import type { Writable } from "node:stream";
import { extract, type Header } from "tar-stream";
import type { TarEntryHeader } from "./apply.js";

/** Called for each entry; must consume `data` fully before resolving. */
export type EntryHandler = (
  header: TarEntryHeader,
  data: AsyncIterable<Uint8Array>,
) => Promise<void>;

/** A tar parser stream that hands each entry to `onEntry`, one at a time, in archive order. */
export function createTarParser(onEntry: EntryHandler): Writable {
  const ex = extract();
  ex.on("entry", (header: Header, stream, next) => {
    onEntry(header as unknown as TarEntryHeader, stream as AsyncIterable<Uint8Array>).then(
      () => next(),
      (err: unknown) => {
        stream.resume();
        ex.destroy(err as Error);
      },
    );
  });
  return ex as unknown as Writable;
}
