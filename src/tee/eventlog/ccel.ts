import { createHash } from "node:crypto";
import { ByteReader, toBase64, toHex } from "../common/bytes.js";
import { EvidenceError } from "../common/errors.js";
import { parserFor } from "./details.js";

/**
 * The TCG crypto-agile event log as TDX firmware writes it to the CCEL ACPI table (TCG PC
 * Client Platform Firmware Profile 1.06 §10.2), plus the attestation agent's runtime events
 * (AAEL, EV_EVENT_TAG with tag 0x4141454C). Parsed into exactly the JSON upstream's eventlog
 * crate produces (`{"uefi_event_logs": [...]}`), quirks included.
 */

/** TCG algorithm IDs and names (TCG Algorithm Registry). */
export const TCG_ALGORITHMS: Readonly<
  Record<number, { name: string; size: number | null; node: string | null }>
> = {
  1: { name: "RSA", size: null, node: null },
  3: { name: "TDES", size: null, node: null },
  4: { name: "SHA-1", size: 20, node: null },
  11: { name: "SHA-256", size: 32, node: "sha256" },
  12: { name: "SHA-384", size: 48, node: "sha384" },
  13: { name: "SHA-512", size: 64, node: "sha512" },
  18: { name: "SM3", size: 32, node: "sm3" },
};

/** Event types (PC Client PFP Table 9) with their upstream names. */
export const TCG_EVENT_TYPES: Readonly<Record<number, string>> = {
  0: "EV_PREBOOT_CERT",
  1: "EV_POST_CODE",
  2: "EV_UNUSED",
  3: "EV_NO_ACTION",
  4: "EV_SEPARATOR",
  5: "EV_ACTION",
  6: "EV_EVENT_TAG",
  7: "EV_S_CRTM_CONTENTS",
  8: "EV_S_CRTM_VERSION",
  9: "EV_CPU_MICROCODE",
  10: "EV_PLATFORM_CONFIG_FLAGS",
  11: "EV_TABLE_OF_DEVICES",
  12: "EV_COMPACT_HASH",
  13: "EV_IPL",
  14: "EV_IPL_PARTITION_DATA",
  15: "EV_NONHOST_CODE",
  16: "EV_NONHOST_CONFIG",
  17: "EV_NONHOST_INFO",
  18: "EV_OMIT_BOOT_DEVICE_EVENTS",
  2147483648: "EV_EFI_EVENT_BASE",
  2147483649: "EV_EFI_VARIABLE_DRIVER_CONFIG",
  2147483650: "EV_EFI_VARIABLE_BOOT",
  2147483651: "EV_EFI_BOOT_SERVICES_APPLICATION",
  2147483652: "EV_EFI_BOOT_SERVICES_DRIVER",
  2147483653: "EV_EFI_RUNTIME_SERVICES_DRIVER",
  2147483654: "EV_EFI_GPT_EVENT",
  2147483655: "EV_EFI_ACTION",
  2147483656: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
  2147483657: "EV_EFI_HANDOFF_TABLES",
  2147483658: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
  2147483659: "EV_EFI_HANDOFF_TABLES2",
  2147483660: "EV_EFI_VARIABLE_BOOT2",
  2147483664: "EV_EFI_HCRTM_EVENT",
  2147483872: "EV_EFI_VARIABLE_AUTHORITY",
  2147483873: "EV_EFI_SPDM_FIRMWARE_BLOB",
  2147483874: "EV_EFI_SPDM_FIRMWARE_CONFIG",
};

export { AAEL_TAGGED_EVENT_ID } from "./details.js";
/** Upper bound on an event log we parse (the CCEL table is at most a few MiB). */
export const EVENTLOG_MAX_SIZE = 16 * 1024 * 1024;

/** Upstream's `EventDetails` (absent keys are omitted). */
export interface EventDetails {
  string?: string;
  unicode_name?: string;
  unicode_name_length?: number;
  variable_data?: string;
  variable_data_length?: number;
  variable_name?: string;
  device_paths?: string[];
  data?: unknown;
}

/** One digest of an event. */
export interface EventDigest {
  alg: string;
  digest: string;
}

/** One event, as upstream's `EventlogEntry` serialises. */
export interface EventlogEntry {
  details: EventDetails;
  digest_matches_event: boolean;
  digests: EventDigest[];
  /** Standard base64 of the event data. */
  event: string;
  /** The measurement register index as written in the log (CCEL MR: RTMR n = index n+1). */
  index: number;
  type_name: string;
}

/** A parsed log: `{"uefi_event_logs": [...]}`. */
export interface CcEventLog {
  uefi_event_logs: EventlogEntry[];
}

function eventTypeName(type: number, at: number): string {
  const name = TCG_EVENT_TYPES[type];
  if (!name) {
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `unknown event type 0x${type.toString(16)}`, {
      offset: at,
    });
  }
  return name;
}

/** Parses the spec-ID event (TCG_EfiSpecIDEvent, PFP §10.4.5.1) into algorithm → digest size. */
function parseSpecId(data: Uint8Array, sizes: Map<number, number>): number {
  const r = new ByteReader(data, "TCG_EfiSpecIDEvent", 24);
  const n = r.u32("numberOfAlgorithms");
  if (n > 64)
    throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `spec ID event declares ${n} algorithms`, {
      offset: 24,
    });
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    const id = r.u16("algorithmId");
    const size = r.u16("digestSize");
    if (!TCG_ALGORITHMS[id]) {
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `unknown algorithm 0x${id.toString(16)}`, {
        offset: at,
      });
    }
    sizes.set(id, size);
  }
  const vendor = r.u8("vendorInfoSize");
  r.skip(vendor, "vendorInfo");
  return r.pos;
}

/**
 * Parses a CCEL (optionally with AAEL records appended) into upstream's JSON. Parsing stops at
 * the first record whose first 8 bytes are all 0x00 or all 0xFF, as upstream does.
 */
export function parseCcel(bytes: Uint8Array): CcEventLog {
  return parseCcelRecords(bytes).log;
}

/**
 * {@link parseCcel}, also returning where the records end (the offset of the stop marker or the
 * end of input) — where an attester appends runtime (AAEL) records.
 */
export function parseCcelRecords(bytes: Uint8Array): { log: CcEventLog; end: number } {
  if (bytes.length > EVENTLOG_MAX_SIZE) {
    throw new EvidenceError(
      "ERR_EVIDENCE_OVERSIZE",
      `event log is ${bytes.length} bytes, limit ${EVENTLOG_MAX_SIZE}`,
    );
  }
  const r = new ByteReader(bytes, "event log");
  const sizes = new Map<number, number>();
  // First event: the SHA-1-format TCG_PCClientPCREvent header (PFP §10.2.1).
  r.u32("PCR index");
  const firstTypeAt = r.pos;
  const firstType = r.u32("event type");
  eventTypeName(firstType, firstTypeAt);
  r.skip(20, "SHA-1 digest");
  const firstSize = r.u32("event data size");
  if (firstType === 0x3) {
    const start = r.pos;
    const data = r.take(firstSize, "spec ID event");
    if (parseSpecId(data, sizes) !== firstSize) {
      throw new EvidenceError(
        "ERR_EVIDENCE_MALFORMED",
        "spec ID event size does not match its contents",
        {
          offset: start,
        },
      );
    }
  }
  const out: EventlogEntry[] = [];
  while (r.pos < bytes.length) {
    const at = r.pos;
    r.need(8, "record start");
    const head = bytes.subarray(at, at + 8);
    if (head.every((b) => b === 0xff) || head.every((b) => b === 0))
      return { log: { uefi_event_logs: out }, end: at };
    const index = r.u32("MR index");
    const typeAt = r.pos;
    const type = r.u32("event type");
    const typeName = eventTypeName(type, typeAt);
    const count = r.u32("digest count");
    if (count > 16)
      throw new EvidenceError("ERR_EVIDENCE_MALFORMED", `event declares ${count} digests`, {
        offset: typeAt + 4,
      });
    const digests: { alg: number; bytes: Uint8Array }[] = [];
    for (let i = 0; i < count; i++) {
      const algAt = r.pos;
      const alg = r.u16("digest algorithm");
      if (!TCG_ALGORITHMS[alg]) {
        throw new EvidenceError(
          "ERR_EVIDENCE_MALFORMED",
          `unknown algorithm 0x${alg.toString(16)}`,
          { offset: algAt },
        );
      }
      const size = sizes.get(alg);
      if (size === undefined) {
        throw new EvidenceError(
          "ERR_EVIDENCE_MALFORMED",
          `no digest size declared for algorithm 0x${alg.toString(16)}`,
          {
            offset: algAt,
          },
        );
      }
      digests.push({ alg, bytes: r.take(size, "digest") });
    }
    const size = r.u32("event data size");
    const data = r.take(size, "event data");
    let matches = true;
    for (const d of digests) {
      const node = TCG_ALGORITHMS[d.alg]?.node;
      if (!node) {
        throw new EvidenceError(
          "ERR_EVIDENCE_UNSUPPORTED",
          `cannot compute ${TCG_ALGORITHMS[d.alg]?.name} digests`,
          {
            offset: at,
          },
        );
      }
      if (!createHash(node).update(data).digest().equals(d.bytes)) {
        matches = false;
        break;
      }
    }
    let details: EventDetails;
    try {
      details = parserFor(type)(data);
    } catch (e) {
      if (e instanceof EvidenceError) {
        throw new EvidenceError(e.code, `event at offset ${at} (${typeName}): ${e.message}`, {
          cause: e,
          offset: at,
        });
      }
      throw e;
    }
    out.push({
      details,
      digest_matches_event: matches,
      digests: digests.map((d) => ({
        alg: TCG_ALGORITHMS[d.alg]?.name ?? "",
        digest: toHex(d.bytes),
      })),
      event: toBase64(data),
      index,
      type_name: typeName,
    });
  }
  return { log: { uefi_event_logs: out }, end: r.pos };
}
