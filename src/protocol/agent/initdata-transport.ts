import { gunzipSync, gzipSync } from "node:zlib";
import { AgentProtocolError } from "./errors.js";

/** Largest init-data TOML accepted after decompression. */
export const MAX_INITDATA_TOML = 1 << 20;

/** Magic at the start of the init-data block device (kata src/libs/kata-types/src/initdata.rs). */
export const INITDATA_DISK_MAGIC = "initdata";

const SECTOR = 512;

function gunzipBounded(gz: Uint8Array, what: string): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(gz, { maxOutputLength: MAX_INITDATA_TOML }));
  } catch (err) {
    throw new AgentProtocolError(
      "ERR_AGENT_PROTO_DECODE",
      `${what}: not a gzip stream within ${MAX_INITDATA_TOML} bytes`,
      {
        cause: err,
      },
    );
  }
}

/** The annotation value for init-data TOML bytes: standard base64 of gzip (kata shim format). */
export function encodeInitDataAnnotation(toml: Uint8Array | string): string {
  const bytes = typeof toml === "string" ? new TextEncoder().encode(toml) : toml;
  return Buffer.from(gzipSync(bytes)).toString("base64");
}

/** The exact TOML bytes carried by an init-data annotation (base64 → gunzip, bounded). */
export function decodeInitDataAnnotation(value: string): Uint8Array {
  const clean = value.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length === 0) {
    throw new AgentProtocolError(
      "ERR_AGENT_PROTO_DECODE",
      "init-data annotation is not standard base64",
    );
  }
  return gunzipBounded(Buffer.from(clean, "base64"), "init-data annotation");
}

/**
 * The init-data block image the shim attaches read-only to the VM: bytes 0–7 ASCII `initdata`,
 * bytes 8–15 the gzip length as little-endian u64, then the gzip of the TOML, zero-padded to a
 * multiple of 512 bytes.
 */
export function buildInitDataDisk(toml: Uint8Array | string): Uint8Array {
  const bytes = typeof toml === "string" ? new TextEncoder().encode(toml) : toml;
  const gz = gzipSync(bytes);
  const len = 16 + gz.length;
  const out = new Uint8Array(Math.ceil(len / SECTOR) * SECTOR);
  out.set(new TextEncoder().encode(INITDATA_DISK_MAGIC), 0);
  new DataView(out.buffer).setBigUint64(8, BigInt(gz.length), true);
  out.set(gz, 16);
  return out;
}

/** Reads the TOML bytes from an init-data block image; undefined when the magic is absent. */
export function parseInitDataDisk(disk: Uint8Array): Uint8Array | undefined {
  if (disk.length < 16) return undefined;
  if (Buffer.from(disk.subarray(0, 8)).toString("latin1") !== INITDATA_DISK_MAGIC) return undefined;
  const len = new DataView(disk.buffer, disk.byteOffset, disk.byteLength).getBigUint64(8, true);
  if (len === 0n || len > BigInt(disk.length - 16)) {
    throw new AgentProtocolError(
      "ERR_AGENT_PROTO_DECODE",
      "init-data disk length field is out of range",
    );
  }
  return gunzipBounded(disk.subarray(16, 16 + Number(len)), "init-data disk");
}
