import { ByteReader, toBase64, toHex } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import type { EventDetails } from "./ccel.js";
import { formatDevicePathNode } from "./device-path.js";
import { utf8, utf8Lossy, utf8OrUndefined, utf16, utf16Lossy } from "./text.js";

/**
 * Event data parsers per event type, producing upstream's `details` object (PC Client PFP
 * §10.2 / UEFI structures; quirks reproduced and commented where they differ from the spec).
 */

/** The AAEL tagged-event ID ("AAEL" read as a little-endian u32). */
export const AAEL_TAGGED_EVENT_ID = 0x4141454c;

/** Event data → details. */
export type Parser = (data: Uint8Array) => EventDetails;

const blank: Parser = () => ({});
const simple: Parser = (d) => ({ string: utf8(d, "event string") });

// Upstream's SimpleStringParser slices data[1..len] where len = data[0]: one byte shorter
// than the length byte says. Reproduced for identical claims.
const simpleString: Parser = (d) => {
  if (d.length < 1) throw new EvidenceError("ERR_EVIDENCE_TRUNCATED", "event description is empty");
  const end = d[0] ?? 0;
  if (d.length < end)
    throw new EvidenceError(
      "ERR_EVIDENCE_TRUNCATED",
      "event description is shorter than its length byte",
    );
  return { string: end <= 1 ? "" : utf8(d.subarray(1, end), "event description") };
};

const platformConfigFlags: Parser = (d) => {
  const raw = (utf8OrUndefined(d) ?? "").replaceAll("\u0010", " ");
  return { string: raw.replace(/\p{Cc}/gu, "") };
};

const ipl: Parser = (d) => {
  if (d.length < 2)
    throw new EvidenceError("ERR_EVIDENCE_TRUNCATED", "EV_IPL data is shorter than 2 bytes");
  if (d[0] === 0x2e && d[1] === 0x00) {
    // GCE writes UTF-16; upstream decodes data[2..len-2].
    const n = d.length - 2;
    if (n === 0 || n % 2 !== 0)
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "EV_IPL data is not UTF-16");
    return { string: utf16Lossy(d.subarray(2, n)) };
  }
  const cut = d.indexOf(0);
  const s = utf8OrUndefined(d.subarray(0, cut < 0 ? d.length : cut));
  return { string: s ?? toHex(d) };
};

function aaelEntry(s: string): { domain: string; operation: string; content: unknown } {
  const a = s.indexOf(" ");
  const b = a < 0 ? -1 : s.indexOf(" ", a + 1);
  if (a < 0 || b < 0)
    throw new EvidenceError(
      "ERR_EVIDENCE_MALFORMED",
      "AAEL event text lacks domain/operation/content",
    );
  const text = s.slice(b + 1);
  let content: unknown = text;
  try {
    content = JSON.parse(text);
  } catch {
    // Not JSON: upstream keeps the text as a string.
  }
  return { domain: s.slice(0, a), operation: s.slice(a + 1, b), content };
}

const eventTag: Parser = (d) => {
  const r = new ByteReader(d, "EV_EVENT_TAG");
  const id = r.u32("tagged event ID");
  const size = r.u32("tagged event data size");
  const body = r.take(size, "tagged event data");
  const details: EventDetails = { string: utf8Lossy(body).replaceAll("\u0000", "") };
  if (id === AAEL_TAGGED_EVENT_ID) {
    details.data = aaelEntry(utf8(body, "AAEL event data"));
    details.unicode_name = "AAEL";
  }
  return details;
};

function formatGuid(g: Uint8Array): string {
  const h = toHex(g);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const efiVariable: Parser = (d) => {
  const r = new ByteReader(d, "UEFI_VARIABLE_DATA");
  const guid = r.take(16, "VariableName GUID");
  const nameLen = r.u64("UnicodeNameLength");
  const dataLen = r.u64("VariableDataLength");
  if (nameLen * 2n > BigInt(r.remaining)) r.need(Number.MAX_SAFE_INTEGER, "UnicodeName");
  const name = utf16(r.take(Number(nameLen) * 2, "UnicodeName"), "UnicodeName");
  let variableData = "";
  if (dataLen > 0n) {
    if (dataLen > BigInt(r.remaining)) r.need(Number.MAX_SAFE_INTEGER, "VariableData");
    variableData = toBase64(r.take(Number(dataLen), "VariableData"));
  }
  return {
    unicode_name: name,
    unicode_name_length: Number(nameLen),
    variable_data: variableData,
    variable_data_length: Number(dataLen),
    variable_name: formatGuid(guid),
  };
};

const bootServicesApp: Parser = (d) => {
  // UEFI_IMAGE_LOAD_EVENT: location u64, length u64, link-time address u64, device path
  // length u64, device path (PFP §10.2.3). Upstream drops the 4-byte end node.
  const r = new ByteReader(d, "UEFI_IMAGE_LOAD_EVENT");
  r.skip(24, "image location/length/link address");
  const pathLen = r.u64("LengthOfDevicePath");
  if (pathLen === 0n) return {};
  if (pathLen < 4n || pathLen - 4n > BigInt(r.remaining)) {
    throw new EvidenceError("ERR_EVIDENCE_TRUNCATED", "device path is shorter than claimed", {
      offset: 32,
    });
  }
  let path = r.take(Number(pathLen) - 4, "device path");
  if (path.length < 4)
    throw new EvidenceError("ERR_EVIDENCE_TRUNCATED", "device path is shorter than 4 bytes");
  const paths: string[] = [];
  while (path.length > 0) {
    const len = (path[2] ?? 0) | ((path[3] ?? 0) << 8);
    if (path.length < 4 || len < 4 || path.length < len) {
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", "device path node length is out of range");
    }
    paths.push(formatDevicePathNode(path[0] ?? 0, path[1] ?? 0, path.subarray(4, len)));
    path = path.subarray(len);
  }
  return { device_paths: paths };
};

/** The `details` parser upstream uses for an event type (blank for the rest). */
export function parserFor(type: number): Parser {
  switch (type) {
    case 0x1:
    case 0x5:
    case 0xc:
    case 0x12:
    case 0x80000007:
      return simple;
    case 0x6:
      return eventTag;
    case 0xa:
      return platformConfigFlags;
    case 0xd:
      return ipl;
    case 0x80000001:
    case 0x80000002:
    case 0x8000000c:
    case 0x800000e0:
      return efiVariable;
    case 0x80000003:
      return bootServicesApp;
    case 0x8000000a:
    case 0x8000000b:
      return simpleString;
    default:
      return blank;
  }
}
