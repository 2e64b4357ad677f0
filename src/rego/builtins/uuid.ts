import { randomBytes, randomInt } from "node:crypto";
import { canonical, normBig, ObjectValue, type Value } from "../value/value.js";
import { argInt, argString, builtinError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** Gregorian epoch (1582-10-15) to Unix epoch, in 100 ns units (RFC 4122 §4.1.4). */
const G1582_NS100 = 122192928000000000n;

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** The 16 bytes of a UUID in any form google/uuid accepts, or undefined. */
function uuidBytes(s: string): Uint8Array | undefined {
  let t = s;
  if (t.length === 45 && t.slice(0, 9).toLowerCase() === "urn:uuid:") t = t.slice(9);
  else if (t.length === 38 && t[0] === "{" && t[37] === "}") t = t.slice(1, 37);
  if (t.length === 36) {
    if (t[8] !== "-" || t[13] !== "-" || t[18] !== "-" || t[23] !== "-") return undefined;
    t = t.replaceAll("-", "");
  }
  if (t.length !== 32 || !/^[0-9a-fA-F]{32}$/.test(t)) return undefined;
  return Uint8Array.from(t.match(/../g)!.map((h) => Number.parseInt(h, 16)));
}

function variant(b: number): string {
  if ((b & 0xc0) === 0x80) return "RFC4122";
  if ((b & 0xe0) === 0xc0) return "Microsoft";
  if ((b & 0xe0) === 0xe0) return "Future";
  return "Reserved";
}

function macVariables(b: number): string {
  if ((b & 3) === 3) return "local:multicast";
  if ((b & 1) === 1) return "global:multicast";
  if ((b & 2) === 2) return "local:unicast";
  return "global:unicast";
}

/** `uuid.parse`: version and variant, plus time/node/clock (v1, v2) and id/domain (v2). */
function parseUuid(s: string): Value | undefined {
  const u = uuidBytes(s);
  if (!u) return undefined;
  const version = (u[6] as number) >> 4;
  const o = new ObjectValue();
  o.set("version", version);
  o.set("variant", variant(u[8] as number));
  if (version === 1 || version === 2) {
    const dv = new DataView(u.buffer);
    const t =
      BigInt(dv.getUint32(0)) |
      (BigInt(dv.getUint16(4)) << 32n) |
      (BigInt(dv.getUint16(6) & 0xfff) << 48n);
    const ns100 = t - G1582_NS100;
    o.set("time", normBig((ns100 / 10_000_000n) * 1_000_000_000n + (ns100 % 10_000_000n) * 100n));
    o.set("nodeid", [...u.subarray(10)].map((x) => x.toString(16).padStart(2, "0")).join("-"));
    o.set("macvariables", macVariables(u[10] as number));
    o.set("clocksequence", dv.getUint16(8) & 0x3fff);
    if (version === 2) {
      o.set("id", dv.getUint32(0));
      const d = u[9] as number;
      o.set("domain", ["Person", "Group", "Org"][d] ?? `Domain${d}`);
    }
  }
  return o;
}

/** A random version-4 UUID (RFC 4122 §4.4). */
function newUuid4(): string {
  const b = randomBytes(16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `uuid.*` and `rand.intn`: random results are memoised per query and key, as OPA does. */
export const uuidBuiltins: BuiltinTable = {
  "uuid.parse": { arity: 1, fn: (args) => parseUuid(argString("uuid.parse", args, 0)) },
  "uuid.rfc4122": {
    arity: 1,
    nondeterministic: true,
    fn: ([k], ctx) => {
      const key = `uuid.rfc4122:${canonical(k as Value)}`;
      let v = ctx.cache.get(key) as string | undefined;
      if (v === undefined) {
        v = newUuid4();
        ctx.cache.set(key, v);
      }
      return v;
    },
  },
  "rand.intn": {
    arity: 2,
    nondeterministic: true,
    fn: (args, ctx) => {
      const s = argString("rand.intn", args, 0);
      let n = argInt("rand.intn", args, 1);
      if (n === 0) return 0;
      if (n < 0) n = -n;
      if (n > 2 ** 48 - 1) throw builtinError("rand.intn", "operand 2 must be below 2^48");
      const key = `rand.intn:${JSON.stringify([s, n])}`;
      let v = ctx.cache.get(key) as number | undefined;
      if (v === undefined) {
        v = randomInt(n);
        ctx.cache.set(key, v);
      }
      return v;
    },
  },
};
