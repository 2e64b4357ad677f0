import { toHex } from "../common/bytes.js";
import { utf8OrUndefined, utf16Lossy } from "./text.js";

/**
 * UEFI device path nodes (UEFI Specification 2.10 §10.3) rendered as text the way upstream's
 * eventlog crate renders them; unknown or malformed nodes become `Path(type,subtype,hex)`.
 */

const u16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
const u64 = (b: Uint8Array, o: number): bigint =>
  BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");

/** A GUID in the UEFI text form (first three fields little-endian), upper case. */
export function formatUefiGuid(g: Uint8Array): string {
  const d4 = Array.from(g.subarray(8, 16), hex2);
  return `${u32(g, 0).toString(16).toUpperCase().padStart(8, "0")}-${u16(g, 4).toString(16).toUpperCase().padStart(4, "0")}-${u16(g, 6).toString(16).toUpperCase().padStart(4, "0")}-${d4.slice(0, 2).join("")}-${d4.slice(2).join("")}`;
}

class Fallback extends Error {}

function fail(): never {
  throw new Fallback();
}

function acpi(sub: number, d: Uint8Array): string {
  if (sub !== 1 || d.length < 8) fail();
  const hid = u32(d, 0);
  const uid = u32(d, 4);
  const vendor = hid & 0xffff;
  const c = (n: number): string => String.fromCharCode((n & 0x1f) + 0x40);
  const device = (hid >>> 16).toString(16).toUpperCase().padStart(4, "0");
  return `ACPI(${c(vendor >> 10)}${c(vendor >> 5)}${c(vendor)}${device},${uid})`;
}

function hardware(sub: number, d: Uint8Array): string {
  if (sub !== 1 || d.length < 2) fail();
  return `Pci(${d[0]},${d[1]})`;
}

function ipv4(b: Uint8Array): string {
  // Upstream reads each address as a little-endian u32 and prints it with Ipv4Addr::from_bits,
  // so the octets appear reversed; reproduced for identical output.
  const ip = (o: number): string => [b[o + 3], b[o + 2], b[o + 1], b[o]].join(".");
  if (b.length < 8 + 4 + 2 + 1 + 8) fail();
  const proto = ({ 6: "TCP", 17: "UDP" } as Record<number, string>)[u16(b, 12)] ?? "";
  const type = ({ 0: "DHCP", 1: "Static" } as Record<number, string>)[b[14] ?? 0xff] ?? "";
  const gw = u32(b, 15);
  const mask = u32(b, 19);
  const tail = gw !== 0 || mask !== 0 ? `,${gw},${mask}` : "";
  return `IPv4(${ip(4)},${proto},${type},${ip(0)}${tail})`;
}

function messaging(sub: number, d: Uint8Array): string {
  switch (sub) {
    case 0x15:
      if (d.length < 16) fail();
      return `FibreEx(0x${toHex(d.subarray(0, 8))},0x${toHex(d.subarray(8, 16))})`;
    case 0x05:
      if (d.length < 2) fail();
      return `USB(${d[0]},${d[1]})`;
    case 0x0b: {
      if (d.length !== 33) fail();
      const mac = toHex(d.subarray(0, 31)).replace(/0+$/, "").toUpperCase();
      return `Mac(${mac},0x${(d[32] ?? 0).toString(16).padStart(2, "0")})`;
    }
    case 0x0c:
      return ipv4(d);
    default:
      return fail();
  }
}

function media(sub: number, d: Uint8Array): string {
  switch (sub) {
    case 0x01: {
      // Upstream checks len >= 37 then reads byte 37; we require 38 rather than crash.
      if (d.length < 38) fail();
      const num = u32(d, 0);
      const sigBytes = d.subarray(20, 36);
      let prefix: string;
      let sig: string;
      if (d[36] === 0x01) {
        prefix = "MBR";
        sig = `0x${u32(sigBytes, 0).toString(16).padStart(8, "0")}`;
      } else if (d[36] === 0x02) {
        prefix = "GPT";
        sig = formatUefiGuid(sigBytes);
      } else {
        return fail();
      }
      const details = num !== 0 ? `,0x${u64(d, 4).toString(16)},0x${u64(d, 12).toString(16)}` : "";
      return `HD(${num},${prefix},${sig}${details})`;
    }
    case 0x03:
      if (d.length < 16) fail();
      return `VenMedia(${formatUefiGuid(d.subarray(0, 16))},${toHex(d.subarray(16))})`;
    case 0x04:
      if (d.length === 0 || d.length % 2 !== 0) fail();
      return `File(${utf16Lossy(d.subarray(0, d.length - 2))})`;
    default:
      return fail();
  }
}

const BBS_TYPES: Record<number, string> = {
  1: "FLOPPY",
  2: "HARD_DRIVE",
  3: "CDROM",
  4: "PCMCIA",
  5: "USB",
  6: "EMBEDDED_NETWORK",
  128: "DEV",
  255: "UNKNOWN",
};

function bbs(sub: number, d: Uint8Array): string {
  if (sub !== 1 || d.length < 4) fail();
  const t = u16(d, 0);
  const rest = d.subarray(4);
  const end = rest.indexOf(0);
  const desc = utf8OrUndefined(rest.subarray(0, end < 0 ? rest.length : end));
  if (desc === undefined) fail();
  return `BBS(${BBS_TYPES[t] ?? String(t)},${desc},${u16(d, 2)})`;
}

/** Renders one device path node (type, subtype, data after the 4-byte node header). */
export function formatDevicePathNode(type: number, sub: number, data: Uint8Array): string {
  try {
    switch (type) {
      case 1:
        return hardware(sub, data);
      case 2:
        return acpi(sub, data);
      case 3:
        return messaging(sub, data);
      case 4:
        return media(sub, data);
      case 5:
        return bbs(sub, data);
      default:
        return fail();
    }
  } catch (e) {
    if (!(e instanceof Fallback)) throw e;
    return `Path(${type},${sub},${toHex(data)})`;
  }
}
