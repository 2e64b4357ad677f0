/**
 * `net.cidr_*` with Go's `net` package semantics: `ParseIP`/`ParseCIDR` (no leading zeros in
 * IPv4 octets, IPv4-mapped IPv6 addresses count as IPv4), `IPNet.Contains`, RFC 5952 output,
 * and upstream's merge algorithm (classful default masks for bare IPv4 addresses).
 * `net.lookup_ip_addr` answers IP literals as Go's resolver does (without a query) and refuses
 * host names with a builtin error: builtins do no I/O.
 */
import { ObjectValue, SetValue, type Value } from "../value/value.js";
import { argString, builtinError, operandError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** Addresses `net.cidr_expand` will list before refusing (upstream has only a timeout). */
export const MAX_EXPAND = 1 << 16;

/** An address: family and value. */
interface Ip {
  v6: boolean;
  n: bigint;
}

/** A network: address as written, prefix length, and family width. */
interface Net {
  ip: Ip;
  bits: number;
  prefix: number;
  /** Written as IPv4-mapped IPv6: used as IPv4, but merged in the IPv6 space (as Go does). */
  mapped?: boolean;
}

const width = (ip: Ip) => (ip.v6 ? 128 : 32);

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  let body = s;
  const lastColon = s.lastIndexOf(":");
  if (lastColon >= 0 && s.slice(lastColon + 1).includes(".")) {
    // An embedded IPv4 tail stands for the last two groups.
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    body = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const dbl = body.indexOf("::");
  if (dbl >= 0 && body.indexOf("::", dbl + 1) >= 0) return undefined;
  const groups = (t: string) => (t === "" ? [] : t.split(":"));
  const head = dbl >= 0 ? groups(body.slice(0, dbl)) : groups(body);
  const tail = dbl >= 0 ? groups(body.slice(dbl + 2)) : [];
  const all = [...head, ...tail];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  if (dbl < 0 && all.length !== 8) return undefined;
  if (dbl >= 0 && all.length > 7) return undefined;
  const full = [...head, ...Array<string>(8 - all.length).fill("0"), ...tail];
  let n = 0n;
  for (const g of full) n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  return n;
}

const V4_MAPPED = 0xffffn << 32n;

/** Go's `net.ParseIP` (IPv4-mapped IPv6 becomes IPv4, as `To4` sees it). */
export function parseIp(s: string): Ip | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { v6: false, n: v4 };
  if (s.includes("%")) return undefined;
  const v6 = parseV6(s);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v6: false, n: v6 & 0xffffffffn };
  return { v6: true, n: v6 };
}

/** Go's `net.ParseCIDR`: the network (address masked) or undefined. */
export function parseCidr(s: string): Net | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const mask = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(mask)) return undefined;
  const prefix = Number(mask);
  const v4 = parseV4(addr);
  let ip: Ip;
  if (v4 !== undefined) ip = { v6: false, n: v4 };
  else {
    const v6 = addr.includes("%") ? undefined : parseV6(addr);
    if (v6 === undefined) return undefined;
    ip = { v6: true, n: v6 };
  }
  const bits = width(ip);
  if (prefix > bits) return undefined;
  if (ip.v6 && ip.n >> 32n === 0xffffn) {
    // Go's networkNumberAndMask: an IPv4-mapped network is used as IPv4 with the mask's
    // last 32 bits, i.e. prefix - 96 (clamped at 0).
    const p4 = Math.max(0, prefix - 96);
    const n4 = ip.n & 0xffffffffn;
    return { ip: { v6: false, n: n4 & maskOf(32, p4) }, bits: 32, prefix: p4, mapped: true };
  }
  return { ip: { v6: ip.v6, n: ip.n & maskOf(bits, prefix) }, bits, prefix };
}

function maskOf(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

function lastOf(net: Net): bigint {
  return net.ip.n | ((1n << BigInt(net.bits - net.prefix)) - 1n);
}

/** Go's `IPNet.Contains`: same family (after To4) and same masked prefix. */
function contains(net: Net, ip: Ip): boolean {
  if (net.ip.v6 !== ip.v6) return false;
  return (ip.n & maskOf(net.bits, net.prefix)) === net.ip.n;
}

/** Go's `IP.String()`: dotted IPv4, or RFC 5952 IPv6 (IPv4-mapped shown dotted). */
export function formatIp(ip: Ip): string {
  if (!ip.v6 || ip.n >> 32n === 0xffffn) {
    const n = ip.n & 0xffffffffn;
    return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join(".");
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((ip.n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

const formatNet = (n: Net) => `${formatIp(n.ip)}/${n.prefix}`;

function netArg(name: string, v: Value, pos: number): Net {
  if (typeof v !== "string") throw operandError(name, pos, "string", v);
  const n = parseCidr(v);
  if (!n) throw builtinError(name, `invalid CIDR address: ${v}`);
  return n;
}

/** `net.cidr_contains(cidr, cidr_or_ip)`. */
function cidrContains(name: string, a: Value, b: Value): boolean {
  const net = netArg(name, a, 1);
  if (typeof b !== "string") throw operandError(name, 1, "string", b);
  const ip = parseIp(b);
  if (ip) return contains(net, ip);
  const inner = parseCidr(b);
  if (!inner)
    throw builtinError(name, `not a valid textual representation of an IP address or CIDR: ${b}`);
  return contains(net, inner.ip) && contains(net, { v6: inner.ip.v6, n: lastOf(inner) });
}

/** Elements of a `net.cidr_contains_matches` operand with their keys. */
function matchItems(name: string, pos: number, v: Value): [Value, Value][] {
  const cidrOf = (x: Value): Value => {
    if (typeof x === "string") return x;
    if (Array.isArray(x) && x.length > 0) return x[0] as Value;
    throw builtinError(name, `operand ${pos}: element must be string or non-empty array`);
  };
  if (typeof v === "string") return [[v, v]];
  if (Array.isArray(v)) return v.map((x, i) => [cidrOf(x), i]);
  if (v instanceof SetValue) return v.sorted().map((x) => [cidrOf(x), x]);
  if (v instanceof ObjectValue) return v.sorted().map(([k, x]) => [cidrOf(x), k]);
  return [];
}

/** A range of addresses for merging. */
interface Range {
  v6: boolean;
  first: bigint;
  last: bigint;
  /** The input network when the range was not merged (printed as given). */
  net?: { text: string };
}

/** Splits [first, last] into the fewest aligned CIDR blocks. */
function rangeToCidrs(v6: boolean, first: bigint, last: bigint): string[] {
  const bits = v6 ? 128 : 32;
  const out: string[] = [];
  let cur = first;
  while (cur <= last) {
    let size = 0;
    while (size < bits) {
      const next = size + 1;
      const block = 1n << BigInt(next);
      if (cur % block !== 0n || cur + block - 1n > last) break;
      size = next;
    }
    const prefix = bits - size;
    // Go prints an IPv4-mapped IPv6 network as IPv4 with the mask's last 32 bits.
    if (v6 && cur >> 32n === 0xffffn)
      out.push(`${formatIp({ v6, n: cur })}/${Math.max(0, prefix - 96)}`);
    else out.push(formatNet({ ip: { v6, n: cur }, bits, prefix }));
    cur += 1n << BigInt(size);
  }
  return out;
}

/** Upstream's `net.cidr_merge`. */
function cidrMerge(v: Value): Value {
  const name = "net.cidr_merge";
  let items: readonly Value[];
  if (Array.isArray(v)) items = v;
  else if (v instanceof SetValue) items = v.sorted();
  else throw builtinError(name, "operand must be an array");
  const ranges: Range[] = items.map((e) => {
    if (typeof e !== "string") throw builtinError(name, "element must be string");
    const ip = parseIp(e);
    if (ip) {
      if (ip.v6) throw builtinError(name, "IPv6 invalid: needs prefix length");
      // Go: IPNet{IP: ip, Mask: ip.DefaultMask()} (classful), printed unmasked.
      const top = Number(ip.n >> 24n);
      const prefix = top < 0x80 ? 8 : top < 0xc0 ? 16 : 24;
      const net: Net = { ip, bits: 32, prefix };
      const first = ip.n & maskOf(32, prefix);
      return {
        v6: false,
        first,
        last: lastOf({ ...net, ip: { v6: false, n: first } }),
        net: { text: formatNet(net) },
      };
    }
    const net = parseCidr(e);
    if (!net) throw builtinError(name, `invalid CIDR address: ${e}`);
    if (net.mapped) {
      return {
        v6: true,
        first: V4_MAPPED | net.ip.n,
        last: V4_MAPPED | lastOf(net),
        net: { text: formatNet(net) },
      };
    }
    return { v6: net.ip.v6, first: net.ip.n, last: lastOf(net), net: { text: formatNet(net) } };
  });
  // Sort by (last, first) as 16-byte addresses: IPv4 sorts before IPv6 in that encoding
  // (::ffff:a.b.c.d), except IPv6 below ::ffff:0:0, which we order by value too.
  const key = (r: Range, x: bigint) => (r.v6 ? x : V4_MAPPED | x);
  ranges.sort((a, b) => {
    const la = key(a, a.last);
    const lb = key(b, b.last);
    if (la !== lb) return la < lb ? -1 : 1;
    const fa = key(a, a.first);
    const fb = key(b, b.first);
    return fa < fb ? -1 : fa > fb ? 1 : 0;
  });
  for (let i = ranges.length - 1; i > 0; i--) {
    const cur = ranges[i] as Range;
    const prev = ranges[i - 1] as Range;
    const prevIp = key(cur, cur.first) - 1n;
    if (prevIp <= key(prev, prev.last) && cur.v6 === prev.v6) {
      ranges[i - 1] = {
        v6: cur.v6,
        // biome-ignore lint/complexity/useMathMinMax: bigint operands
        first: prev.first < cur.first ? prev.first : cur.first,
        last: cur.last,
      };
      ranges.splice(i, 1);
    }
  }
  const out = new SetValue();
  for (const r of ranges) {
    if (r.net) out.add(r.net.text);
    else for (const c of rangeToCidrs(r.v6, r.first, r.last)) out.add(c);
  }
  return out;
}

/** `net.cidr_*` builtins. */
export const netBuiltins: BuiltinTable = {
  "net.cidr_contains": {
    arity: 2,
    fn: ([a, b]) => cidrContains("net.cidr_contains", a as Value, b as Value),
  },
  "net.cidr_intersects": {
    arity: 2,
    fn: ([a, b]) => {
      const x = netArg("net.cidr_intersects", a as Value, 1);
      const y = netArg("net.cidr_intersects", b as Value, 1);
      return contains(x, y.ip) || contains(y, x.ip);
    },
  },
  "net.cidr_is_valid": {
    arity: 1,
    fn: ([a]) => typeof a === "string" && parseCidr(a) !== undefined,
  },
  "net.cidr_expand": {
    arity: 1,
    fn: (args) => {
      const name = "net.cidr_expand";
      const s = argString(name, args, 0);
      const net = parseCidr(s);
      if (!net) throw builtinError(name, `invalid CIDR address: ${s}`);
      const count = 1n << BigInt(net.bits - net.prefix);
      if (count > BigInt(MAX_EXPAND)) {
        throw builtinError(name, `refusing to expand more than ${MAX_EXPAND} addresses (${s})`);
      }
      const out = new SetValue();
      for (let i = 0n; i < count; i++) out.add(formatIp({ v6: net.ip.v6, n: net.ip.n + i }));
      return out;
    },
  },
  "net.cidr_contains_matches": {
    arity: 2,
    fn: ([a, b]) => {
      const name = "net.cidr_contains_matches";
      const left = matchItems(name, 1, a as Value);
      const right = matchItems(name, 2, b as Value);
      const out = new SetValue();
      for (const [c1, k1] of left) {
        for (const [c2, k2] of right) {
          if (cidrContains("net.cidr_contains", c1, c2)) out.add([k1, k2]);
        }
      }
      return out;
    },
  },
  "net.cidr_merge": { arity: 1, fn: ([a]) => cidrMerge(a as Value) },
  "net.lookup_ip_addr": {
    arity: 1,
    fn: (args) => {
      const name = argString("net.lookup_ip_addr", args, 0);
      const ip = parseIp(name);
      if (ip) return SetValue.of([formatIp(ip)]);
      throw builtinError(
        "net.lookup_ip_addr",
        `cannot resolve ${JSON.stringify(name)}: name resolution is not available to policies (builtins do no I/O)`,
      );
    },
  },
};
