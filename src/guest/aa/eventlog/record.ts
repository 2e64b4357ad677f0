/**
 * AAEL records (guest-components attestation-agent eventlog/tcg2.rs): a TCG PC Client
 * crypto-agile event (TCG PC Client PFP §10.2.2, little-endian) whose event data is a
 * TaggedEvent with id "AAEL" carrying `"<domain> <operation> <content>"`.
 */
import { digest, type HashAlgorithm } from "../../../crypto/digest.js";
import { AaError } from "../errors.js";

/** EV_EVENT_TAG (TCG PC Client PFP Table 9). */
export const EV_EVENT_TAG = 0x00000006;
/** TaggedEvent id: "AAEL" read as a little-endian u32 (bytes "LEAA"). */
export const AAEL_TAGGED_EVENT_ID = 0x4141454c;
/** TCG algorithm ids (TCG Algorithm Registry). */
export const TCG_ALG_ID: Readonly<Record<HashAlgorithm, number>> = {
  sha256: 0x000b,
  sha384: 0x000c,
  sha512: 0x000d,
  sm3: 0x0012,
};

/** One AAEL event. */
export interface AaelEvent {
  domain: string;
  operation: string;
  content: string;
}

/** Validates an event: no spaces in domain/operation, no newline anywhere (upstream `Content`). */
export function assertAaelEvent(e: AaelEvent): void {
  const bad = (why: string): never => {
    throw new AaError("ERR_AA_EVENTLOG", `AAEL event: ${why}`);
  };
  if (e.domain === "" || /[\s]/.test(e.domain)) bad("domain must be non-empty without whitespace");
  if (e.operation === "" || /[\s]/.test(e.operation))
    bad("operation must be non-empty without whitespace");
  if (/[\r\n]/.test(e.content)) bad("content must not contain a newline");
  if (e.domain.length + e.operation.length + e.content.length > 64 << 10)
    bad("event text over 64 KiB");
}

/** The AAEL line text. */
export function aaelText(e: AaelEvent): string {
  return `${e.domain} ${e.operation} ${e.content}`;
}

/** Parses an AAEL line (split on the first two spaces). */
export function parseAaelText(text: string): AaelEvent {
  const a = text.indexOf(" ");
  const b = a < 0 ? -1 : text.indexOf(" ", a + 1);
  if (a < 0 || b < 0)
    throw new AaError("ERR_AA_EVENTLOG", "AAEL text needs <domain> <operation> <content>");
  const e = {
    domain: text.slice(0, a),
    operation: text.slice(a + 1, b),
    content: text.slice(b + 1),
  };
  assertAaelEvent(e);
  return e;
}

/** The TaggedEvent bytes (the event data that is hashed). */
export function taggedEventBytes(text: string): Uint8Array {
  const body = Buffer.from(text, "utf8");
  const out = Buffer.alloc(8 + body.length);
  out.writeUInt32LE(AAEL_TAGGED_EVENT_ID, 0);
  out.writeUInt32LE(body.length, 4);
  body.copy(out, 8);
  return out;
}

/** The full TCG2 record and the event digest. */
export function aaelRecord(
  text: string,
  register: number,
  alg: HashAlgorithm,
): { record: Uint8Array; digest: Uint8Array } {
  const data = taggedEventBytes(text);
  const d = digest(alg, data);
  const out = Buffer.alloc(4 + 4 + 4 + 2 + d.length + 4 + data.length);
  let o = 0;
  o = out.writeUInt32LE(register >>> 0, o);
  o = out.writeUInt32LE(EV_EVENT_TAG, o);
  o = out.writeUInt32LE(1, o);
  o = out.writeUInt16LE(TCG_ALG_ID[alg], o);
  out.set(d, o);
  o += d.length;
  o = out.writeUInt32LE(data.length, o);
  out.set(data, o);
  return { record: out, digest: d };
}
