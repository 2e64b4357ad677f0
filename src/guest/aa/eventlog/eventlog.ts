/**
 * The AAEL event log with its crash-safe write-ahead record (attestation-agent eventlog/mod.rs):
 * 1. expected = H(register || event digest); 2. WAL = u64 BE record offset || expected || text,
 * fsync; 3. extend the register; 4. write the record at the offset, fsync; 5. delete the WAL.
 * On open, a WAL left by a crash is replayed: extend only if the register does not already hold
 * `expected` (and only if H(register || digest) == expected), then rewrite the record.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { constantTimeEqual } from "../../../crypto/compare.js";
import { digest, HASH_LENGTH } from "../../../crypto/digest.js";
import type { RuntimeMeasurer } from "../attester/types.js";
import { AaError } from "../errors.js";
import { aaelRecord, aaelText, assertAaelEvent, parseAaelText } from "./record.js";

/** Default locations (upstream constants). */
export const EVENTLOG_DIR = "/run/attestation-agent";
/** Event log and WAL file names inside the directory. */
export const EVENTLOG_FILE = "eventlog";
/** WAL file name. */
export const WAL_FILE = ".wal_event_entry";

/** The event log. */
export interface EventLog {
  readonly path: string;
  /** Appends an event and extends the register `pcr` maps to. */
  extend(domain: string, operation: string, content: string, pcr: number): Promise<void>;
}

/** Options for {@link openEventLog}. */
export interface EventLogOptions {
  measurer: RuntimeMeasurer;
  dir?: string;
  /** PCR a WAL left by a crash is replayed on (upstream: the configured init_pcr; default 17). */
  initPcr?: number;
  /** Test hook: throw after the given step to simulate a crash. */
  crashAfter?: "wal" | "extend";
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, position + off);
}

/** Writes a WAL record: u64 BE offset || expected || text. */
export function encodeWal(offset: number, expected: Uint8Array, text: string): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(offset));
  return Buffer.concat([head, expected, Buffer.from(text, "utf8")]);
}

/** Reads a WAL record; a short or garbled file is ERR_AA_EVENTLOG (fatal at start-up). */
export function decodeWal(
  bytes: Uint8Array,
  digestLength: number,
): { offset: number; expected: Uint8Array; text: string } {
  if (bytes.length < 8 + digestLength) {
    throw new AaError(
      "ERR_AA_EVENTLOG",
      "WAL record is truncated; delete it only after checking the event log",
    );
  }
  const b = Buffer.from(bytes);
  const offset = b.readBigUInt64BE(0);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER))
    throw new AaError("ERR_AA_EVENTLOG", "WAL record offset is out of range");
  return {
    offset: Number(offset),
    expected: b.subarray(8, 8 + digestLength),
    text: new TextDecoder("utf-8", { fatal: false }).decode(b.subarray(8 + digestLength)),
  };
}

/** Opens (creating) the event log and replays a WAL left by a crash. */
export async function openEventLog(opts: EventLogOptions): Promise<EventLog> {
  const dir = opts.dir ?? EVENTLOG_DIR;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, EVENTLOG_FILE);
  const walPath = join(dir, WAL_FILE);
  const m = opts.measurer;
  const alg = m.hashAlgorithm;
  const fd = openSync(path, "a+", 0o600);
  closeSync(fd);
  let pos = statSync(path).size;

  const writeRecord = (record: Uint8Array, at: number) => {
    const f = openSync(path, "r+");
    try {
      writeAll(f, record, at);
      fsyncSync(f);
    } finally {
      closeSync(f);
    }
  };

  let walBytes: Uint8Array | undefined;
  try {
    walBytes = readFileSync(walPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new AaError(
        "ERR_AA_EVENTLOG",
        `cannot read WAL ${walPath}: ${(err as NodeJS.ErrnoException).code}`,
      );
    }
  }
  if (walBytes) {
    const wal = decodeWal(walBytes, HASH_LENGTH[alg]);
    const event = parseAaelText(wal.text);
    // The WAL does not name the PCR: upstream replays on the configured init_pcr.
    const pcr = opts.initPcr ?? 17;
    const { record, digest: d } = aaelRecord(aaelText(event), m.pcrToRegister(pcr), alg);
    const current = await m.readRegister(pcr);
    if (!constantTimeEqual(current, wal.expected)) {
      const next = digest(alg, Buffer.concat([current, d]));
      if (!constantTimeEqual(next, wal.expected)) {
        throw new AaError(
          "ERR_AA_EVENTLOG",
          `WAL recovery failed: register for PCR ${pcr} was extended by someone else or the log is corrupt`,
        );
      }
      await m.extend(pcr, d);
    }
    writeRecord(record, wal.offset);
    pos = Math.max(pos, wal.offset + record.length);
    rmSync(walPath);
  }

  let chain: Promise<void> = Promise.resolve();
  return {
    path,
    extend(domain, operation, content, pcr) {
      const run = async () => {
        const event = { domain, operation, content };
        assertAaelEvent(event);
        const text = aaelText(event);
        // Upstream records the register of the configured init_pcr, not of `pcr` (QUIRK);
        // we record the register actually extended so a verifier can replay the log.
        const { record, digest: d } = aaelRecord(text, m.pcrToRegister(pcr), alg);
        const current = await m.readRegister(pcr);
        const expected = digest(alg, Buffer.concat([current, d]));
        const walFd = openSync(walPath, "w", 0o600);
        try {
          writeAll(walFd, encodeWal(pos, expected, `${text}`), 0);
          fsyncSync(walFd);
        } finally {
          closeSync(walFd);
        }
        if (opts.crashAfter === "wal")
          throw new AaError("ERR_AA_EVENTLOG", "simulated crash after WAL");
        await m.extend(pcr, d);
        if (opts.crashAfter === "extend")
          throw new AaError("ERR_AA_EVENTLOG", "simulated crash after extend");
        writeRecord(record, pos);
        pos += record.length;
        rmSync(walPath);
      };
      // Extensions are serialized: the WAL holds one pending entry.
      const p = chain.then(run);
      chain = p.catch(() => undefined);
      return p;
    },
  };
}
